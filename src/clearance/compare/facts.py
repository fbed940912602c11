"""Facts a vet run with ``--baseline`` publishes (``compare.baseline.baseline_facts``): ``baseline.*``."""

from __future__ import annotations

from clearance.facts import BOUNDS, FactSpec

FACTS = (
    FactSpec("baseline.dossier", "text", "path of the baseline dossier compared against"),
    FactSpec("baseline.verified", "bool", "the baseline dossier's signature and digests hold"),
    FactSpec("baseline.status", "text", "the baseline run's decision"),
    FactSpec(
        "baseline.regressions",
        "integer",
        "metrics significantly worse than the baseline (Holm-adjusted)",
        "metrics",
    ),
    FactSpec(
        "baseline.incomparable_suites",
        "integer",
        "suites that cannot be paired with the baseline's",
        "suites",
    ),
    FactSpec("baseline.model_digest_changed", "bool", "the model's bytes differ from the baseline's"),
    FactSpec(
        "baseline.{eval_fact}.delta",
        "number",
        "this run's metric minus the baseline's, on the samples both ran (paired interval)",
        "",
        BOUNDS,
    ),
    FactSpec("baseline.{eval_fact}.delta.p_value", "number", "Holm-adjusted p-value of the paired test"),
    FactSpec("baseline.{eval_fact}.delta.n", "integer", "samples both runs share for this metric", "samples"),
    FactSpec(
        "plan.check.ttft_error",
        "number",
        "planner TTFT estimate over the load test's median TTFT, minus 1, same settings (vet with an endpoint)",
    ),
    FactSpec(
        "plan.check.tokens_per_s_error",
        "number",
        "planner throughput estimate over the load test's measured tokens/s, minus 1, same settings",
    ),
    FactSpec(
        "tco.measured.cheapest_option", "text", "cheapest option when costed with the measured throughput"
    ),
    FactSpec(
        "tco.measured.cost_per_mtok",
        "number",
        "that option's cost per million tokens with the measured throughput",
        "USD/Mtok",
    ),
)
