"""Facts the load test, determinism probe and SLO search publish: ``load.*``."""

from __future__ import annotations

from clearance.facts import BOUNDS, FactSpec

_LATENCY = {
    "ttft": "time to first token",
    "itl": "inter-token latency",
    "tpot": "time per output token",
    "e2e": "end-to-end request latency",
}

FACTS = (
    FactSpec("load.mode", "text", "closed loop (fixed concurrency) or open loop (fixed arrival rate)"),
    FactSpec("load.requests", "integer", "requests sent", "requests"),
    FactSpec("load.completed", "integer", "requests that completed", "requests"),
    FactSpec("load.error_rate", "number", "share of requests that failed (Wilson interval)", "ratio", BOUNDS),
    FactSpec("load.requests_per_s", "number", "completed requests per second", "requests/s"),
    FactSpec(
        "load.output_tokens_per_s", "number", "output tokens per second, all requests together", "tokens/s"
    ),
    FactSpec("load.concurrency", "integer", "requests kept in flight (closed loop)", "requests"),
    FactSpec("load.target_rate", "number", "arrival rate asked for (open loop)", "requests/s"),
    FactSpec("load.achieved_rate", "number", "arrival rate achieved (open loop)", "requests/s"),
    *(
        FactSpec(f"load.{k}_{q}_s", "number", f"{q} of {what}", "s")
        for k, what in _LATENCY.items()
        for q in ("p50", "p90", "p95", "p99", "mean")
    ),
    FactSpec(
        "load.determinism.identical_rate",
        "number",
        "share of repeated greedy answers identical to the first (Wilson interval)",
        "ratio",
        BOUNDS,
    ),
    FactSpec(
        "load.determinism.prompts_all_identical_rate",
        "number",
        "share of prompts whose repeats were all identical",
        "ratio",
    ),
    FactSpec("load.determinism.n", "integer", "answers compared", "answers"),
    FactSpec("load.slo.max_concurrency", "integer", "highest concurrency that met the SLOs", "requests"),
    FactSpec("load.slo.ttft_p95_target_s", "number", "the TTFT p95 target of the SLO search", "s"),
    FactSpec("load.slo.itl_p95_target_s", "number", "the ITL p95 target of the SLO search", "s"),
)
