"""``clearance diff BASELINE CANDIDATE``: regressions first, flipped samples, and every change of evidence.

Exit status contract: 0 when nothing regressed significantly, 1 when something did, 2 on error (also
when no suite could be compared at all: a gate that compared nothing must not pass a pipeline).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from clearance.compare.differences import Comparison, compare_runs
from clearance.compare.evidence import RunEvidence, read_dossier
from clearance.errors import InputError


class Change(BaseModel):
    """Something that differs between the two dossiers besides the scores."""

    what: str
    baseline: str | None
    candidate: str | None


class DiffReport(BaseModel):
    """The outcome of ``diff_dossiers``."""

    baseline: str
    candidate: str
    baseline_status: str
    candidate_status: str
    comparison: Comparison
    changes: list[Change] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def regressed(self) -> bool:
        """Whether any metric got significantly worse."""
        return bool(self.comparison.regressions)

    @property
    def exit_code(self) -> int:
        """0 no significant regression, 1 a significant regression."""
        return 1 if self.regressed else 0

    def to_json(self) -> dict[str, object]:
        """The report for ``--json``: regressions first, then everything else."""
        c = self.comparison
        return {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "status": {"baseline": self.baseline_status, "candidate": self.candidate_status},
            "regressed": self.regressed,
            "regressions": [d.model_dump(mode="json") for d in c.regressions],
            "improvements": [d.model_dump(mode="json") for d in c.improvements],
            "differences": [d.model_dump(mode="json") for d in c.differences],
            "flipped": [f.model_dump(mode="json") for f in c.flips],
            "incomparable": [i.model_dump(mode="json") for i in c.incomparable],
            "only_in_baseline": c.only_in_baseline,
            "only_in_candidate": c.only_in_candidate,
            "changes": [x.model_dump(mode="json") for x in self.changes],
            "warnings": self.warnings,
            "alpha": c.alpha,
            "correction": c.correction,
        }


def diff_dossiers(baseline: str | Path, candidate: str | Path) -> DiffReport:
    """Compare two sealed dossiers; ``InputError`` when either is not one or nothing is comparable."""
    a = read_dossier(baseline)
    b = read_dossier(candidate)
    gates = [g for g in b.decision.get("gates") or [] if isinstance(g, dict)]
    comp = compare_runs(a, b, policy_gates=gates)
    if not comp.differences:
        why = (
            "; ".join(f"{i.suite}: {', '.join(i.reasons)}" for i in comp.incomparable) or "no suite in common"
        )
        raise InputError(f"diff: nothing to compare between {a.path} and {b.path} ({why})")
    report = DiffReport(
        baseline=str(a.path),
        candidate=str(b.path),
        baseline_status=a.status,
        candidate_status=b.status,
        comparison=comp,
        changes=changes(a, b),
    )
    for run, label in ((a, "baseline"), (b, "candidate")):
        if not run.verified:
            report.warnings.append(
                f"{label} dossier does not verify ({'; '.join(run.verify_problems) or 'signature or digest'})"
            )
    return report


def changes(a: RunEvidence, b: RunEvidence) -> list[Change]:
    """Artifact digest, served model, policy, datasets and settings that differ."""
    out: list[Change] = []

    def flag(what: str, x: object, y: object) -> None:
        if x != y:
            out.append(
                Change(
                    what=what, baseline=None if x is None else str(x), candidate=None if y is None else str(y)
                )
            )

    flag("model artifact digest", a.model_digest, b.model_digest)
    flag("model name", a.model_name, b.model_name)
    flag("served model", a.served_model, b.served_model)
    flag("policy", _policy(a), _policy(b))
    for name in sorted(set(a.suites) | set(b.suites)):
        sa, sb = a.suites.get(name), b.suites.get(name)
        if sa is None or sb is None:
            flag(f"suite {name}", "run" if sa else None, "run" if sb else None)
            continue
        flag(f"dataset {name} (sha256)", sa.dataset_sha256, sb.dataset_sha256)
        for k in sorted(set(sa.generation) | set(sb.generation)):
            flag(f"setting {name}.{k}", sa.generation.get(k), sb.generation.get(k))
        if sa.config_digest != sb.config_digest and sa.generation == sb.generation:
            flag(
                f"suite {name} config digest (prompts, scorers or metrics)",
                sa.config_digest,
                sb.config_digest,
            )
        flag(f"samples scored {name}", len(sa.scores), len(sb.scores))
    return out


def _policy(r: RunEvidence) -> str | None:
    if r.policy_name is None:
        return None
    return f"{r.policy_name} ({(r.policy_sha256 or '')[:12]})"
