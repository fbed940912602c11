"""Load: a short closed-loop load test with streamed requests (latency percentiles, error rate)."""

from __future__ import annotations

from clearance.dossier.records import StageKind
from clearance.load import LoadConfig, LoadResult, run_loadtest
from clearance.stages.base import StageContext, StageOutcome, short_facts


class LoadStage:
    kind: StageKind = "measured"
    essential: bool = False
    name: str = "load"

    def __init__(self, concurrency: int, requests: int) -> None:
        self.method = f"closed loop, concurrency {concurrency}, {requests} streamed requests"

    def run(self, ctx: StageContext) -> StageOutcome[LoadResult]:
        opts = ctx.opts
        cfg = LoadConfig(
            concurrency=opts.load_concurrency,
            requests=opts.load_requests,
            max_tokens=opts.load_max_tokens,
        ).model_copy(update=workload_slo(opts.workload))
        res = ctx.wait(run_loadtest(ctx.require_load_client(), cfg))
        facts = res.policy_facts()
        return StageOutcome(
            res,
            summary=short_facts(facts, ("ttft_p95", "error_rate", "throughput")),
            facts=facts,
            evidence=("load",),
            save_as="load",
            results_key=("load",),
        )


def workload_slo(path: str | None) -> dict[str, float]:
    """The workload file's SLOs as goodput thresholds per request (vLLM's goodput), none without a file."""
    if path is None:
        return {}
    from clearance.workload import load_workload

    slo = load_workload(path).slo
    out = {"slo_ttft_s": slo.ttft_p95_s, "slo_tpot_s": slo.tpot_p95_s, "slo_e2e_s": slo.e2e_p95_s}
    return {k: float(v) for k, v in out.items() if v is not None}
