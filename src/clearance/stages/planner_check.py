"""Planner against measurement: the planner's estimate for the load test's own settings on ``--gpu``, beside
the measurement with its error, and the cost re-run with the measured throughput."""

from __future__ import annotations

from pydantic import BaseModel

from clearance.compare.sizing import PlannerCheck, measured_from_load, planner_check
from clearance.dossier.records import StageKind
from clearance.errors import InputError
from clearance.stages.base import StageContext, StageOutcome
from clearance.stages.cost import model_name
from clearance.tco import CostOptions, CostReport, Workload, estimate_cost, from_plan
from clearance.workload import load_workload


class PlannerAgainstMeasurement(BaseModel):
    """The planner's estimate beside the load test, and the cost with the measured throughput."""

    check: PlannerCheck
    cost: CostReport | None = None
    note: str = (
        "--gpu is taken as the hardware behind the endpoint; the throughput is the load test's, at its "
        "concurrency and answer length"
    )


class PlannerCheckStage:
    name: str = "planner-check"
    kind: StageKind = "measured"
    method: str = (
        "planner estimate for the load test's concurrency and lengths on --gpu, beside the measurement; "
        "cost with the measured throughput"
    )
    essential: bool = False

    def __init__(self, workload: str | None = None) -> None:
        self.workload = workload

    def run(self, ctx: StageContext) -> StageOutcome[PlannerAgainstMeasurement]:
        from clearance.plan import load_spec

        opts = ctx.opts
        measured = measured_from_load(ctx.results.get("load"), opts.gpu)
        if measured is None:
            raise InputError("no load test with throughput to compare the planner with")
        spec = load_spec(opts.model)
        check = planner_check(spec, measured)
        facts: dict[str, object] = {
            "plan.check.ttft_error": check.ttft_error,
            "plan.check.tokens_per_s_error": check.tokens_per_s_error,
        }
        wf = load_workload(self.workload) if self.workload else None
        traffic = wf.traffic_workload() if wf is not None else Workload(requests_per_day=10_000)
        capacity = from_plan(
            opts.model,
            opts.gpu,
            traffic,
            ttft_target_s=(wf.slo.ttft_p95_s if wf else None) or 2.0,
            itl_target_s=(wf.slo.tpot_p95_s if wf else None) or 0.05,
            max_model_len=wf.max_model_len() if wf else None,
        )
        how = f"load test: concurrency {measured.concurrency}, {measured.max_tokens}-token answers"
        options = CostOptions(
            gpu=opts.gpu,
            capacity=capacity,
            years=wf.horizon_years if wf else 3,
            apis=wf.apis if wf else None,
            model_name=model_name(ctx.facts, opts.model),
            measured_tokens_per_s=measured.output_tokens_per_s,
            measured_method=how,
        )
        cost = estimate_cost(traffic, options, prices=wf.price_book() if wf else None)
        facts["tco.measured.cheapest_option"] = cost.cheapest
        facts["tco.measured.cost_per_mtok"] = next(
            o.cost_per_mtok for o in cost.options if o.id == cost.cheapest
        )
        err = check.tokens_per_s_error
        summary = (
            f"planner {check.estimated_tokens_per_s or 0:,.0f} vs measured {check.measured_tokens_per_s:,.0f} tok/s"
            + (f" ({err:+.0%})" if err is not None else "")
            + f"; with the measured throughput the cheapest option is {cost.cheapest}"
        )
        return StageOutcome(
            PlannerAgainstMeasurement(check=check, cost=cost),
            summary=summary,
            facts=facts,
            evidence=("plan.check", "tco.measured"),
            save_as="planner-check",
            results_key=("planner_check",),
        )
