"""Size one model for a workload on one GPU type: the smallest replica that fits the context length, the
highest concurrency whose estimated latency still meets the SLO, the replicas the peak needs, and the cost.

Latencies here are the planner's estimates (per-request means at that concurrency), labelled as such;
where a dossier carries a load test for the same GPU, the measured throughput and p95 latencies replace
them and the planner's estimate is kept beside them with its error.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, Field

from clearance.errors import ClearanceError
from clearance.workload import WorkloadFile

GPU_COUNTS = (1, 2, 4, 8, 16)
DEFAULT_TTFT_S = 2.0
DEFAULT_TPOT_S = 0.05


class Measured(BaseModel):
    """A dossier's load test, as sizing uses it."""

    gpu: str
    concurrency: int
    prompt_tokens: int
    max_tokens: int
    output_tokens_per_s: float
    ttft_p95_s: float | None = None
    tpot_p95_s: float | None = None
    e2e_p95_s: float | None = None
    ttft_p50_s: float | None = None


class PlannerCheck(BaseModel):
    """The planner's estimate for the settings of a load test, beside the measurement, with its error."""

    gpu: str
    concurrency: int
    prompt_tokens: int
    output_tokens: int
    estimated_ttft_s: float | None
    measured_ttft_p50_s: float | None
    ttft_error: float | None  # estimate / measured − 1
    estimated_tokens_per_s: float | None  # all sequences together
    measured_tokens_per_s: float
    tokens_per_s_error: float | None
    note: str = "the dossier's planning GPU is taken as the hardware behind the endpoint; check that it was"


class Sizing(BaseModel):
    """One model on one GPU type for one workload."""

    gpu: str
    fits: bool
    gpus_per_replica: int | None = None
    concurrency: int | None = None
    replicas: int | None = None  # for the peak of the horizon's last year
    gpus_total: int | None = None
    ttft_s: float | None = None
    tpot_s: float | None = None
    e2e_s: float | None = None
    min_ttft_s: float | None = None  # at concurrency 1: the best this replica can do
    min_tpot_s: float | None = None
    meets_slo: bool = False
    slo_misses: list[str] = Field(default_factory=list)
    latency_source: Literal["planner estimate", "measured"] = "planner estimate"
    tokens_per_s_per_replica: float | None = None
    cost_option: str | None = None
    horizon_cost: float | None = None
    first_year_cost: float | None = None
    cost_per_mtok: float | None = None
    owned_gpus: int | None = None
    owned_suffices: bool | None = None
    planner_check: PlannerCheck | None = None
    note: str | None = None


def size_on_gpu(
    spec: Any,
    gpu: str,
    wl: WorkloadFile,
    book: Any,
    *,
    measured: Measured | None = None,
    engine: str = "vllm",
) -> Sizing:
    """Size ``spec`` on ``gpu`` for ``wl`` and cost it with ``book`` (see the module doc)."""
    from clearance.plan import PlanOptions, plan

    traffic = wl.traffic_workload()
    max_len = wl.max_model_len()
    prompt = max(1, traffic.input_tokens)
    gen = max(1, traffic.generated_tokens)
    ttft_t = wl.slo.ttft_p95_s or DEFAULT_TTFT_S
    tpot_t = wl.slo.tpot_p95_s or DEFAULT_TPOT_S
    gen_p95 = max(1.0, wl.tokens.output.at(0.95) + wl.tokens.reasoning.at(0.95))

    def run(n: int, c: int) -> Any:
        return plan(
            spec,
            PlanOptions(
                gpu=gpu,
                gpus=n,
                engine=engine,
                max_model_len=max_len,
                concurrency=c,
                prompt_tokens=prompt,
                output_tokens=gen,
            ),
        )

    chosen = None
    for n in GPU_COUNTS:
        try:
            first = run(n, 1)
        except ClearanceError as exc:
            return Sizing(gpu=gpu, fits=False, note=str(exc))
        if first.fits:
            chosen = (n, first)
            break
    if chosen is None:
        return Sizing(
            gpu=gpu,
            fits=False,
            note=f"does not fit on {GPU_COUNTS[-1]} × {gpu} at {max_len:,} tokens of context (estimate)",
        )
    n, first = chosen
    limit = max(1, int(first.max_concurrency))
    if measured is not None and _same_gpu(measured.gpu, gpu):
        limit = 1  # the load test's throughput and latencies replace the search below

    def latency(res: Any) -> tuple[float, float, float]:
        d = res.performance.decode_tokens_per_s
        tpot = 1.0 / d if d > 0 else math.inf
        return res.performance.ttft_s, tpot, res.performance.ttft_s + gen_p95 * tpot

    def meets(res: Any) -> bool:
        ttft, tpot, e2e = latency(res)
        ok = bool(res.fits) and ttft <= ttft_t and tpot <= tpot_t
        return ok and (wl.slo.e2e_p95_s is None or e2e <= wl.slo.e2e_p95_s)

    best, best_res = 1, first
    if meets(first):
        lo, hi, c = 1, None, 2
        while c <= limit:
            res = run(n, c)
            if not meets(res):
                hi = c
                break
            lo, best_res = c, res
            c *= 2
        if hi is None:
            hi = limit + 1
            if lo < limit:
                res = run(n, limit)
                if meets(res):
                    lo, best_res = limit, res
        while hi - lo > 1:
            mid = (lo + hi) // 2
            res = run(n, mid)
            if meets(res):
                lo, best_res = mid, res
            else:
                hi = mid
        best = lo
    ttft, tpot, e2e = latency(best_res)
    min_ttft, min_tpot, _ = latency(first)
    seconds_per_request = ttft + gen * tpot
    tokens_per_s = best / seconds_per_request * gen
    out = Sizing(
        gpu=gpu,
        fits=True,
        gpus_per_replica=n,
        concurrency=best,
        ttft_s=ttft,
        tpot_s=tpot,
        e2e_s=e2e,
        min_ttft_s=min_ttft,
        min_tpot_s=min_tpot,
        tokens_per_s_per_replica=tokens_per_s,
    )
    if measured is not None and _same_gpu(measured.gpu, gpu):
        out.planner_check = planner_check(spec, measured, engine=engine)
        out.latency_source = "measured"
        out.tokens_per_s_per_replica = measured.output_tokens_per_s
        out.concurrency = measured.concurrency
        out.ttft_s = measured.ttft_p95_s
        out.tpot_s = measured.tpot_p95_s
        out.e2e_s = measured.e2e_p95_s
    out.slo_misses = _slo_misses(out, wl, ttft_t, tpot_t)
    out.meets_slo = not out.slo_misses
    _cost(out, wl, book)
    owned = {k.lower(): v for k, v in wl.hardware.owned.items()}.get(gpu.lower())
    if owned is not None and out.gpus_total is not None:
        out.owned_gpus = owned
        out.owned_suffices = out.gpus_total <= owned
    return out


def measured_from_load(load: object, gpu: str) -> Measured | None:
    """A load test's record (``LoadResult`` as JSON data) as sizing uses it, on ``gpu``; None without one."""
    if not isinstance(load, dict):
        return None
    raw_cfg = load.get("config")
    cfg: dict[str, Any] = raw_cfg if isinstance(raw_cfg, dict) else {}
    tps = load.get("output_tokens_per_s")
    if not isinstance(tps, int | float) or tps <= 0 or not cfg.get("concurrency"):
        return None

    def p(name: str, q: str) -> float | None:
        d = load.get(name)
        v = d.get(q) if isinstance(d, dict) else None
        return float(v) if isinstance(v, int | float) else None

    return Measured(
        gpu=gpu,
        concurrency=int(cfg["concurrency"]),
        prompt_tokens=int(cfg.get("prompt_tokens") or 64),
        max_tokens=int(cfg.get("max_tokens") or 64),
        output_tokens_per_s=float(tps),
        ttft_p95_s=p("ttft", "p95"),
        tpot_p95_s=p("tpot", "p95"),
        e2e_p95_s=p("e2e", "p95"),
        ttft_p50_s=p("ttft", "p50"),
    )


def _slo_misses(s: Sizing, wl: WorkloadFile, ttft_t: float, tpot_t: float) -> list[str]:
    kind = "measured p95" if s.latency_source == "measured" else "estimated"
    miss = []
    if s.ttft_s is None or s.ttft_s > ttft_t:
        miss.append(f"TTFT {_sec(s.ttft_s)} {kind} > {ttft_t:g} s")
    if s.tpot_s is None or s.tpot_s > tpot_t:
        miss.append(f"TPOT {_sec(s.tpot_s)} {kind} > {tpot_t:g} s")
    if wl.slo.e2e_p95_s is not None and (s.e2e_s is None or s.e2e_s > wl.slo.e2e_p95_s):
        miss.append(f"end-to-end {_sec(s.e2e_s)} {kind} > {wl.slo.e2e_p95_s:g} s")
    return miss


def _cost(s: Sizing, wl: WorkloadFile, book: Any) -> None:
    from clearance.tco import Capacity, compute_options

    if not s.tokens_per_s_per_replica or not s.gpus_per_replica:
        return
    traffic = wl.traffic_workload()
    cap = Capacity(
        gpus_per_replica=s.gpus_per_replica,
        tokens_per_s=s.tokens_per_s_per_replica,
        source="measured" if s.latency_source == "measured" else "planner estimate",
    )
    s.replicas = cap.replicas_for_peak(traffic, year=wl.horizon_years - 1)
    s.gpus_total = s.replicas * s.gpus_per_replica
    try:
        price_gpu = book.resolve_gpu(s.gpu)
        opts, skipped = compute_options(traffic, cap, book, price_gpu, wl.horizon_years, [], 0)
    except ClearanceError as exc:
        s.note = f"not costed: {exc}"
        return
    if not opts:
        s.note = "not costed: " + "; ".join(skipped)
        return
    best = min(opts, key=lambda o: o.horizon_total)
    s.cost_option = best.id
    s.horizon_cost = best.horizon_total
    s.first_year_cost = best.annual[0]
    s.cost_per_mtok = best.cost_per_mtok


def cost_at_volume(s: Sizing, wl: WorkloadFile, book: Any, factor: float) -> float | None:
    """Horizon cost of this sizing with the first-year volume multiplied by ``factor``."""
    from clearance.tco import Capacity, compute_options

    if not s.tokens_per_s_per_replica or not s.gpus_per_replica:
        return None
    traffic = wl.traffic_workload()
    traffic = traffic.scaled(traffic.daily_requests * factor)
    cap = Capacity(gpus_per_replica=s.gpus_per_replica, tokens_per_s=s.tokens_per_s_per_replica)
    try:
        opts, _ = compute_options(traffic, cap, book, book.resolve_gpu(s.gpu), wl.horizon_years, [], 0)
    except ClearanceError:
        return None
    return min((o.horizon_total for o in opts), default=None)


def planner_check(spec: Any, m: Measured, *, engine: str = "vllm") -> PlannerCheck:
    """The planner's estimate at a load test's settings, beside its measurement."""
    from clearance.plan import PlanOptions, plan

    est_ttft = est_tps = None
    try:
        res = plan(
            spec,
            PlanOptions(
                gpu=m.gpu,
                engine=engine,
                concurrency=max(1, m.concurrency),
                prompt_tokens=max(1, m.prompt_tokens),
                output_tokens=max(1, m.max_tokens),
                max_model_len=max(256, m.prompt_tokens + m.max_tokens),
            ),
        )
        est_ttft = res.performance.ttft_s
        est_tps = res.performance.decode_tokens_per_s * max(1, m.concurrency)
    except ClearanceError:
        pass
    return PlannerCheck(
        gpu=m.gpu,
        concurrency=m.concurrency,
        prompt_tokens=m.prompt_tokens,
        output_tokens=m.max_tokens,
        estimated_ttft_s=est_ttft,
        measured_ttft_p50_s=m.ttft_p50_s,
        ttft_error=_err(est_ttft, m.ttft_p50_s),
        estimated_tokens_per_s=est_tps,
        measured_tokens_per_s=m.output_tokens_per_s,
        tokens_per_s_error=_err(est_tps, m.output_tokens_per_s),
    )


def _err(est: float | None, meas: float | None) -> float | None:
    if est is None or meas is None or meas <= 0:
        return None
    return est / meas - 1.0


def _same_gpu(a: str, b: str) -> bool:
    from clearance.plan.gpus import get_gpu

    try:
        return get_gpu(a).name == get_gpu(b).name
    except ClearanceError:
        return a.lower() == b.lower()


def _sec(v: float | None) -> str:
    return "unknown" if v is None or not math.isfinite(v) else f"{v:.3g} s"
