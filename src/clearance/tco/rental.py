"""Cloud GPU rental: GPU-hours for the peak fleet (on-demand in service hours, or reserved 24×7)."""

from __future__ import annotations

from clearance.tco.capacity import Capacity
from clearance.tco.onprem import HOURS_PER_YEAR
from clearance.tco.prices import PriceBook
from clearance.tco.report import OptionCost
from clearance.tco.workload import Workload


def rental_cost(
    workload: Workload,
    capacity: Capacity,
    prices: PriceBook,
    gpu: str,
    years: int,
    *,
    reserved: bool,
    spare_replicas: int = 0,
) -> OptionCost:
    """Rent the GPUs: on-demand keeps the peak fleet up during hours of use; reserved pays 24×7 at a discount."""
    on_demand = prices.value(f"gpus.{gpu}.rental_on_demand")
    discount = prices.value("rental.reserved_discount")
    rate = on_demand * (1.0 - discount) if reserved else on_demand
    overhead = prices.value("rental.overhead_pct")
    staff = prices.value("rental.staff_fte") * prices.value("onprem.fte_cost")
    licence = prices.value("onprem.software_licence_per_gpu_year")
    comp: dict[str, list[float]] = {k: [] for k in ("gpu_hours", "cloud_overhead", "staff", "licence")}
    hours_peak: list[float] = []
    hours_avg: list[float] = []
    tokens: list[float] = []
    reqs: list[float] = []
    for y in range(years):
        fleet = capacity.replicas_for_peak(workload, y, spare_replicas) * capacity.gpus_per_replica
        service_hours = workload.hours_per_day * workload.days_per_year
        hours = fleet * (HOURS_PER_YEAR if reserved else service_hours)
        avg = capacity.replicas_for_average(workload, y) * capacity.gpus_per_replica * service_hours
        gpu_cost = hours * rate
        comp["gpu_hours"].append(gpu_cost)
        comp["cloud_overhead"].append(gpu_cost * overhead)
        comp["staff"].append(staff)
        comp["licence"].append(licence * hours / HOURS_PER_YEAR)
        hours_peak.append(hours)
        hours_avg.append(avg)
        requests = workload.requests_in_year(y)
        tokens.append(requests * workload.tokens_per_request)
        reqs.append(requests)
    annual = [sum(c[y] for c in comp.values()) for y in range(years)]
    cumulative = [0.0]
    for m in range(12 * years):
        cumulative.append(cumulative[-1] + annual[m // 12] / 12.0)
    autoscaled = [h * rate * (1.0 + overhead) + staff for h in hours_avg]
    kind = "reserved (1-year commitment, 24×7)" if reserved else "on-demand (peak fleet during hours of use)"
    return OptionCost(
        id="rental_reserved" if reserved else "rental_on_demand",
        kind="rental",
        label=f"Rented {gpu}, {kind}",
        annual=annual,
        components=comp,
        cumulative_cash=cumulative,
        tokens=tokens,
        requests=reqs,
        details={
            "rate_per_gpu_hour": round(rate, 4),
            "gpu_hours_by_year": [round(h, 1) for h in hours_peak],
            "gpu_hours_average_by_year": [round(h, 1) for h in hours_avg],
            "annual_cost_if_autoscaled_to_average": [round(c, 2) for c in autoscaled],
        },
        notes=[
            "GPU-hours for the peak fleet; the average-load GPU-hours are the lower bound of perfect autoscaling"
        ],
    )
