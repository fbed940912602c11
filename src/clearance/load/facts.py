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
    FactSpec(
        "load.slo.edge_found",
        "bool",
        "the SLO search found a failing level above a passing one (false: max_concurrency is a lower bound)",
    ),
    FactSpec(
        "load.goodput_requests_per_s",
        "number",
        "goodput (vLLM's definition): completed requests meeting every SLO, per second",
        "requests/s",
    ),
    FactSpec(
        "load.goodput_ratio",
        "number",
        "share of completed requests meeting every SLO (Wilson interval)",
        "ratio",
        BOUNDS,
    ),
    FactSpec(
        "load.prompt_tokens_exact_rate",
        "number",
        "share of requests whose prompt length the server counted exactly as aimed (exact tokenizer runs)",
        "ratio",
    ),
    FactSpec(
        "load.sweep.max_requests_per_s", "number", "highest throughput across a sweep's points", "requests/s"
    ),
    FactSpec(
        "load.sweep.max_goodput_requests_per_s",
        "number",
        "highest goodput across a sweep's points",
        "requests/s",
    ),
    FactSpec("load.soak.duration_s", "number", "length of the soak (steady load)", "s"),
    FactSpec(
        "load.soak.error_rate",
        "number",
        "share of soak requests that failed (Wilson interval)",
        "ratio",
        ("ci_high",),
    ),
    FactSpec(
        "load.soak.e2e_p95_drift_ratio",
        "number",
        "median window p95 E2E latency of the soak's last third / its first third (1 = no drift)",
        "ratio",
    ),
    FactSpec(
        "load.soak.ttft_p95_drift_ratio",
        "number",
        "median window p95 TTFT of the soak's last third / its first third (1 = no drift)",
        "ratio",
    ),
    FactSpec(
        "load.soak.error_rate_drift",
        "number",
        "error rate of the soak's last third minus its first third",
        "ratio",
    ),
    FactSpec(
        "load.long_context.served_max_tokens", "integer", "context length the endpoint serves", "tokens"
    ),
    FactSpec(
        "load.long_context.max_tokens_tested",
        "integer",
        "longest context the long-context probe tested (the served maximum less room for the answer)",
        "tokens",
    ),
    FactSpec(
        "load.long_context.tested_share_of_max",
        "number",
        "longest context tested / served maximum",
        "ratio",
    ),
    FactSpec(
        "load.long_context.accuracy_at_max",
        "number",
        "planted-fact retrieval accuracy at the longest context tested (Wilson interval)",
        "ratio",
        BOUNDS,
    ),
    FactSpec(
        "load.long_context.min_accuracy",
        "number",
        "lowest retrieval accuracy across the context lengths tested",
        "ratio",
    ),
    FactSpec(
        "load.long_context.ttft_p50_at_max_s", "number", "median TTFT at the longest context tested", "s"
    ),
)
