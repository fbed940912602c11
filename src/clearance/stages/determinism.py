"""Determinism: identical greedy requests repeated; the share of identical answers."""

from __future__ import annotations

from clearance.dossier.records import StageKind
from clearance.load import DeterminismResult, probe_determinism
from clearance.stages.base import StageContext, StageOutcome, short_facts


class DeterminismStage:
    name: str = "determinism"
    kind: StageKind = "measured"
    method: str = "identical greedy requests repeated, answers compared"
    essential: bool = False

    def run(self, ctx: StageContext) -> StageOutcome[DeterminismResult]:
        opts = ctx.opts
        res = ctx.wait(
            probe_determinism(
                ctx.require_load_client(),
                repeats=opts.determinism_repeats,
                max_tokens=opts.determinism_max_tokens,
                concurrency=opts.load_concurrency,
            )
        )
        facts = res.policy_facts()
        return StageOutcome(
            res,
            summary=short_facts(facts, ("determinism",)),
            facts=facts,
            evidence=("load.determinism",),
            save_as="determinism",
            results_key=("determinism",),
        )
