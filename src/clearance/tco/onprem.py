"""On-premise ownership: capex in tranches, capital charge via the CRF, power, colocation, support, staff."""

from __future__ import annotations

import math

from clearance.errors import InputError
from clearance.tco.capacity import Capacity
from clearance.tco.prices import PriceBook
from clearance.tco.report import OptionCost
from clearance.tco.workload import Workload

HOURS_PER_YEAR = 8760.0


def crf(rate: float, years: float) -> float:
    """Capital recovery factor r(1+r)^n / ((1+r)^n - 1): the yearly payment that repays 1 over n years."""
    if years <= 0:
        raise InputError(f"depreciation period must be > 0 years, got {years}")
    if rate < 0:
        raise InputError(f"cost of capital must be >= 0, got {rate}")
    if rate == 0:
        return 1.0 / years
    grow = (1.0 + rate) ** years
    return rate * grow / (grow - 1.0)


def annual_capital_charge(capex: float, rate: float, years: float, residual_pct: float) -> float:
    """Yearly cost of owning ``capex``: (capex - PV of the residual value) × CRF(rate, years)."""
    residual_pv = capex * residual_pct / (1.0 + rate) ** years
    return (capex - residual_pv) * crf(rate, years)


def onprem_cost(
    workload: Workload, capacity: Capacity, prices: PriceBook, gpu: str, years: int, spare_replicas: int = 0
) -> OptionCost:
    """Own the GPUs: buy the fleet the peak needs (more each year growth needs it), run it 24×7."""
    g = f"gpus.{gpu}"
    gpu_price = prices.value(f"{g}.purchase")
    tdp_kw = prices.value(f"{g}.tdp") / 1000.0
    per_server = max(1, round(prices.value("onprem.gpus_per_server")))
    server_base = prices.value("onprem.server_base")
    networking = prices.value("onprem.networking_pct")
    overhead_kw = prices.value("onprem.server_overhead_kw")
    overhead_load = prices.value("onprem.server_overhead_load")
    pue = prices.value("onprem.pue")
    kwh = prices.value("onprem.electricity_per_kwh")
    colo = prices.value("onprem.colocation_per_kw_month")
    support = prices.value("onprem.support_pct")
    staff = prices.value("onprem.staff_fte") * prices.value("onprem.fte_cost")
    licence = prices.value("onprem.software_licence_per_gpu_year")
    life = prices.value("onprem.depreciation_years")
    rate = prices.value("onprem.cost_of_capital")
    residual = prices.value("onprem.residual_pct")
    if residual >= 1.0:
        raise InputError(f"onprem.residual_pct must be < 1, got {residual}")
    charge_per_dollar = annual_capital_charge(1.0, rate, life, residual)

    comp: dict[str, list[float]] = {
        k: [] for k in ("capital", "power", "colocation", "support", "staff", "licence")
    }
    tranches: list[tuple[int, float]] = []  # (year bought, capex)
    replicas = gpus = servers = 0
    server_share = 0.0
    util: list[float] = []
    fleet: list[int] = []
    tokens: list[float] = []
    reqs: list[float] = []
    for y in range(years):
        replicas = max(replicas, capacity.replicas_for_peak(workload, y, spare_replicas))
        new_gpus = replicas * capacity.gpus_per_replica
        # Servers are bought to size: each GPU slot carries 1/per_server of a server's base cost and power.
        hardware = (new_gpus - gpus) * (gpu_price + server_base / per_server)
        if hardware > 0:
            tranches.append((y, hardware * (1.0 + networking)))
        gpus = new_gpus
        servers = math.ceil(gpus / per_server)
        server_share = gpus / per_server
        capex_owned = sum(c for _, c in tranches)
        requests = workload.requests_in_year(y)
        generated = requests * workload.generated_tokens
        busy = generated / (replicas * capacity.tokens_per_s * HOURS_PER_YEAR * 3600.0)
        drawn_kw = gpus * tdp_kw * busy + server_share * overhead_kw * overhead_load
        nameplate_kw = gpus * tdp_kw + server_share * overhead_kw
        comp["capital"].append(capex_owned * charge_per_dollar)
        comp["power"].append(drawn_kw * HOURS_PER_YEAR * pue * kwh)
        comp["colocation"].append(nameplate_kw * colo * 12.0)
        comp["support"].append(capex_owned * support)
        comp["staff"].append(staff)
        comp["licence"].append(gpus * licence)
        util.append(busy)
        fleet.append(gpus)
        tokens.append(requests * workload.tokens_per_request)
        reqs.append(requests)

    annual = [sum(c[y] for c in comp.values()) for y in range(years)]
    cash_opex = [annual[y] - comp["capital"][y] for y in range(years)]
    cumulative = _cash_curve(tranches, cash_opex, years, life, residual)
    capex_first = tranches[0][1] if tranches else 0.0
    return OptionCost(
        id="onprem",
        kind="onprem",
        label=f"On-premise {gpu} (owned)",
        annual=annual,
        components=comp,
        cumulative_cash=cumulative,
        tokens=tokens,
        requests=reqs,
        details={
            "gpus_by_year": fleet,
            "servers": servers,
            "replicas": replicas,
            "capex_year1": round(capex_first, 2),
            "capex_total": round(sum(c for _, c in tranches), 2),
            "crf": round(crf(rate, life), 6),
            "gpu_utilisation_by_year": [round(u, 4) for u in util],
        },
        notes=[
            "capital = (capex - residual / (1+r)^n) × CRF(r, n); capex = GPUs × (price + server base / GPUs per server) × (1 + networking)",
            "fleet sized for each year's peak and never shrunk; power at the year's average GPU utilisation",
        ],
    )


def _cash_curve(
    tranches: list[tuple[int, float]], opex: list[float], years: int, life: float, residual: float
) -> list[float]:
    """Cumulative cash by month (0..12·years): capex when bought (and re-bought at end of life,
    selling the old at its residual value), opex spread evenly over each year's months."""
    months = 12 * years
    outflow = [0.0] * (months + 1)
    life_m = max(1, round(life * 12))
    for year, capex in tranches:
        m = 12 * year
        outflow[m] += capex
        m += life_m
        while m <= months - 1:
            outflow[m] += capex * (1.0 - residual)
            m += life_m
    for m in range(1, months + 1):
        outflow[m] += opex[(m - 1) // 12] / 12.0
    total = 0.0
    curve = []
    for v in outflow:
        total += v
        curve.append(total)
    return curve
