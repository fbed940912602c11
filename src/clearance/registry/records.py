"""Plain data the registry hands out: runs, sign-offs, waivers, final status, ledger checks, exports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from clearance.registry.names import (  # re-exported: the registry's modules import them from here
    ADMIN_ROLE as ADMIN_ROLE,
)
from clearance.registry.names import (
    DEFAULT_APPROVAL_DAYS as DEFAULT_APPROVAL_DAYS,
)
from clearance.registry.names import (
    DEFAULT_REQUIRED_ROLES as DEFAULT_REQUIRED_ROLES,
)
from clearance.registry.names import (
    KEY_ROLES as KEY_ROLES,
)
from clearance.registry.names import (
    MAX_APPROVAL_DAYS as MAX_APPROVAL_DAYS,
)
from clearance.registry.names import (
    ROLES as ROLES,
)
from clearance.registry.names import (
    RUN_SIGNER_ROLE as RUN_SIGNER_ROLE,
)

Role = Literal["security", "ml", "legal", "business"]
SignDecision = Literal["approve", "reject"]
FinalStatus = Literal["approved", "rejected", "needs_review", "pending_signoff", "expired"]


class Settings(BaseModel):
    """The registry's settings for new runs; each change is an admin-signed ledger entry.

    ``required_roles`` is the floor every run needs signed (never empty; ``registry add --require`` can only
    add to it); ``separation_of_duties``: the submitter and waiver authors cannot approve, and one person
    approves in one role only.
    """

    required_roles: list[str]
    approval_days: int
    separation_of_duties: bool = True


class Enrolment(BaseModel):
    """A public key bound to a person and roles by an admin, as recorded in the ledger."""

    fingerprint: str
    person: str
    roles: list[str]
    public_key: str
    enrolled_at: str
    enrolled_by: str  # the admin key's fingerprint (the key itself for the bootstrap admin)
    enrolled_by_person: str
    ledger_seq: int
    revoked_at: str | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None
    revoked_seq: int | None = None

    @property
    def active(self) -> bool:
        """Whether the key is still enrolled (not revoked)."""
        return self.revoked_seq is None


class Withdrawal(BaseModel):
    """A veto (reject sign-off) withdrawn by a key enrolled for the same role."""

    signoff_id: int
    run_id: int
    role: str
    signer: str
    comment: str
    withdrawn_at: str
    fingerprint: str
    ledger_seq: int


class Checkpoint(BaseModel):
    """The registry's signature over the chain head: the ledger had ``seq`` entries ending in ``entry_hash``."""

    seq: int
    entry_hash: str
    signed_at: str
    registry_fingerprint: str
    envelope: str


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
    counts: bool | None = None  # whether it counts toward the status (enrolled key, duties separated)
    problem: str | None = None  # why it does not count
    withdrawn: bool = False
    ledger_seq: int | None = None


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
    role: str = ""
    signature_ok: bool | None = None
    expired: bool | None = None
    counts: bool | None = None
    problem: str | None = None
    ledger_seq: int | None = None


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
    review_gates: list[str]  # failed gates whose action is review: a waiver may pass them
    reject_gates: list[str]
    required_roles: list[str]
    approval_days: int
    registered_by: str
    registered_at: str
    unmeasured_gates: list[str] = Field(
        default_factory=list
    )  # review because evidence is missing: not waivable
    signer_person: str | None = None  # the enrolled person of the dossier's signing key
    signer_trusted: bool = False  # the dossier's key is an enrolled run-signer key
    separation_of_duties: bool = True


class RoleState(BaseModel):
    """Where one required role stands on a run."""

    role: str
    state: Literal["approved", "rejected", "missing", "expired"]
    signer: str | None = None
    signed_at: str | None = None


class GateState(BaseModel):
    """Where one needs-review gate stands: still open, waived (by which waiver), or its waiver expired."""

    gate: str
    state: Literal["open", "waived", "waiver_expired", "unmeasured"]
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
    checkpoint: Checkpoint | None = None
    registry_fingerprint: str | None = None


class RunExport(BaseModel):
    """Everything an auditor needs to check one run offline: records, envelopes, keys and the ledger."""

    schema_: str = Field(default="clearance.registry-export/v2", alias="schema")
    exported_at: str
    registry: str
    run: RunInfo
    status: RunStatus
    signoffs: list[dict[str, Any]]
    waivers: list[dict[str, Any]]
    ledger: list[LedgerEntry]
    head_seq: int
    head_hash: str
    checkpoint: Checkpoint | None = None

    model_config = {"populate_by_name": True}
