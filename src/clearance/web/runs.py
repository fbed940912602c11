"""The runs list: every registered run with its final status, read in bulk (three queries, not 2N), with
the filters of the runs page (model, status, expiry, role still to sign).

Status comes from ``registry.compute_status`` exactly as on the CLI; signatures are checked with the
registry's own ``signoff_problem``/``waiver_problem`` and the result is cached per exact record, so an
edited row is checked afresh.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearance.registry import Registry, RunInfo, RunStatus, SignOffInfo, WaiverInfo, compute_status
from clearance.registry.db import LedgerRow, ModelRow, RunRow, SignOffRow, WaiverRow
from clearance.registry.status import parse_time
from clearance.registry.store import signoff_problem, signoff_record, waiver_problem, waiver_record

_sig_cache: dict[str, bool] = {}
_sig_lock = threading.Lock()


@dataclass
class RunLine:
    """One row of the runs page."""

    run: RunInfo
    status: RunStatus
    expires: str | None  # the earliest date an approval or waiver of the run lapses
    to_sign: list[str]  # required roles without a valid approval
    changes_at: datetime | None = None  # the next moment the status can change without a write


@dataclass
class RunFilter:
    """Filters of the runs page; empty strings mean no filter."""

    model: str = ""
    status: str = ""
    expiry: str = ""  # "" | "expired" | number of days
    role: str = ""


def _checked(kind: str, record: dict[str, object], run: RunInfo) -> bool:
    # The key covers every stored field of the record and the run it is checked against.
    key = hashlib.sha256(
        repr((kind, sorted(record.items()), run.dossier_digest, run.model_digest, run.id)).encode()
    ).hexdigest()
    with _sig_lock:
        hit = _sig_cache.get(key)
    if hit is not None:
        return hit
    problem = signoff_problem(record, run) if kind == "s" else waiver_problem(record, run)
    ok = problem is None
    with _sig_lock:
        if len(_sig_cache) > 200_000:
            _sig_cache.clear()
        _sig_cache[key] = ok
    return ok


def _expiry(run: RunInfo, st: RunStatus) -> str | None:
    dates: list[date] = []
    for r in st.roles:
        if r.role in run.required_roles and r.state == "approved" and r.signed_at:
            dates.append((parse_time(r.signed_at) + timedelta(days=run.approval_days)).date())
    for g in st.gates:
        if g.state == "waived" and g.expires:
            dates.append(date.fromisoformat(g.expires))
    return min(dates).isoformat() if dates else None


def run_lines(reg: Registry, as_of: datetime | None = None, only: set[int] | None = None) -> list[RunLine]:
    """Every run (or the runs ``only``) with its status at ``as_of`` (default: now), newest first."""
    bulk = getattr(reg, "statuses", None)
    if callable(bulk):
        pairs = [p for p in bulk(as_of=as_of) if only is None or p[0].id in only]
    else:
        pairs = _statuses(reg, as_of or reg.clock(), only)
    out: list[RunLine] = []
    for run, st in sorted(pairs, key=lambda p: p[0].id, reverse=True):
        to_sign = [
            r.role
            for r in st.roles
            if st.status != "rejected" and r.role in run.required_roles and r.state in ("missing", "expired")
        ]
        now = as_of or reg.clock()
        out.append(
            RunLine(
                run=run, status=st, expires=_expiry(run, st), to_sign=to_sign, changes_at=_lapse(run, st, now)
            )
        )
    return out


def _lapse(run: RunInfo, st: RunStatus, now: datetime) -> datetime | None:
    """The earliest moment after ``now`` that an approval or a waiver of the run lapses."""
    times = []
    for r in st.roles:
        if r.state == "approved" and r.signed_at:
            times.append(parse_time(r.signed_at) + timedelta(days=run.approval_days))
    for g in st.gates:
        if g.state == "waived" and g.expires:
            times.append(datetime.combine(date.fromisoformat(g.expires), datetime.min.time(), tzinfo=UTC))
    later = [t for t in times if t > now]
    return min(later) if later else None


def _statuses(reg: Registry, now: datetime, only: set[int] | None = None) -> list[tuple[RunInfo, RunStatus]]:
    """Runs' statuses from three queries (for a registry without ``Registry.statuses``)."""
    q_runs = select(RunRow, ModelRow).join(ModelRow)
    q_signoffs = select(SignOffRow).order_by(SignOffRow.id)
    q_waivers = select(WaiverRow).order_by(WaiverRow.id)
    if only is not None:
        ids = sorted(only)
        q_runs = q_runs.where(RunRow.id.in_(ids))
        q_signoffs = q_signoffs.where(SignOffRow.run_id.in_(ids))
        q_waivers = q_waivers.where(WaiverRow.run_id.in_(ids))
    with Session(reg.engine) as s:
        runs = {r.id: reg._run_info(r, m) for r, m in s.execute(q_runs)}
        signoffs: dict[int, list[SignOffInfo]] = {}
        for row in s.scalars(q_signoffs):
            run = runs.get(row.run_id)
            if run is None:
                continue
            rec = signoff_record(row)
            signoffs.setdefault(row.run_id, []).append(
                SignOffInfo(
                    id=row.id,
                    run_id=row.run_id,
                    role=row.role,
                    decision=row.decision,  # type: ignore[arg-type]
                    signer=row.signer,
                    comment=row.comment,
                    signed_at=row.signed_at,
                    fingerprint=row.fingerprint,
                    signature_ok=_checked("s", rec, run),
                )
            )
        waivers: dict[int, list[WaiverInfo]] = {}
        for w in s.scalars(q_waivers):
            run = runs.get(w.run_id)
            if run is None:
                continue
            rec = waiver_record(w)
            waivers.setdefault(w.run_id, []).append(
                WaiverInfo(
                    id=w.id,
                    run_id=w.run_id,
                    gate=w.gate,
                    reason=w.reason,
                    approver=w.approver,
                    expires=w.expires,
                    created_at=w.created_at,
                    fingerprint=w.fingerprint,
                    signature_ok=_checked("w", rec, run),
                )
            )
    return [
        (runs[rid], compute_status(runs[rid], signoffs.get(rid, []), waivers.get(rid, []), now))
        for rid in runs
    ]


@dataclass
class _Cached:
    head: tuple[int, str] | None
    computed_at: datetime
    lines: list[RunLine]


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()
MAX_AGE = timedelta(minutes=10)  # a full recompute at least this often


def _head(reg: Registry) -> tuple[int, str] | None:
    with Session(reg.engine) as s:
        row = s.execute(
            select(LedgerRow.seq, LedgerRow.entry_hash).order_by(LedgerRow.seq.desc()).limit(1)
        ).first()
    return (int(row[0]), str(row[1])) if row else None


def _stale_runs(reg: Registry, c: _Cached, head: tuple[int, str] | None, now: datetime) -> set[int] | None:
    """The runs whose status may differ from the cached one (written since, or lapsed since); None when
    everything must be recomputed (history changed, a registry-wide entry, or the cache is old)."""
    if not (c.computed_at <= now < c.computed_at + MAX_AGE) or c.head is None or head is None:
        return None
    stale = {ln.run.id for ln in c.lines if ln.changes_at is not None and ln.changes_at <= now}
    if head != c.head:
        if callable(getattr(reg, "statuses", None)):
            return None  # a ledger-state registry recomputes every status from its ledger at once
        with Session(reg.engine) as s:
            anchor = s.get(LedgerRow, c.head[0])
            touched = list(s.scalars(select(LedgerRow.run_id).where(LedgerRow.seq > c.head[0])))
        if anchor is None or anchor.entry_hash != c.head[1] or None in touched:
            return None
        stale |= {int(t) for t in touched if t is not None}
    return stale


def current_run_lines(reg: Registry) -> list[RunLine]:
    """``run_lines`` now, kept between requests. A run is recomputed when a ledger entry about it was
    written or one of its approvals or waivers lapsed since; everything is recomputed after a
    registry-wide entry (settings, enrolments), a changed history, or ``MAX_AGE``. So a page never shows
    a status that a write or the clock has changed."""
    now = reg.clock()
    head = _head(reg)
    with _cache_lock:
        c = _cache.get(reg.url)
    stale = _stale_runs(reg, c, head, now) if c is not None else None
    if c is not None and stale is not None:
        if not stale and head == c.head:
            return c.lines
        update = {ln.run.id: ln for ln in run_lines(reg, now, only=stale)} if stale else {}
        kept = [ln for ln in c.lines if ln.run.id not in stale]
        lines = sorted([*kept, *update.values()], key=lambda ln: ln.run.id, reverse=True)
        since = c.computed_at
    else:
        lines, since = run_lines(reg, now), now
    if _head(reg) == head:  # nothing was written while computing
        with _cache_lock:
            _cache[reg.url] = _Cached(head=head, computed_at=since, lines=lines)
    return lines


def filter_lines(lines: list[RunLine], f: RunFilter, today: date | None = None) -> list[RunLine]:
    """The lines matching every given filter."""
    today = today or datetime.now(UTC).date()
    needle = f.model.strip().casefold()
    out = []
    for ln in lines:
        if needle and needle not in ln.run.model_name.casefold() and needle not in ln.run.title.casefold():
            continue
        if f.status and ln.status.status != f.status:
            continue
        if f.role and f.role not in ln.to_sign:
            continue
        expired = ln.status.status == "expired" or any("expired" in x for x in ln.status.flags)
        if f.expiry == "expired" and not expired:
            continue
        lapses = date.fromisoformat(ln.expires) if ln.expires else None
        if f.expiry.isdigit() and (lapses is None or lapses > today + timedelta(days=int(f.expiry))):
            continue
        out.append(ln)
    return out
