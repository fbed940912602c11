"""Scan: every registered supply-chain check over every file; nothing is executed."""

from __future__ import annotations

from clearance.dossier.records import StageKind
from clearance.scan import ScanReport, scan_path
from clearance.stages.base import StageContext, StageOutcome


class ScanStage:
    name: str = "scan"
    kind: StageKind = "static"
    method: str = "registered scan checks over every file (nothing executed)"
    essential: bool = True

    def run(self, ctx: StageContext) -> StageOutcome[ScanReport]:
        rep = scan_path(ctx.opts.model)
        worst = rep.max_severity()
        return StageOutcome(
            rep,
            summary=f"{len(rep.findings)} findings, worst {worst.value if worst else 'none'} ({len(rep.checks)} checks)",
            facts=rep.policy_facts(),
            evidence=("scan",),
            save_as="scan",
            results_key=("scan",),
        )
