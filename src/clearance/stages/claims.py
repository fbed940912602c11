"""Claims: the scores the model card (``model-index``) or a ``--claims`` file states, against the measured ones."""

from __future__ import annotations

from typing import Any

from clearance.dossier.records import StageKind
from clearance.evals.claims import ClaimsReport, check_claims, claims_from_card, read_claims
from clearance.stages.base import StageContext, StageOutcome


class ClaimsStage:
    name: str = "claims"
    kind: StageKind = "measured"
    method: str = "claimed scores against the measured 95% intervals ± tolerance"
    essential: bool = False

    def run(self, ctx: StageContext) -> StageOutcome[ClaimsReport]:
        card: Any = (ctx.results.get("model") or {}).get("card") or {}
        stated = read_claims(ctx.opts.claims) if ctx.opts.claims else []
        stated += claims_from_card(card.get("data") if isinstance(card, dict) else None)
        if not stated:
            return StageOutcome(
                ClaimsReport(),
                summary="no claimed scores (no model-index in the card, no --claims)",
                status="skipped",
            )
        rep = check_claims(stated, dict(ctx.facts))
        f = rep.policy_facts()
        summary = (
            f"{f['claims.n_checked']} of {f['claims.n']} claims checked, {f['claims.n_not_reproduced']} not "
            "reproduced" + "".join(f"; {r.reason}" for r in rep.results if r.verdict == "not_reproduced")
        )
        return StageOutcome(
            rep, summary=summary, facts=f, evidence=("claims",), save_as="claims", results_key=("claims",)
        )
