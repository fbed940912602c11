"""The registry's state folded from its ledger: the ledger is the truth, the tables only mirror it.

``fold(entries, as_of=...)`` walks the (already chain-checked) entries in order and rebuilds the settings,
key enrolments, runs, sign-offs, waivers and veto withdrawals as they stood at ``as_of``. Every signed
entry is checked on the way: an enrolment, revocation or settings change counts only when an admin
enrolled at that point signed it (the bootstrap admin signs its own enrolment, once, right after
``registry.init``); a sign-off or waiver records whether its key was enrolled for its role at that point.
What does not hold becomes a ``LedgerProblem`` and is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from clearance.registry.records import (
    ADMIN_ROLE,
    KEY_ROLES,
    MAX_APPROVAL_DAYS,
    ROLES,
    RUN_SIGNER_ROLE,
    Enrolment,
    LedgerEntry,
    LedgerProblem,
    RunInfo,
    Settings,
    SignOffInfo,
    WaiverInfo,
    Withdrawal,
)
from clearance.registry.signatures import (
    CONFIG_TYPE,
    ENROL_TYPE,
    REVOKE_TYPE,
    SIGNOFF_TYPE,
    WAIVER_TYPE,
    WITHDRAW_TYPE,
    check_statement,
    config_statement,
    enrol_statement,
    revoke_statement,
    signoff_statement,
    waiver_statement,
    withdraw_statement,
)


def parse_time(text: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime (naive input is taken as UTC)."""
    from datetime import UTC

    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def check_settings(values: dict[str, Any]) -> Settings:
    """Validate settings: a non-empty floor of known review roles, approval days in range."""
    roles = values.get("required_roles")
    if not isinstance(roles, list) or not roles:
        raise ValueError("required roles cannot be empty: at least one review role must sign every run")
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise ValueError(f"unknown role {bad[0]!r}; use one of {', '.join(ROLES)}")
    days = values.get("approval_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_APPROVAL_DAYS:
        raise ValueError(f"approval validity must be 1..{MAX_APPROVAL_DAYS} days, got {days!r}")
    sod = values.get("separation_of_duties", True)
    if not isinstance(sod, bool):
        raise ValueError("separation_of_duties must be true or false")
    return Settings(required_roles=list(dict.fromkeys(roles)), approval_days=days, separation_of_duties=sod)


@dataclass
class RecordedSignOff:
    """A sign-off as folded from the ledger, with its signature and enrolment judged at its entry."""

    info: SignOffInfo
    person: str | None  # the enrolled person of its key at that point, None when not enrolled
    problem: str | None  # signature or enrolment problem (then it never counts)


@dataclass
class RecordedWaiver:
    """A waiver as folded from the ledger, judged like a sign-off."""

    info: WaiverInfo
    person: str | None
    problem: str | None


@dataclass
class LedgerState:
    """Everything the ledger says, up to ``as_of``; ``problems`` lists what did not hold on the way."""

    registry_fingerprint: str | None = None
    registry_public_key: str | None = None
    settings: Settings | None = None
    enrolments: dict[str, Enrolment] = field(default_factory=dict)
    runs: dict[int, RunInfo] = field(default_factory=dict)
    signoffs: dict[int, list[RecordedSignOff]] = field(default_factory=dict)
    waivers: dict[int, list[RecordedWaiver]] = field(default_factory=dict)
    withdrawals: dict[int, Withdrawal] = field(default_factory=dict)
    problems: list[LedgerProblem] = field(default_factory=list)
    signatures_checked: int = 0
    last_recorded_at: str | None = None
    # signature results by entry hash (which commits to the entry and everything before it), so a
    # long-lived reader (the web app) verifies each signature once
    verified: dict[str, str | None] = field(default_factory=dict)
    # the hash of every folded entry (hashes[seq - 1]); and what each entry changed, so a reader holding
    # statuses from an earlier head recomputes only the runs written since: the latest entry seq per run,
    # and the latest entry that concerns every run (an enrolment, revocation or settings change)
    hashes: list[str] = field(default_factory=list)
    touched: dict[int, int] = field(default_factory=dict)
    global_seq: int = 0

    @property
    def entries(self) -> int:
        """How many entries were folded."""
        return len(self.hashes)

    @property
    def current(self) -> str:
        """The hash of the last folded entry ("" before any): it commits to the whole prefix."""
        return self.hashes[-1] if self.hashes else ""

    def copy(self) -> LedgerState:
        """A copy that more entries can be folded into without changing this state (the records inside
        are shared: folding replaces them, never edits them; the signature cache is shared on purpose)."""
        return replace(
            self,
            enrolments=dict(self.enrolments),
            runs=dict(self.runs),
            signoffs={k: list(v) for k, v in self.signoffs.items()},
            waivers={k: list(v) for k, v in self.waivers.items()},
            withdrawals=dict(self.withdrawals),
            problems=list(self.problems),
            hashes=list(self.hashes),
            touched=dict(self.touched),
        )

    def runs_written_since(self, seq: int, entry_hash: str) -> set[int] | None:
        """The runs that entries after ``seq`` wrote to, when this state's chain passes through
        ``(seq, entry_hash)``; None when it does not, or when a later entry concerns every run."""
        if not 0 < seq <= len(self.hashes) or self.hashes[seq - 1] != entry_hash or self.global_seq > seq:
            return None
        return {run_id for run_id, last in self.touched.items() if last > seq}

    def enrolment_at(self, fingerprint: str) -> Enrolment | None:
        """The active enrolment of a key at the current point of the fold (None if absent or revoked)."""
        e = self.enrolments.get(fingerprint)
        return e if e is not None and e.active else None

    def admins(self) -> list[Enrolment]:
        """Active admin enrolments."""
        return [e for e in self.enrolments.values() if e.active and ADMIN_ROLE in e.roles]

    def run_signers(self) -> list[Enrolment]:
        """Active run-signer enrolments: the keys whose dossiers this registry trusts."""
        return [e for e in self.enrolments.values() if e.active and RUN_SIGNER_ROLE in e.roles]


def _check(state: LedgerState, payload_type: str, *args: Any) -> str | None:
    key = f"{state.current}|{payload_type}"
    if key not in state.verified:
        state.verified[key] = check_statement(payload_type, *args)
    return state.verified[key]


def _admin_problem(
    state: LedgerState, by: str, payload_type: str, env: str, expected: dict[str, Any]
) -> str | None:
    admin = state.enrolment_at(by)
    if admin is None or ADMIN_ROLE not in admin.roles:
        return f"signed by key {by[:16]}…, which is not an enrolled admin at that point"
    state.signatures_checked += 1
    return _check(state, payload_type, env, admin.public_key, admin.fingerprint, expected)


def _fold_enrol(state: LedgerState, e: LedgerEntry) -> None:
    d = e.data
    fp, by = str(d.get("fingerprint")), str(d.get("enrolled_by"))
    expected = enrol_statement({**d, "registry": state.registry_fingerprint})
    roles = d.get("roles")
    if not isinstance(roles, list) or not roles or any(r not in KEY_ROLES for r in roles):
        problem: str | None = f"enrolment has unknown or no roles: {roles!r}"
    elif fp in state.enrolments:
        problem = f"key {fp[:16]}… is enrolled already (entry {state.enrolments[fp].ledger_seq})"
    elif by == fp:  # the bootstrap admin: self-signed, only while the registry has no admin
        if state.enrolments or ADMIN_ROLE not in roles:
            problem = "a self-signed enrolment is valid only for the first admin of a new registry"
        else:
            state.signatures_checked += 1
            problem = _check(
                state, ENROL_TYPE, str(d.get("envelope")), str(d.get("public_key")), fp, expected
            )
    else:
        problem = _admin_problem(state, by, ENROL_TYPE, str(d.get("envelope")), expected)
    if problem:
        state.problems.append(LedgerProblem(seq=e.seq, record=f"enrolment of {fp[:16]}…", problem=problem))
        return
    admin = state.enrolments.get(by)
    state.enrolments[fp] = Enrolment(
        fingerprint=fp,
        person=str(d["person"]),
        roles=[str(r) for r in roles or []],
        public_key=str(d["public_key"]),
        enrolled_at=str(d["enrolled_at"]),
        enrolled_by=by,
        enrolled_by_person=admin.person if admin else str(d["person"]),
        ledger_seq=e.seq,
    )


def _fold_revoke(state: LedgerState, e: LedgerEntry) -> None:
    d = e.data
    fp, by = str(d.get("fingerprint")), str(d.get("revoked_by"))
    expected = revoke_statement({**d, "registry": state.registry_fingerprint})
    target = state.enrolment_at(fp)
    problem = (
        f"revokes key {fp[:16]}…, which is not enrolled"
        if target is None
        else _admin_problem(state, by, REVOKE_TYPE, str(d.get("envelope")), expected)
    )
    if problem or target is None:
        state.problems.append(
            LedgerProblem(seq=e.seq, record=f"revocation of {fp[:16]}…", problem=str(problem))
        )
        return
    state.enrolments[fp] = target.model_copy(
        update={
            "revoked_at": str(d["revoked_at"]),
            "revoked_by": by,
            "revoke_reason": str(d.get("reason", "")),
            "revoked_seq": e.seq,
        }
    )


def _fold_config(state: LedgerState, e: LedgerEntry) -> None:
    d = e.data
    by = str(d.get("by"))
    expected = config_statement({**d, "registry": state.registry_fingerprint})
    problem = _admin_problem(state, by, CONFIG_TYPE, str(d.get("envelope")), expected)
    changes = d.get("changes")
    if problem is None:
        try:
            base = state.settings.model_dump() if state.settings else {}
            state.settings = check_settings({**base, **(changes if isinstance(changes, dict) else {})})
            return
        except ValueError as exc:
            problem = str(exc)
    state.problems.append(LedgerProblem(seq=e.seq, record="settings", problem=problem))


def _enrolled_for_role(
    state: LedgerState, d: dict[str, Any], problem: str | None
) -> tuple[Enrolment | None, str | None]:
    """The enrolment of the key that signed ``d`` when it signed, and the first problem: ``problem`` (the
    signature's) if any, else a key not enrolled then, or not for ``d["role"]``."""
    enr = state.enrolment_at(str(d.get("fingerprint")))
    if problem is None:
        if enr is None:
            problem = f"key {str(d.get('fingerprint'))[:16]}… was not enrolled when it signed"
        elif d.get("role") not in enr.roles or d.get("role") not in ROLES:
            problem = f"key of {enr.person} was not enrolled for role {d.get('role')} when it signed"
    return enr, problem


def _signed_for_run(
    state: LedgerState, e: LedgerEntry, what: str, payload_type: str, statement: Callable[[RunInfo], Any]
) -> tuple[RunInfo, bool, Enrolment | None, str | None] | None:
    """The run a signed record (sign-off, waiver) is for, whether its signature over ``statement(run)``
    holds, its key's enrolment then and the first problem; None (and a problem) when the run is unknown."""
    d = e.data
    run = state.runs.get(int(d.get("run_id") or 0))
    if run is None:
        state.problems.append(LedgerProblem(seq=e.seq, problem=f"{what} of a run that is not registered"))
        return None
    state.signatures_checked += 1
    problem = _check(
        state,
        payload_type,
        str(d.get("envelope")),
        str(d.get("public_key")),
        str(d.get("fingerprint")),
        statement(run),
    )
    enr, first = _enrolled_for_role(state, d, problem)
    return run, problem is None, enr, first


def _fold_signoff(state: LedgerState, e: LedgerEntry) -> None:
    d = e.data
    signed = _signed_for_run(
        state,
        e,
        "sign-off",
        SIGNOFF_TYPE,
        lambda run: signoff_statement(
            {**d, "dossier_digest": run.dossier_digest, "model_digest": run.model_digest, "run_id": run.id}
        ),
    )
    if signed is None:
        return
    run, sig_ok, enr, problem = signed
    person = enr.person if enr else None
    if problem is None and enr is not None and d.get("signer") != enr.person:
        problem = f"names signer {d.get('signer')!r} but its key is enrolled to {enr.person!r}"
    info = SignOffInfo(
        id=int(d["id"]),
        run_id=run.id,
        role=str(d["role"]),
        decision=d["decision"],
        signer=str(d["signer"]),
        comment=str(d.get("comment", "")),
        signed_at=str(d["signed_at"]),
        fingerprint=str(d["fingerprint"]),
        signature_ok=sig_ok,
        problem=problem,
        counts=problem is None,
        ledger_seq=e.seq,
    )
    state.signoffs.setdefault(run.id, []).append(RecordedSignOff(info, person, problem))
    if problem:  # the write path refuses all of these: in the ledger they mean it was written around it
        state.problems.append(LedgerProblem(seq=e.seq, record=f"sign-off {info.id}", problem=problem))


def _fold_waiver(state: LedgerState, e: LedgerEntry) -> None:
    d = e.data
    signed = _signed_for_run(
        state,
        e,
        "waiver",
        WAIVER_TYPE,
        lambda run: waiver_statement({**d, "dossier_digest": run.dossier_digest, "run_id": run.id}),
    )
    if signed is None:
        return
    run, sig_ok, enr, problem = signed
    person = enr.person if enr else None
    if problem is None and d.get("gate") not in run.review_gates:
        problem = f"gate {d.get('gate')} is not waivable in run {run.id}"
    info = WaiverInfo(
        id=int(d["id"]),
        run_id=run.id,
        gate=str(d["gate"]),
        role=str(d.get("role", "")),
        reason=str(d["reason"]),
        approver=str(d["approver"]),
        expires=str(d["expires"]),
        created_at=str(d["created_at"]),
        fingerprint=str(d["fingerprint"]),
        signature_ok=sig_ok,
        problem=problem,
        counts=problem is None,
        ledger_seq=e.seq,
    )
    state.waivers.setdefault(run.id, []).append(RecordedWaiver(info, person, problem))
    if problem:
        state.problems.append(LedgerProblem(seq=e.seq, record=f"waiver {info.id}", problem=problem))


def _fold_withdraw(state: LedgerState, e: LedgerEntry) -> None:
    d = e.data
    run = state.runs.get(int(d.get("run_id") or 0))
    sid = int(d.get("signoff_id") or 0)
    veto = next((r for r in state.signoffs.get(run.id, []) if r.info.id == sid), None) if run else None
    problem: str | None = None
    if run is None or veto is None or veto.info.decision != "reject":
        problem = f"withdraws sign-off {sid}, which is not a recorded veto of run {d.get('run_id')}"
    elif veto.info.role != d.get("role"):
        problem = f"a {d.get('role')} key cannot withdraw the {veto.info.role} veto"
    else:
        state.signatures_checked += 1
        problem = _check(
            state,
            WITHDRAW_TYPE,
            str(d.get("envelope")),
            str(d.get("public_key")),
            str(d.get("fingerprint")),
            withdraw_statement({**d, "dossier_digest": run.dossier_digest, "run_id": run.id}),
        )
        enr = state.enrolment_at(str(d.get("fingerprint")))
        if problem is None and (enr is None or veto.info.role not in enr.roles):
            problem = f"key {str(d.get('fingerprint'))[:16]}… was not enrolled for {veto.info.role} when it withdrew"
    if problem:
        state.problems.append(
            LedgerProblem(seq=e.seq, record=f"withdrawal of sign-off {sid}", problem=problem)
        )
        return
    state.withdrawals[sid] = Withdrawal(
        signoff_id=sid,
        run_id=int(d["run_id"]),
        role=str(d["role"]),
        signer=str(d["signer"]),
        comment=str(d.get("comment", "")),
        withdrawn_at=str(d["withdrawn_at"]),
        fingerprint=str(d["fingerprint"]),
        ledger_seq=e.seq,
    )


def fold(
    entries: Iterable[LedgerEntry],
    *,
    as_of: datetime | None = None,
    verified: dict[str, str | None] | None = None,
) -> LedgerState:
    """Rebuild the registry's state from its ledger entries, ignoring entries recorded after ``as_of``.

    ``verified`` caches signature results by entry hash across folds (the caller's, e.g. a ``Registry``).
    """
    state = LedgerState(verified=verified if verified is not None else {})
    for e in entries:
        if as_of is not None:
            try:
                if parse_time(e.recorded_at) > as_of:
                    continue
            except ValueError:
                state.problems.append(LedgerProblem(seq=e.seq, problem="entry time is not ISO-8601"))
                continue
        fold_entry(state, e)
    return state


def fold_entry(state: LedgerState, e: LedgerEntry) -> None:
    """Apply one more entry to ``state`` (the next in the chain)."""
    # the entry hash commits to this entry and its whole prefix (readers fold only after the chain
    # check, and never approve or write on a ledger whose chain does not verify)
    state.hashes.append(e.entry_hash)
    state.last_recorded_at = e.recorded_at
    run_ids = {r for r in (e.run_id, e.data.get("run_id")) if isinstance(r, int) and not isinstance(r, bool)}
    if e.kind in ("run.add", "signoff", "waiver", "withdraw") and run_ids:
        for r in run_ids:
            state.touched[r] = e.seq
    else:
        state.global_seq = e.seq
    try:
        if e.kind == "registry.init":
            if e.seq != 1 or state.registry_fingerprint is not None:
                state.problems.append(LedgerProblem(seq=e.seq, problem="registry.init must be entry 1"))
                return
            state.registry_fingerprint = str(e.data["registry_fingerprint"])
            state.registry_public_key = str(e.data["public_key"])
        elif state.registry_fingerprint is None:
            state.problems.append(
                LedgerProblem(seq=e.seq, problem=f"entry {e.seq} ({e.kind}) precedes registry.init")
            )
        elif e.kind == "enrol":
            _fold_enrol(state, e)
        elif e.kind == "revoke":
            _fold_revoke(state, e)
        elif e.kind == "config":
            _fold_config(state, e)
        elif e.kind == "run.add":
            run = RunInfo.model_validate(e.data)
            state.runs[run.id] = run
        elif e.kind == "signoff":
            _fold_signoff(state, e)
        elif e.kind == "waiver":
            _fold_waiver(state, e)
        elif e.kind == "withdraw":
            _fold_withdraw(state, e)
        else:
            state.problems.append(LedgerProblem(seq=e.seq, problem=f"unknown entry kind {e.kind!r}"))
    except (KeyError, TypeError, ValueError, ValidationError, json.JSONDecodeError) as exc:
        state.problems.append(
            LedgerProblem(seq=e.seq, problem=f"entry {e.seq} ({e.kind}) is malformed: {type(exc).__name__}")
        )
