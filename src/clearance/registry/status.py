"""The final status of a run: policy decision + waivers + required sign-offs, as of a given time.

Rules (all in one place):
- a ``reject`` gate cannot be waived; a policy ``rejected`` stays rejected;
- a ``review`` gate passes while a waiver with a valid signature has not expired (expiry at 00:00 UTC of
  its date); an expired waiver is flagged and the gate is open again;
- each required role needs its latest validly signed sign-off to be ``approve`` and younger than the
  run's approval validity (days); a ``reject`` by any role rejects; an older approval is flagged expired;
- sign-offs or waivers whose signature does not verify never count, and are flagged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from clearance.registry.records import (
    FinalStatus,
    GateState,
    RoleState,
    RunInfo,
    RunStatus,
    SignOffInfo,
    WaiverInfo,
)


def parse_time(text: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime (naive input is taken as UTC)."""
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def waiver_expired(w: WaiverInfo, as_of: datetime) -> bool:
    """Whether the waiver has expired at ``as_of`` (it expires at 00:00 UTC on its date)."""
    end = datetime.combine(date.fromisoformat(w.expires), datetime.min.time(), tzinfo=UTC)
    return as_of >= end


def compute_status(
    run: RunInfo, signoffs: list[SignOffInfo], waivers: list[WaiverInfo], as_of: datetime
) -> RunStatus:
    """Combine decision, waivers and sign-offs into the run's final status with reasons and flags."""
    flags: list[str] = []
    reasons: list[str] = []
    for w in waivers:
        w.expired = waiver_expired(w, as_of)
        if w.signature_ok is False:
            flags.append(f"waiver {w.id} (gate {w.gate}) has an invalid signature and is ignored")
    gates: list[GateState] = []
    for gate in run.review_gates:
        mine = [w for w in waivers if w.gate == gate and w.signature_ok is not False]
        live = [w for w in mine if not w.expired]
        if live:
            best = max(live, key=lambda w: w.expires)
            gates.append(GateState(gate=gate, state="waived", waiver_id=best.id, expires=best.expires))
        elif mine:
            last = max(mine, key=lambda w: w.expires)
            gates.append(
                GateState(gate=gate, state="waiver_expired", waiver_id=last.id, expires=last.expires)
            )
            flags.append(f"waiver {last.id} for gate {gate} expired on {last.expires}")
        else:
            gates.append(GateState(gate=gate, state="open"))
    open_gates = [g.gate for g in gates if g.state != "waived"]

    if run.decision == "rejected" or run.reject_gates:
        effective = "rejected"
        reasons.append(
            "the policy rejected the run"
            + (f" (gates: {', '.join(run.reject_gates)})" if run.reject_gates else "")
        )
    elif open_gates:
        effective = "needs_review"
        reasons.append(f"gates still need review or a waiver: {', '.join(open_gates)}")
    else:
        effective = "approved"

    valid_for = timedelta(days=run.approval_days)
    latest: dict[str, SignOffInfo] = {}
    for so in sorted(signoffs, key=lambda x: x.id):
        so.expired = so.decision == "approve" and as_of - parse_time(so.signed_at) > valid_for
        if so.signature_ok is False:
            flags.append(f"sign-off {so.id} ({so.role}, {so.signer}) has an invalid signature and is ignored")
            continue
        latest[so.role] = so
    roles: list[RoleState] = []
    role_names = list(run.required_roles) + sorted(r for r in latest if r not in run.required_roles)
    for role in role_names:
        s = latest.get(role)
        if s is None:
            roles.append(RoleState(role=role, state="missing"))
            continue
        state: Literal["approved", "rejected", "expired"] = (
            "rejected" if s.decision == "reject" else ("expired" if s.expired else "approved")
        )
        roles.append(RoleState(role=role, state=state, signer=s.signer, signed_at=s.signed_at))
        if state == "rejected":
            reasons.append(
                f"{role} ({s.signer}) rejected on {s.signed_at}" + (f": {s.comment}" if s.comment else "")
            )
        if state == "expired":
            flags.append(
                f"approval by {s.signer} ({role}) of {s.signed_at[:10]} expired after "
                f"{run.approval_days} days: re-review needed"
            )

    required = {r.role: r.state for r in roles if r.role in run.required_roles}
    status: FinalStatus
    if effective == "rejected" or any(r.state == "rejected" for r in roles):
        status = "rejected"
    elif effective == "needs_review":
        status = "needs_review"
    elif any(v == "expired" for v in required.values()):
        status = "expired"
        reasons.append("an approval of a required role has expired")
    elif any(v == "missing" for v in required.values()):
        status = "pending_signoff"
        missing = [k for k, v in required.items() if v == "missing"]
        reasons.append(f"awaiting sign-off by: {', '.join(missing)}")
    else:
        status = "approved"
        reasons.append(f"policy passed and {', '.join(run.required_roles) or 'no role'} signed off")
    return RunStatus(
        run_id=run.id,
        status=status,
        as_of=as_of.replace(microsecond=0).isoformat(),
        policy_decision=run.decision,
        effective_decision=effective,
        roles=roles,
        gates=gates,
        flags=flags,
        reasons=reasons,
    )
