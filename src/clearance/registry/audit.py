"""Audit: verify the whole registry (chain, checkpoint, signed entries, rows against the ledger); export
one run and verify such an export offline, without the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearance.errors import InputError
from clearance.evidence import utc_now
from clearance.registry import ledger
from clearance.registry.checkpoint import checkpoint_problems
from clearance.registry.db import EnrolmentRow, ModelRow, RunRow, SettingRow, SignOffRow, WaiverRow
from clearance.registry.records import LedgerEntry, LedgerProblem, LedgerVerifyResult, RunExport
from clearance.registry.state import fold
from clearance.registry.store import (
    Registry,
    run_record,
    signoff_problem,
    signoff_record,
    waiver_problem,
    waiver_record,
)


def _parse_head(expect_head: str) -> tuple[int | None, str]:
    seq_text, _, h = expect_head.rpartition(":")
    h = h.strip().lower()
    if len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
        raise InputError(f"--expect-head must be SEQ:SHA256 or SHA256 (64 hex digits), got {expect_head!r}")
    if seq_text and not seq_text.isdigit():
        raise InputError(f"--expect-head sequence must be a number, got {seq_text!r}")
    return (int(seq_text) if seq_text else None), h


def _check_anchor(entries: list[LedgerEntry], expect_head: str | None, problems: list[LedgerProblem]) -> None:
    if expect_head is None:
        return
    seq, h = _parse_head(expect_head)
    hit = [e for e in entries if e.entry_hash == h]
    if not hit:
        problems.append(
            LedgerProblem(
                seq=seq, problem=f"anchored head {h[:16]}… is not in the ledger (history rewritten or cut)"
            )
        )
    elif seq is not None and hit[0].seq != seq:
        problems.append(
            LedgerProblem(seq=seq, problem=f"anchored head {h[:16]}… sits at entry {hit[0].seq}, not {seq}")
        )


def verify_registry(reg: Registry, *, expect_head: str | None = None) -> LedgerVerifyResult:
    """Check the hash chain, the registry key's checkpoint of its head, every signed entry (enrolments,
    settings, sign-offs, waivers, withdrawals), and every mirror table row against the ledger.

    ``expect_head`` (``SEQ:SHA256`` printed by an earlier verify or export) additionally catches a
    rollback to an earlier, consistent state of the whole database (a restored backup).
    """
    with Session(reg.engine) as s:
        entries, cp, problems = reg._load(s)
        state = fold(entries)
        problems += state.problems
        by_seq = {e.seq: e for e in entries}
        last = entries[-1] if entries else None
        _check_anchor(entries, expect_head, problems)

        seen: set[int] = set()

        def match(seq: int, kind: str, record: dict[str, Any], what: str) -> None:
            seen.add(seq)
            e = by_seq.get(seq)
            if e is None or e.kind != kind:
                problems.append(
                    LedgerProblem(seq=seq, record=what, problem=f"{what} has no ledger entry {seq}")
                )
            elif e.data != record:
                diff = sorted(k for k in set(e.data) | set(record) if e.data.get(k) != record.get(k))
                problems.append(
                    LedgerProblem(
                        seq=seq,
                        record=what,
                        problem=f"{what} differs from ledger entry {seq} in: {', '.join(diff)}",
                    )
                )

        for r, m in s.execute(select(RunRow, ModelRow).join(ModelRow)).all():
            match(r.ledger_seq, "run.add", run_record(reg._run_info(r, m)), f"run {r.id}")
        for so in s.scalars(select(SignOffRow)):
            match(so.ledger_seq, "signoff", signoff_record(so), f"sign-off {so.id}")
        for w in s.scalars(select(WaiverRow)):
            match(w.ledger_seq, "waiver", waiver_record(w), f"waiver {w.id}")
        for en in s.scalars(select(EnrolmentRow)):
            want = state.enrolments.get(en.fingerprint)
            seen.add(en.ledger_seq)
            got = (en.person, json.loads(en.roles), en.public_key, en.ledger_seq, en.revoked_seq)
            if want is None or got != (
                want.person,
                want.roles,
                want.public_key,
                want.ledger_seq,
                want.revoked_seq,
            ):
                problems.append(
                    LedgerProblem(
                        seq=en.ledger_seq,
                        record=f"enrolment {en.fingerprint[:16]}…",
                        problem="enrolment row differs from the ledger's enrolments",
                    )
                )
        settings = state.settings.model_dump() if state.settings else {}
        rows = {st.key: st.value for st in s.scalars(select(SettingRow))}
        for k, v in settings.items():
            if rows.get(k) != ledger.canonical(v):
                what = "is missing (deleted)" if k not in rows else "differs from the ledger's settings"
                problems.append(LedgerProblem(record=f"setting {k}", problem=f"setting row {k} {what}"))
        for k in rows:
            if k not in settings:
                problems.append(
                    LedgerProblem(record=f"setting {k}", problem=f"setting row {k} is not in the ledger")
                )
        enrolled = {en.ledger_seq for en in state.enrolments.values()}
        for e in entries:
            if e.seq in seen or e.kind not in ("run.add", "signoff", "waiver", "enrol"):
                continue
            if e.kind == "enrol" and e.seq not in enrolled:
                continue  # an enrolment that never took has no row (the fold reported why)
            problems.append(
                LedgerProblem(
                    seq=e.seq,
                    problem=f"ledger entry {e.seq} ({e.kind}) has no row: the record was deleted",
                )
            )
    return LedgerVerifyResult(
        registry=reg.where,
        ok=not problems,
        entries=len(entries),
        head_seq=last.seq if last else 0,
        head_hash=last.entry_hash if last else ledger.GENESIS,
        signatures_checked=state.signatures_checked,
        problems=problems,
        checkpoint=cp,
        registry_fingerprint=state.registry_fingerprint,
    )


def export_run(reg: Registry, ref: int | str) -> RunExport:
    """One run with its signed records, the ledger up to now and the head: verifiable offline."""
    run = reg.run(ref)
    status = reg.status(run.id)
    with Session(reg.engine) as s:
        entries, cp, _ = reg._load(s)
    signoffs = [e.data for e in entries if e.kind == "signoff" and e.run_id == run.id]
    waivers = [e.data for e in entries if e.kind == "waiver" and e.run_id == run.id]
    last = entries[-1] if entries else None
    return RunExport(
        exported_at=utc_now(),
        registry=reg.where,
        run=run,
        status=status,
        signoffs=signoffs,
        waivers=waivers,
        ledger=entries,
        head_seq=last.seq if last else 0,
        head_hash=last.entry_hash if last else ledger.GENESIS,
        checkpoint=cp,
    )


def verify_export(
    source: str | Path | dict[str, Any],
    *,
    expect_head: str | None = None,
    registry_fingerprint: str | None = None,
) -> LedgerVerifyResult:
    """Verify an export offline: the chain, the registry key's checkpoint of its head, the run record,
    and every signed entry. ``registry_fingerprint`` (the registry key's, known to the auditor) also
    catches an export re-written from genesis under another key."""
    if isinstance(source, dict):
        data, name = source, "<export>"
    else:
        path = Path(source)
        name = str(path)
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read registry export {path}: {exc}") from exc
    try:
        exp = RunExport.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err.get("loc", ()))
        raise InputError(f"{name} is not a registry export: {loc}: {err.get('msg')}") from exc
    problems = ledger.verify_chain(exp.ledger)
    last = exp.ledger[-1] if exp.ledger else None
    if last is None or (last.seq, last.entry_hash) != (exp.head_seq, exp.head_hash):
        problems.append(
            LedgerProblem(seq=exp.head_seq, problem="export head does not match its last ledger entry")
        )
    if exp.ledger:
        problems += checkpoint_problems(exp.checkpoint, exp.ledger, local_fingerprint=registry_fingerprint)
    _check_anchor(exp.ledger, expect_head, problems)
    state = fold(exp.ledger)
    problems += state.problems
    run_entries = [e for e in exp.ledger if e.kind == "run.add" and e.run_id == exp.run.id]
    if not run_entries or run_entries[0].data != run_record(exp.run):
        problems.append(
            LedgerProblem(record=f"run {exp.run.id}", problem="run record differs from its ledger entry")
        )
    ledger_data = [ledger.canonical(e.data) for e in exp.ledger]
    for kind, records in (("sign-off", exp.signoffs), ("waiver", exp.waivers)):
        for rec in records:
            what = f"{kind} {rec.get('id')}"
            if ledger.canonical(rec) not in ledger_data:
                problems.append(LedgerProblem(record=what, problem="not found in the exported ledger"))
            try:
                p = signoff_problem(rec, exp.run) if kind == "sign-off" else waiver_problem(rec, exp.run)
            except KeyError as exc:
                p = f"record lacks field {exc}"
            if p:
                problems.append(LedgerProblem(record=what, problem=p))
    checked = state.signatures_checked
    return LedgerVerifyResult(
        registry=name,
        ok=not problems,
        entries=len(exp.ledger),
        head_seq=exp.head_seq,
        head_hash=exp.head_hash,
        signatures_checked=checked,
        problems=problems,
        checkpoint=exp.checkpoint,
        registry_fingerprint=state.registry_fingerprint,
    )
