"""Hosted API: price per million input and output tokens; reasoning tokens are billed as output."""

from __future__ import annotations

from clearance.tco.prices import PriceBook
from clearance.tco.report import OptionCost
from clearance.tco.workload import Workload


def api_cost(workload: Workload, prices: PriceBook, name: str, years: int) -> OptionCost:
    """Pay per token: requests × (input × p_in + (output + reasoning) × p_out) / 1e6, yearly price decline applied."""
    p_in = prices.value(f"apis.{name}.input")
    p_out = prices.value(f"apis.{name}.output")
    decline = prices.value("market.api_price_decline_per_year")
    comp: dict[str, list[float]] = {"input_tokens": [], "output_tokens": []}
    tokens: list[float] = []
    reqs: list[float] = []
    for y in range(years):
        requests = workload.requests_in_year(y)
        factor = (1.0 - decline) ** y
        comp["input_tokens"].append(requests * workload.input_tokens * p_in / 1e6 * factor)
        comp["output_tokens"].append(requests * workload.generated_tokens * p_out / 1e6 * factor)
        tokens.append(requests * workload.tokens_per_request)
        reqs.append(requests)
    annual = [comp["input_tokens"][y] + comp["output_tokens"][y] for y in range(years)]
    cumulative = [0.0]
    for m in range(12 * years):
        cumulative.append(cumulative[-1] + annual[m // 12] / 12.0)
    model = prices.api_model(name)
    return OptionCost(
        id=f"api.{name}",
        kind="api",
        label=f"Hosted API {name}" + (f" ({model})" if model else ""),
        annual=annual,
        components=comp,
        cumulative_cash=cumulative,
        tokens=tokens,
        requests=reqs,
        details={"price_input_per_mtok": p_in, "price_output_per_mtok": p_out},
        notes=["reasoning tokens billed as output tokens"],
    )
