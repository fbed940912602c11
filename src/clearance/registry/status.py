"""The final status of a run: policy decision + waivers + required sign-offs, as of a given time.

Rules (all in one place):
- a ``reject`` gate cannot be waived; a policy ``rejected`` stays rejected; a gate that went to review
  because its evidence is missing (unmeasured) cannot be waived either: measure it and register again;
- a run whose dossier was not signed by an enrolled run-signer key is untrusted and never approved;
- a waivable ``review`` gate passes while a counting waiver has not expired (expiry at 00:00 UTC of its
  date); an expired waiver is flagged and the gate is open again;
- a sign-off or waiver counts only when its signature verifies and its key was enrolled for its role
  when it signed; with separation of duties, the submitter (the person of the dossier's signing key) and
  the authors of waivers cannot approve, a person approves in one role only, and the submitter cannot waive;
- a ``reject`` (veto) by a counting key rejects until a key enrolled for the same role withdraws it;
- each required role needs a counting approval younger than the run's approval validity (days); an
  older one is flagged expired;
- when the ledger itself does not verify (chain, checkpoint, signatures of enrolments), nothing is
  approved: the problems are flagged and the status is at best ``needs_review``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Literal, TypeVar

from clearance.registry.records import (
    MAX_APPROVAL_DAYS,
    FinalStatus,
    GateState,
    RoleState,
    RunInfo,
    RunStatus,
    SignOffInfo,
    WaiverInfo,
    Withdrawal,
)
from clearance.registry.state import RecordedSignOff, RecordedWaiver, parse_time

__all__ = ["compute_status", "judge_records", "parse_time", "waiver_expired"]


_Info = TypeVar("_Info", SignOffInfo, WaiverInfo)


def waiver_expired(w: WaiverInfo, as_of: datetime) -> bool:
    """Whether the waiver has expired at ``as_of`` (it expires at 00:00 UTC on its date)."""
    end = datetime.combine(date.fromisoformat(w.expires), datetime.min.time(), tzinfo=UTC)
    return as_of >= end


def judge_records(
    run: RunInfo,
    signoffs: Sequence[RecordedSignOff],
    waivers: Sequence[RecordedWaiver],
    withdrawals: Mapping[int, Withdrawal],
) -> tuple[list[SignOffInfo], list[WaiverInfo]]:
    """Decide which sign-offs and waivers count: enrolment (already judged) plus separation of duties."""
    sod = run.separation_of_duties
    out_w: list[WaiverInfo] = []
    authors: dict[str, str] = {}
    for rw in waivers:
        problem = rw.problem
        if problem is None and sod and rw.person is not None and rw.person == run.signer_person:
            problem = f"{rw.person} submitted this run (signed its dossier) and cannot waive its gates"
        if problem is None and rw.person is not None:
            authors.setdefault(rw.person, rw.info.gate)
        out_w.append(_judged(rw.info, counts=problem is None, problem=problem))
    out_s: list[SignOffInfo] = []
    approved_as: dict[str, str] = {}
    for rs in sorted(signoffs, key=lambda r: r.info.id):
        problem = rs.problem
        person = rs.person
        if problem is None and sod and rs.info.decision == "approve" and person is not None:
            if person == run.signer_person:
                problem = f"{person} submitted this run (signed its dossier) and cannot approve it"
            elif person in authors:
                problem = f"{person} waived gate {authors[person]} of this run and cannot approve it"
            elif approved_as.get(person, rs.info.role) != rs.info.role:
                problem = f"{person} already approved this run as {approved_as[person]}"
        if problem is None and rs.info.decision == "approve" and person is not None:
            approved_as.setdefault(person, rs.info.role)
        out_s.append(
            _judged(rs.info, counts=problem is None, problem=problem, withdrawn=rs.info.id in withdrawals)
        )
    return out_s, out_w


def _judged(info: _Info, **judgement: object) -> _Info:
    """``info`` with the judgement's fields; the same object when they hold already (the records folded
    from the ledger are shared between reads: they are copied, never edited)."""
    if all(getattr(info, k) == v for k, v in judgement.items()):
        return info
    return info.model_copy(update=judgement)


def _counts(x: SignOffInfo | WaiverInfo) -> bool:
    return x.counts if x.counts is not None else x.signature_ok is not False


def compute_status(
    run: RunInfo,
    signoffs: list[SignOffInfo],
    waivers: list[WaiverInfo],
    as_of: datetime,
    *,
    integrity: Sequence[str] = (),
) -> RunStatus:
    """Combine decision, waivers and sign-offs into the run's final status with reasons and flags.

    ``signoffs``/``waivers`` carry ``counts`` (see ``judge_records``); ``integrity`` lists ledger problems,
    any of which keeps the run from being approved.
    """
    flags: list[str] = [f"ledger does not verify: {p}" for p in integrity]
    reasons: list[str] = []
    for i, w in enumerate(waivers):
        waivers[i] = w = _judged(w, expired=waiver_expired(w, as_of))
        if not _counts(w):
            why = w.problem or "its signature is invalid"
            flags.append(f"waiver {w.id} (gate {w.gate}) does not count: {why}")
    gates: list[GateState] = []
    for gate in run.review_gates:
        mine = [w for w in waivers if w.gate == gate and _counts(w)]
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
    gates += [GateState(gate=g, state="unmeasured") for g in run.unmeasured_gates]
    open_gates = [g.gate for g in gates if g.state != "waived"]

    if run.decision == "rejected" or run.reject_gates:
        effective = "rejected"
        reasons.append(
            "the policy rejected the run"
            + (f" (gates: {', '.join(run.reject_gates)})" if run.reject_gates else "")
        )
    elif open_gates:
        effective = "needs_review"
        if run.unmeasured_gates:
            reasons.append(
                f"evidence missing (not waivable; measure and register again): {', '.join(run.unmeasured_gates)}"
            )
        waivable = [g for g in open_gates if g not in run.unmeasured_gates]
        if waivable:
            reasons.append(f"gates still need review or a waiver: {', '.join(waivable)}")
    else:
        effective = "approved"

    valid_for = timedelta(days=max(0, min(run.approval_days, MAX_APPROVAL_DAYS)))
    by_role: dict[str, list[SignOffInfo]] = {}
    signoffs[:] = [
        _judged(so, expired=so.decision == "approve" and as_of - parse_time(so.signed_at) > valid_for)
        for so in signoffs
    ]
    for so in sorted(signoffs, key=lambda x: x.id):
        if not _counts(so):
            flags.append(
                f"sign-off {so.id} ({so.role}, {so.signer}) does not count: "
                f"{so.problem or 'its signature is invalid'}"
            )
            continue
        by_role.setdefault(so.role, []).append(so)
    roles: list[RoleState] = []
    role_names = list(run.required_roles) + sorted(r for r in by_role if r not in run.required_roles)
    for role in role_names:
        held = by_role.get(role, [])
        vetoes = [s for s in held if s.decision == "reject" and not s.withdrawn]
        latest: dict[str, SignOffInfo] = {}
        for s in held:
            latest[s.signer] = s
        approvals = [s for s in latest.values() if s.decision == "approve"]
        fresh = [s for s in approvals if not s.expired]
        state: Literal["approved", "rejected", "missing", "expired"]
        if vetoes:
            s, state = vetoes[-1], "rejected"
            reasons.append(
                f"{role} ({s.signer}) rejected on {s.signed_at}"
                + (f": {s.comment}" if s.comment else "")
                + " (a veto stands until a key of the same role withdraws it)"
            )
        elif fresh:
            s, state = fresh[-1], "approved"
        elif approvals:
            s, state = approvals[-1], "expired"
            flags.append(
                f"approval by {s.signer} ({role}) of {s.signed_at[:10]} expired after "
                f"{run.approval_days} days: re-review needed"
            )
        else:
            roles.append(RoleState(role=role, state="missing"))
            continue
        roles.append(RoleState(role=role, state=state, signer=s.signer, signed_at=s.signed_at))

    required = {r.role: r.state for r in roles if r.role in run.required_roles}
    status: FinalStatus
    if effective == "rejected" or any(r.state == "rejected" for r in roles):
        status = "rejected"
    elif effective == "needs_review":
        status = "needs_review"
    elif not run.signer_trusted:
        status = "needs_review"
        reasons.append(
            "the dossier's signing key is not an enrolled run-signer of this registry (untrusted run): "
            "it can never be approved; re-seal with an enrolled key and register again"
        )
    elif integrity:
        status = "needs_review"
        reasons.append(
            "the registry's ledger does not verify (clearance registry verify): nothing is approved"
        )
    elif not run.required_roles:
        status = "needs_review"
        reasons.append("the run names no required role: nothing is approved without a sign-off")
    elif any(v == "expired" for v in required.values()):
        status = "expired"
        reasons.append("an approval of a required role has expired")
    elif any(v == "missing" for v in required.values()):
        status = "pending_signoff"
        missing = [k for k, v in required.items() if v == "missing"]
        reasons.append(f"awaiting sign-off by: {', '.join(missing)}")
    else:
        status = "approved"
        reasons.append(f"policy passed and {', '.join(run.required_roles)} signed off")
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
