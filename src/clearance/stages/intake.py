"""Intake: the artifact's files, their sha256, config or GGUF metadata, card and license."""

from __future__ import annotations

from pathlib import Path

from clearance.dossier import ModelRef
from clearance.dossier.records import StageKind
from clearance.model import ModelArtifact, intake
from clearance.stages.base import StageContext, StageOutcome


class IntakeStage:
    name: str = "intake"
    kind: StageKind = "static"
    method: str = "file list, sha256 of every file, config/GGUF metadata, card, license"
    essential: bool = True

    def run(self, ctx: StageContext) -> StageOutcome[ModelArtifact]:
        art = intake(ctx.opts.model, hash=True)
        ctx.provenance.model = ModelRef(
            name=art.name,
            source=str(Path(ctx.opts.model).resolve()),
            kind=art.kind,
            digest=art.manifest_digest,
            digest_method="sha256 manifest digest over every file (clearance.model.manifest)",
            files=len(art.files),
            total_bytes=art.total_bytes,
        )
        lic = art.license.id or "unknown"
        return StageOutcome(
            art,
            summary=f"{art.kind}: {len(art.files)} files, {art.total_bytes / 2**20:.1f} MiB, license {lic}",
            facts=art.policy_facts(),
            evidence=("model", "license"),
            save_as="model",
            results_key=("model",),
        )
