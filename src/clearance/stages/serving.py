"""Serving stages beyond the short load test: long-context retrieval, a soak, and cost from measured goodput.

``LongContextStage`` (``vet --long-context``) and ``SoakStage`` (``vet --soak SECONDS``) run only when
asked: on a large model each takes minutes. ``MeasuredCostStage`` runs after the load stage when a
workload file gives SLOs: the goodput measured at those SLOs (requests/s meeting every one) replaces the
planner's throughput estimate in the cost model, so the fleet and its cost follow from what was measured.
"""

from __future__ import annotations

from clearance.dossier.records import StageKind
from clearance.errors import InputError
from clearance.load import LoadConfig
from clearance.load.longctx import LongContextResult, probe_long_context
from clearance.load.soak import SoakResult, soak
from clearance.stages.base import StageContext, StageOutcome, short_facts
from clearance.stages.cost import model_name
from clearance.tco import CostOptions, CostReport, estimate_cost
from clearance.tco.throughput import from_goodput
from clearance.workload import load_workload


class LongContextStage:
    name: str = "long-context"
    kind: StageKind = "measured"
    essential: bool = False
    method: str = (
        "planted-fact retrieval at doubling context lengths up to the served maximum; accuracy (Wilson) "
        "and TTFT per length"
    )

    def __init__(self, max_context: int | None, tokenizer: str | None, trials: int = 5) -> None:
        self.max_context = max_context
        self.tokenizer = tokenizer
        self.trials = trials

    def run(self, ctx: StageContext) -> StageOutcome[LongContextResult]:
        client = ctx.require_load_client()
        res = ctx.wait(
            probe_long_context(
                client, max_context=self.max_context, tokenizer=self.tokenizer, trials=self.trials
            )
        )
        facts = res.policy_facts()
        top = res.at_max
        summary = (
            f"{top.correct}/{top.trials} retrieved at {top.context_tokens} tokens "
            f"(served max {res.served_max_tokens})"
            if top is not None
            else "no length tested"
        )
        return StageOutcome(
            res,
            summary=summary,
            facts=facts,
            evidence=("load.long_context",),
            save_as="long_context",
            results_key=("long_context",),
        )


class SoakStage:
    name: str = "soak"
    kind: StageKind = "measured"
    essential: bool = False

    def __init__(self, duration_s: float, concurrency: int) -> None:
        if not duration_s > 0:
            raise InputError(f"--soak must be > 0 seconds, got {duration_s}")
        self.duration_s = duration_s
        self.concurrency = concurrency
        self.method = (
            f"closed loop at concurrency {concurrency} for {duration_s:g} s; p95 latency and errors per window, "
            "drift of the last third against the first"
        )

    def run(self, ctx: StageContext) -> StageOutcome[SoakResult]:
        cfg = LoadConfig(concurrency=self.concurrency, max_tokens=ctx.opts.load_max_tokens)
        res = ctx.wait(soak(ctx.require_load_client(), cfg, self.duration_s))
        facts = res.policy_facts()
        return StageOutcome(
            res,
            summary=short_facts(facts, ("drift", "error_rate")),
            facts=facts,
            evidence=("load.soak",),
            save_as="soak",
            results_key=("soak",),
        )


class MeasuredCostStage:
    name: str = "cost:measured"
    kind: StageKind = "measured"
    essential: bool = False
    method: str = "TCO with the replica throughput taken from the goodput measured at the workload's SLO"

    def __init__(self, workload: str) -> None:
        self.workload = load_workload(workload)

    def run(self, ctx: StageContext) -> StageOutcome[CostReport]:
        load = ctx.results.get("load")
        goodput = load.get("goodput") if isinstance(load, dict) else None
        if not isinstance(load, dict) or not isinstance(goodput, int | float):
            raise InputError("the load stage measured no goodput (no SLO in the workload file, or it failed)")
        cost = ctx.results.get("cost")
        cap = cost.get("capacity") if isinstance(cost, dict) else None
        gpus = int(cap.get("gpus_per_replica", 1)) if isinstance(cap, dict) else 1
        wf = self.workload
        workload = wf.traffic_workload()
        replicas = len(getattr(ctx.require_load_client(), "urls", [])) or 1
        capacity = from_goodput(
            float(goodput), workload, replicas=replicas, gpus_per_replica=gpus, slo=load.get("slo") or {}
        )
        opts = ctx.opts
        options = CostOptions(
            gpu=opts.gpu,
            capacity=capacity,
            years=wf.horizon_years,
            apis=wf.apis,
            model_name=model_name(ctx.facts, opts.model),
        )
        rep = estimate_cost(workload, options, prices=wf.price_book())
        return StageOutcome(
            rep,
            summary=f"cheapest option: {rep.cheapest} (throughput from measured goodput {goodput:.3g} req/s)",
            facts=rep.policy_facts(),
            evidence=("tco",),
            save_as="cost_measured",
            results_key=("cost",),
        )


__all__ = ["LongContextStage", "MeasuredCostStage", "SoakStage"]
