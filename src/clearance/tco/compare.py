"""Compare options: yearly and horizon cost, $/M tokens, break-even month and volume, sensitivity."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from clearance.errors import CatalogError, InputError
from clearance.tco.api import api_cost
from clearance.tco.capacity import Capacity
from clearance.tco.onprem import onprem_cost
from clearance.tco.prices import PriceBook, load_prices
from clearance.tco.rental import rental_cost
from clearance.tco.report import Assumption, BreakEven, CostReport, OptionCost, SensitivityRow
from clearance.tco.workload import Workload


class CostOptions(BaseModel):
    """What to compare: the GPU, the replica's capacity, the horizon, the APIs, the catalog."""

    gpu: str = "H100-SXM"
    capacity: Capacity
    years: int = 3
    measured_tokens_per_s: float | None = None
    measured_method: str = "load test"
    apis: list[str] | None = None
    model_name: str | None = None
    spare_replicas: int = 0
    prices_file: str | None = None
    stale_after_days: int = 365
    as_of: date | None = None
    sensitivity_pct: float = 0.2
    sensitivity_option: str | None = None
    break_even_pairs: list[tuple[str, str]] | None = Field(default=None)


def estimate_cost(workload: Workload, options: CostOptions, *, prices: PriceBook | None = None) -> CostReport:
    """Cost every option for ``workload`` and compare them; the result is an estimate with its assumptions."""
    if not 1 <= options.years <= 15:
        raise InputError(f"cost: years must be 1..15, got {options.years}")
    if options.spare_replicas < 0:
        raise InputError(f"cost: spare replicas must be >= 0, got {options.spare_replicas}")
    if not 0 < options.sensitivity_pct < 1:
        raise InputError(f"cost: sensitivity must be a fraction in (0, 1), got {options.sensitivity_pct}")
    if options.stale_after_days < 0:
        raise InputError(f"cost: stale-after days must be >= 0, got {options.stale_after_days}")
    book = prices if prices is not None else load_prices(options.prices_file)
    gpu = book.resolve_gpu(options.gpu)
    capacity = options.capacity
    if options.measured_tokens_per_s is not None:
        capacity = capacity.with_measured(options.measured_tokens_per_s, options.measured_method)
    apis = _select_apis(book, options.apis, options.model_name)

    opts, skipped = compute_options(
        workload, capacity, book, gpu, options.years, apis, options.spare_replicas
    )
    if not opts:
        raise CatalogError(f"no option could be costed for GPU {gpu}: " + "; ".join(skipped))
    cheapest = min(opts, key=lambda o: o.horizon_total).id
    pairs = options.break_even_pairs or _default_pairs(opts)
    cache: dict[float, dict[str, float]] = {}

    def year1(volume: float) -> dict[str, float]:
        if volume not in cache:
            w = workload.scaled(volume)
            year_opts, _ = compute_options(w, capacity, book, gpu, 1, apis, options.spare_replicas)
            cache[volume] = {o.id: o.annual[0] for o in year_opts}
        return cache[volume]

    be = [_break_even(workload, year1, opts, a, b) for a, b in pairs if _has(opts, a) and _has(opts, b)]
    target = options.sensitivity_option or ("onprem" if _has(opts, "onprem") else cheapest)
    if not _has(opts, target):
        raise InputError(f"cost: sensitivity option '{target}' is not among {[o.id for o in opts]}")
    sens = sensitivity(
        workload,
        capacity,
        book,
        gpu,
        options.years,
        apis,
        options.spare_replicas,
        target,
        options.sensitivity_pct,
    )
    as_of = options.as_of or date.today()
    assumptions = _assumptions(book, gpu, apis, as_of, options.stale_after_days)
    return CostReport(
        model=options.model_name,
        gpu=gpu,
        years=options.years,
        workload=workload,
        capacity=capacity,
        options=opts,
        skipped=skipped,
        cheapest=cheapest,
        break_even=be,
        sensitivity_option=target,
        sensitivity_metric=f"{target} cost per million tokens (USD)",
        sensitivity_pct=options.sensitivity_pct,
        sensitivity=sens,
        assumptions=assumptions,
        stale_after_days=options.stale_after_days,
        as_of=as_of.isoformat(),
    )


def compute_options(
    workload: Workload,
    capacity: Capacity,
    prices: PriceBook,
    gpu: str,
    years: int,
    apis: list[str],
    spare_replicas: int = 0,
) -> tuple[list[OptionCost], list[str]]:
    """Every option that the catalog has prices for, and a reason for each one skipped."""
    opts: list[OptionCost] = []
    skipped: list[str] = []
    if prices.has(f"gpus.{gpu}.purchase"):
        opts.append(onprem_cost(workload, capacity, prices, gpu, years, spare_replicas))
    else:
        skipped.append(f"onprem: no purchase price for {gpu} (add gpus.{gpu}.purchase with --prices)")
    if prices.has(f"gpus.{gpu}.rental_on_demand"):
        for reserved in (False, True):
            opts.append(
                rental_cost(
                    workload, capacity, prices, gpu, years, reserved=reserved, spare_replicas=spare_replicas
                )
            )
    else:
        skipped.append(f"rental: no rental price for {gpu} (add gpus.{gpu}.rental_on_demand with --prices)")
    for name in apis:
        opts.append(api_cost(workload, prices, name, years))
    return opts, skipped


def sensitivity(
    workload: Workload,
    capacity: Capacity,
    prices: PriceBook,
    gpu: str,
    years: int,
    apis: list[str],
    spare_replicas: int,
    target: str,
    pct: float,
) -> list[SensitivityRow]:
    """Move each input by -pct and +pct alone; the target option's $/M tokens and the cheapest option."""
    rows: list[SensitivityRow] = []

    def run(w: Workload, c: Capacity, p: PriceBook) -> tuple[float, str]:
        opts, _ = compute_options(w, c, p, gpu, years, apis, spare_replicas)
        tgt = next(o for o in opts if o.id == target)
        return tgt.cost_per_mtok, min(opts, key=lambda o: o.horizon_total).id

    wl = workload.model_dump()
    wl_inputs: dict[str, float] = {
        "requests_per_day": workload.daily_requests,
        "input_tokens": workload.input_tokens,
        "output_tokens": workload.output_tokens,
        "reasoning_tokens": workload.reasoning_tokens,
        "peak_factor": workload.peak_factor,
        "hours_per_day": workload.hours_per_day,
    }
    for name, base in wl_inputs.items():
        if base == 0:
            continue
        lo, hi = _bounded(name, base, pct)
        results = []
        for v in (lo, hi):
            data = dict(wl)
            if name == "requests_per_day":
                data.update(requests_per_day=v, users=None, requests_per_user=None)
            else:
                data[name] = round(v) if name.endswith("tokens") else v
            results.append(run(Workload(**data), capacity, prices))
        rows.append(_row(f"workload.{name}", base, lo, hi, results))
    lo, hi = _bounded("tokens_per_s", capacity.tokens_per_s, pct)
    results = [run(workload, capacity.model_copy(update={"tokens_per_s": v}), prices) for v in (lo, hi)]
    rows.append(_row("capacity.tokens_per_s", capacity.tokens_per_s, lo, hi, results))
    for key in _price_keys(prices, gpu, apis):
        base = prices.value(key)
        if base == 0:
            continue
        lo, hi = _bounded(key, base, pct)
        results = [run(workload, capacity, prices.scaled(key, v / base)) for v in (lo, hi)]
        rows.append(_row(key, base, lo, hi, results))
    rows.sort(key=lambda r: r.swing, reverse=True)
    return rows


def _row(name: str, base: float, lo: float, hi: float, results: list[tuple[float, str]]) -> SensitivityRow:
    return SensitivityRow(
        input=name,
        base_value=base,
        low_value=lo,
        high_value=hi,
        metric_low=results[0][0],
        metric_high=results[1][0],
        cheapest_low=results[0][1],
        cheapest_high=results[1][1],
    )


def _bounded(name: str, base: float, pct: float) -> tuple[float, float]:
    lo, hi = base * (1 - pct), base * (1 + pct)
    if name == "peak_factor":
        lo = max(1.0, lo)
    if name == "hours_per_day":
        hi = min(24.0, hi)
    if name.endswith("_pct") or name.endswith("discount"):
        hi = min(0.99, hi)
    if name.endswith("tokens"):
        lo, hi = max(1.0, round(lo)), float(round(hi))
    return lo, hi


def _price_keys(prices: PriceBook, gpu: str, apis: list[str]) -> list[str]:
    keys = [k for k in prices.figures if k.startswith(("onprem.", "rental.", "market."))]
    keys += [k for k in prices.figures if k.startswith(f"gpus.{gpu}.")]
    for name in apis:
        keys += [f"apis.{name}.input", f"apis.{name}.output"]
    return [k for k in keys if k != "onprem.gpus_per_server"]


def _break_even(
    workload: Workload,
    year1: Callable[[float], dict[str, float]],
    opts: list[OptionCost],
    a: str,
    b: str,
) -> BreakEven:
    """Month (cash, within the horizon) and first-year daily volume at which ``a`` costs no more than ``b``."""
    oa, ob = _get(opts, a), _get(opts, b)
    month: int | None = None  # first month from which a stays no dearer than b to the horizon's end
    for m in range(len(oa.cumulative_cash) - 1, -1, -1):
        if oa.cumulative_cash[m] > ob.cumulative_cash[m] + 1e-9:
            break
        month = m

    def diff(volume: float) -> float:
        costs = year1(volume)
        return costs[a] - costs[b]

    grid = [10 ** (k / 10) for k in range(0, 101)]  # 1 .. 1e10 requests/day, 10 points per decade
    prev_v, prev_d = grid[0], diff(grid[0])
    volume: float | None = None
    status: Literal["crosses", "always_cheaper", "never_cheaper"]
    status = "always_cheaper" if prev_d <= 0 else "never_cheaper"
    if prev_d > 0:
        for v in grid[1:]:
            d = diff(v)
            if d <= 0:
                lo, hi = prev_v, v
                for _ in range(40):
                    mid = math.sqrt(lo * hi)
                    if diff(mid) <= 0:
                        hi = mid
                    else:
                        lo = mid
                volume, status = hi, "crosses"
                break
            prev_v, prev_d = v, d
    mtok = None
    if volume is not None:
        mtok = volume * workload.days_per_year / 12.0 * workload.tokens_per_request / 1e6
    note = {
        "crosses": f"{a} is cheaper per year above this first-year volume",
        "always_cheaper": f"{a} is cheaper per year at every volume from 1 request/day",
        "never_cheaper": f"{a} is never cheaper per year up to 1e10 requests/day",
    }[status]
    return BreakEven(
        a=a, b=b, month=month, requests_per_day=volume, mtok_per_month=mtok, status=status, note=note
    )


def _default_pairs(opts: list[OptionCost]) -> list[tuple[str, str]]:
    ids = [o.id for o in opts]
    pairs = [("onprem", x) for x in ids if x != "onprem"]
    for r in ("rental_reserved", "rental_on_demand"):
        pairs += [(r, x) for x in ids if x.startswith("api.")]
    return pairs


def _select_apis(prices: PriceBook, wanted: list[str] | None, model_name: str | None) -> list[str]:
    """The APIs named; else those serving this model, else its family (same name without the size);
    never an unrelated model. Without a model name, the catalog's ``default_apis``."""
    if wanted:
        return [prices.resolve_api(n) for n in wanted]
    if model_name:
        key = _model_key(model_name)
        served = {n: m for n in prices.api_names() if (m := prices.api_model(n))}
        match = [n for n, m in served.items() if _model_key(m) == key]
        if match:
            return match
        family = model_family(model_name)
        return [n for n, m in served.items() if family and model_family(m) == family]
    defaults = prices.meta.get("default_apis") or []
    return [prices.resolve_api(str(n)) for n in defaults]


def _model_key(name: str) -> str:
    base = name.rstrip("/").split("/")[-1].lower()
    base = re.sub(r"[-_](instruct|chat|fp8|awq|gptq|gguf|bf16|int4|nvfp4)$", "", base)
    return re.sub(r"[\s_\-]+", "", base)


def model_family(name: str) -> str:
    """A model's family: its name up to the size (``Qwen3.5-27B`` → ``qwen3.5``; ``Llama-3.1-8B`` →
    ``llama3.1``); '' when no size is written in the name (no family can be claimed then)."""
    base = name.rstrip("/").split("/")[-1].lower()
    m = re.search(r"[-_\s](\d+(\.\d+)?[bm])(\b|[-_])", base + " ")
    if m is None:
        return ""
    return re.sub(r"[\s_\-]+", "", base[: m.start()])


def _assumptions(
    prices: PriceBook, gpu: str, apis: list[str], as_of: date, stale_days: int
) -> list[Assumption]:
    keys = [k for k in _price_keys(prices, gpu, apis)]
    keys.insert(0, "onprem.gpus_per_server")
    out = []
    for key in keys:
        if not prices.has(key):
            continue
        f = prices.get(key)
        out.append(
            Assumption(
                key=key,
                value=f.value,
                unit=f.unit,
                date=f.date.isoformat(),
                source=f.source,
                url=f.url,
                origin=f.origin,
                stale=f.is_stale(as_of, stale_days),
            )
        )
    return out


def _has(opts: list[OptionCost], option_id: str) -> bool:
    return any(o.id == option_id for o in opts)


def _get(opts: list[OptionCost], option_id: str) -> OptionCost:
    return next(o for o in opts if o.id == option_id)
