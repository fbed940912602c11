"""Plain data the registry hands out: runs, sign-offs, waivers, final status, ledger checks, exports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["security", "ml", "legal", "business"]
ROLES: tuple[str, ...] = ("security", "ml", "legal", "business")
SignDecision = Literal["approve", "reject"]
FinalStatus = Literal["approved", "rejected", "needs_review", "pending_signoff", "expired"]

DEFAULT_REQUIRED_ROLES: tuple[str, ...] = ("security", "ml")
DEFAULT_APPROVAL_DAYS = 365


class SignOffInfo(BaseModel):
    """One reviewer's signed decision on a run, for one role."""

    id: int
    run_id: int
    role: str
    decision: SignDecision
    signer: str
    comment: str = ""
    signed_at: str
    fingerprint: str
    signature_ok: bool | None = None
    expired: bool | None = None


class WaiverInfo(BaseModel):
    """A signed waiver of one needs-review gate, valid before 00:00 UTC on ``expires``."""

    id: int
    run_id: int
    gate: str
    reason: str
    approver: str
    expires: str
    created_at: str
    fingerprint: str
    signature_ok: bool | None = None
    expired: bool | None = None


class RunInfo(BaseModel):
    """A registered approval run: the dossier (by digest), its model and the policy decision."""

    id: int
    title: str
    model_name: str
    model_digest: str
    dossier_path: str
    dossier_digest: str
    dossier_signer: str
    decision: str
    policy: str
    review_gates: list[str]
    reject_gates: list[str]
    required_roles: list[str]
    approval_days: int
    registered_by: str
    registered_at: str


class RoleState(BaseModel):
    """Where one required role stands on a run."""

    role: str
    state: Literal["approved", "rejected", "missing", "expired"]
    signer: str | None = None
    signed_at: str | None = None


class GateState(BaseModel):
    """Where one needs-review gate stands: still open, waived (by which waiver), or its waiver expired."""

    gate: str
    state: Literal["open", "waived", "waiver_expired"]
    waiver_id: int | None = None
    expires: str | None = None


class RunStatus(BaseModel):
    """The final status of a run: policy decision, waivers, required sign-offs, and what is flagged."""

    run_id: int
    status: FinalStatus
    as_of: str
    policy_decision: str
    effective_decision: str
    roles: list[RoleState]
    gates: list[GateState]
    flags: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)

    def policy_facts(self) -> dict[str, object]:
        """Flat facts for a policy: ``registry.status``, ``registry.signed_roles``, ``registry.flags``."""
        return {
            "registry.status": self.status,
            "registry.approved": self.status == "approved",
            "registry.signed_roles": sorted(r.role for r in self.roles if r.state == "approved"),
            "registry.open_gates": sorted(g.gate for g in self.gates if g.state != "waived"),
            "registry.flags": len(self.flags),
        }


class LedgerEntry(BaseModel):
    """One ledger entry as stored: sequence number, chain links, kind and canonical data."""

    seq: int
    prev_hash: str
    entry_hash: str
    kind: str
    run_id: int | None = None
    recorded_at: str
    data: dict[str, Any]


class LedgerProblem(BaseModel):
    """One thing that does not hold in the ledger or a signature, naming the entry (seq) or record."""

    seq: int | None = None
    record: str | None = None
    problem: str


class LedgerVerifyResult(BaseModel):
    """The outcome of ``verify``: ok only when the chain, every row and every signature hold."""

    registry: str
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    signatures_checked: int
    problems: list[LedgerProblem] = Field(default_factory=list)


class RunExport(BaseModel):
    """Everything an auditor needs to check one run offline: records, envelopes, keys and the ledger."""

    schema_: str = Field(default="clearance.registry-export/v1", alias="schema")
    exported_at: str
    registry: str
    run: RunInfo
    status: RunStatus
    signoffs: list[dict[str, Any]]
    waivers: list[dict[str, Any]]
    ledger: list[LedgerEntry]
    head_seq: int
    head_hash: str

    model_config = {"populate_by_name": True}
