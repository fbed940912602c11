"""Cost: total cost of ownership for the workload file's traffic (or an illustrative one), from the planner."""

from __future__ import annotations

from pathlib import Path

from clearance.dossier.records import StageKind
from clearance.stages.base import StageContext, StageOutcome
from clearance.tco import CostOptions, CostReport, Workload, estimate_cost, from_plan
from clearance.workload import WorkloadFile, load_workload


class CostStage:
    name: str = "cost"
    kind: StageKind = "estimated"
    essential: bool = False

    def __init__(self, workload: str | None = None) -> None:
        self.workload_path = workload
        self.workload: WorkloadFile | None = load_workload(workload) if workload else None
        wf = self.workload
        self.method: str = (
            f"TCO over {wf.horizon_years} years for the workload in {Path(workload or '').name}"
            if wf is not None
            else "TCO over 3 years for an illustrative 10,000 requests/day workload (no --workload given)"
        )

    def run(self, ctx: StageContext) -> StageOutcome[CostReport]:
        opts, wf = ctx.opts, self.workload
        name = model_name(ctx.facts, opts.model)
        if wf is not None:
            workload = wf.traffic_workload()
            capacity = from_plan(
                opts.model,
                opts.gpu,
                workload,
                ttft_target_s=wf.slo.ttft_p95_s or 2.0,
                itl_target_s=wf.slo.tpot_p95_s or 0.05,
                max_model_len=wf.max_model_len(),
            )
            options = CostOptions(
                gpu=opts.gpu, capacity=capacity, years=wf.horizon_years, apis=wf.apis, model_name=name
            )
            rep = estimate_cost(workload, options, prices=wf.price_book())
        else:
            workload = Workload(requests_per_day=10_000)
            capacity = from_plan(opts.model, opts.gpu, workload)
            rep = estimate_cost(workload, CostOptions(gpu=opts.gpu, capacity=capacity, model_name=name))
        label = "workload file" if wf is not None else "illustrative workload"
        extra = {"workload_file": wf.model_dump(mode="json", exclude={"prices"})} if wf is not None else {}
        return StageOutcome(
            rep,
            summary=f"cheapest option: {rep.cheapest} (estimate, {label})",
            facts=rep.policy_facts(),
            evidence=("tco",),
            save_as="cost",
            results_key=("cost",),
            results_extra=extra,
        )


def model_name(facts: dict[str, object], model: str) -> str:
    """The model's name for matching hosted APIs of its family (artifact name, else the path's name)."""
    name = facts.get("model.name")
    return str(name) if name else Path(model.rstrip("/")).name
