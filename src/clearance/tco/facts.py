"""Facts the cost estimate publishes (``CostReport.policy_facts``): ``tco.*``, all estimates."""

from __future__ import annotations

from clearance.facts import FactSpec

FACTS = (
    FactSpec("tco.estimate", "bool", "always true: every cost figure is an estimate"),
    FactSpec("tco.cheapest_option", "text", "id of the cheapest option over the horizon"),
    FactSpec("tco.horizon_years", "integer", "years the costs are summed over", "years"),
    FactSpec("tco.gpu", "text", "the GPU the self-hosted options are priced for"),
    FactSpec(
        "tco.throughput_source", "text", "where throughput came from: the planner or a measured load test"
    ),
    FactSpec(
        "tco.tokens_per_s_per_replica", "number", "output tokens per second one replica serves", "tokens/s"
    ),
    FactSpec("tco.gpus_per_replica", "integer", "GPUs in one replica", "GPUs"),
    FactSpec("tco.stale_figures", "integer", "prices older than their freshness limit", "prices"),
    FactSpec("tco.{option}.annual_cost", "number", "first-year cost of the option", "USD/year"),
    FactSpec("tco.{option}.horizon_cost", "number", "total cost of the option over the horizon", "USD"),
    FactSpec("tco.{option}.cost_per_mtok", "number", "cost per million tokens of the option", "USD/Mtok"),
    FactSpec(
        "tco.break_even.{option}_vs_{option}.month",
        "integer",
        "month in which the first option becomes cheaper",
        "month",
    ),
    FactSpec(
        "tco.break_even.{option}_vs_{option}.requests_per_day",
        "number",
        "daily requests above which the first option is cheaper",
        "requests/day",
    ),
)
