"""Baseline: paired tests of this run's samples against an earlier dossier (``--baseline``)."""

from __future__ import annotations

from clearance.compare.baseline import baseline_comparison, baseline_facts, resolve_baseline
from clearance.compare.differences import Comparison
from clearance.dossier.records import StageKind
from clearance.stages.base import StageContext, StageOutcome
from clearance.stages.cost import model_name


class BaselineStage:
    name: str = "baseline"
    kind: StageKind = "measured"
    method: str = "paired tests on the samples shared with the baseline dossier (McNemar exact, Holm)"
    essential: bool = False

    def __init__(self, baseline: str) -> None:
        self.baseline = baseline

    def run(self, ctx: StageContext) -> StageOutcome[Comparison]:
        base = resolve_baseline(self.baseline, model_name(ctx.facts, ctx.opts.model))
        digest = ctx.provenance.model.digest if ctx.provenance.model else None
        evals = ctx.results.get("evals")
        comp = baseline_comparison(
            base,
            ctx.run.path,
            evals if isinstance(evals, dict) else {},
            model_digest=digest,
            policy_gates=[g.model_dump(mode="json") for g in ctx.policy.gates],
        )
        return StageOutcome(
            comp,
            summary=(
                f"{len(comp.regressions)} significant regression(s), {len(comp.differences)} metrics paired, "
                f"{len(comp.incomparable)} suite(s) incomparable"
            ),
            facts=baseline_facts(comp, base, digest),
            evidence=("baseline",),
            save_as="baseline",
            results_key=("baseline",),
        )
