"""Cost: total cost of ownership for an illustrative workload, from the planner's throughput."""

from __future__ import annotations

from clearance.dossier.records import StageKind
from clearance.stages.base import StageContext, StageOutcome
from clearance.tco import CostOptions, CostReport, Workload, estimate_cost, from_plan


class CostStage:
    name: str = "cost"
    kind: StageKind = "estimated"
    method: str = "TCO over 3 years for an illustrative 10,000 requests/day workload"
    essential: bool = False

    def run(self, ctx: StageContext) -> StageOutcome[CostReport]:
        workload = Workload(requests_per_day=10_000)
        capacity = from_plan(ctx.opts.model, ctx.opts.gpu, workload)
        rep = estimate_cost(workload, CostOptions(gpu=ctx.opts.gpu, capacity=capacity))
        return StageOutcome(
            rep,
            summary=f"cheapest option: {rep.cheapest} (estimate, illustrative workload)",
            facts=rep.policy_facts(),
            evidence=("tco",),
            save_as="cost",
            results_key=("cost",),
        )
