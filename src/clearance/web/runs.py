"""The runs list: every registered run with its final status, as the registry computes it from its
ledger (``Registry.statuses``, the same rules as the CLI), with the filters of the runs page (model,
status, lapse, role still to sign). The statuses are kept between requests while nothing was written to
the ledger and no approval or waiver has lapsed since.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearance.registry import Registry, RunInfo, RunStatus, SignOffInfo, WaiverInfo
from clearance.registry.db import LedgerRow
from clearance.registry.status import parse_time


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


def _expiry(run: RunInfo, st: RunStatus) -> str | None:
    dates: list[date] = []
    for r in st.roles:
        if r.role in run.required_roles and r.state == "approved" and r.signed_at:
            dates.append((parse_time(r.signed_at) + timedelta(days=run.approval_days)).date())
    for g in st.gates:
        if g.state == "waived" and g.expires:
            dates.append(date.fromisoformat(g.expires))
    return min(dates).isoformat() if dates else None


def run_lines(reg: Registry, as_of: datetime | None = None) -> list[RunLine]:
    """Every run with its status at ``as_of`` (default: now), newest first."""
    now = as_of or reg.clock()
    state, integrity = reg.snapshot(as_of=as_of)
    return _lines(reg.statuses_of(state, integrity, as_of=now), now)


def _lines(pairs: list[tuple[RunInfo, RunStatus]], now: datetime) -> list[RunLine]:
    out: list[RunLine] = []
    for run, st in sorted(pairs, key=lambda p: p[0].id, reverse=True):
        to_sign = [
            r.role
            for r in st.roles
            if st.status != "rejected" and r.role in run.required_roles and r.state in ("missing", "expired")
        ]
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


@dataclass
class _Cached:
    head: tuple[int, str] | None
    computed_at: datetime
    valid_until: datetime
    lines: list[RunLine]
    integrity: bool = False  # the ledger had integrity problems when these were computed


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()
MAX_AGE = timedelta(minutes=10)  # a full recompute at least this often


def _head(reg: Registry) -> tuple[int, str] | None:
    with Session(reg.engine) as s:
        row = s.execute(
            select(LedgerRow.seq, LedgerRow.entry_hash).order_by(LedgerRow.seq.desc()).limit(1)
        ).first()
    return (int(row[0]), str(row[1])) if row else None


def current_run_lines(reg: Registry) -> list[RunLine]:
    """``run_lines`` now, kept between requests: recomputed when an approval or waiver of some run lapsed
    since, or after ``MAX_AGE``; after a write (the ledger head moved) only the runs written since are
    recomputed, unless the write concerns every run (enrolment, revocation, settings) or the ledger has
    integrity problems. So a page never shows a status that a write or the clock has changed."""
    now = reg.clock()
    head = _head(reg)
    with _cache_lock:
        c = _cache.get(reg.url)
    in_time = c is not None and c.computed_at <= now < c.valid_until
    if c is not None and in_time and c.head == head:
        return c.lines
    state, integrity = reg.snapshot()
    at = (state.entries, state.current) if state.entries else None
    written = (
        state.runs_written_since(*c.head)
        if c is not None and in_time and c.head is not None and not c.integrity and not integrity
        else None
    )
    if c is not None and written is not None:
        fresh = {
            ln.run.id: ln for ln in _lines(reg.statuses_of(state, integrity, as_of=now, runs=written), now)
        }
        kept = [ln for ln in c.lines if ln.run.id not in fresh]
        lines = sorted([*fresh.values(), *kept], key=lambda ln: ln.run.id, reverse=True)
        computed_at, limit = c.computed_at, c.valid_until
    else:
        lines = _lines(reg.statuses_of(state, integrity, as_of=now), now)
        computed_at, limit = now, now + MAX_AGE
    lapses = [ln.changes_at for ln in lines if ln.changes_at is not None]
    valid_until = min([limit, *lapses])
    with _cache_lock:
        _cache[reg.url] = _Cached(
            head=at, computed_at=computed_at, valid_until=valid_until, lines=lines, integrity=bool(integrity)
        )
    return lines


@dataclass
class RunView:
    """What one run's pages show: the run, its status, its sign-offs and waivers (one ledger read)."""

    run: RunInfo
    status: RunStatus
    signoffs: list[SignOffInfo]
    waivers: list[WaiverInfo]


_views: dict[tuple[str, int], tuple[tuple[int, str] | None, datetime, datetime, RunView]] = {}
MAX_VIEWS = 256


def run_view(reg: Registry, run_id: int) -> RunView:
    """``Registry.review`` of one run, kept while the ledger head is unchanged and nothing of the run lapsed."""
    now = reg.clock()
    head = _head(reg)
    key = (reg.url, run_id)
    with _cache_lock:
        hit = _views.get(key)
    if hit is not None and hit[0] == head and hit[1] <= now < hit[2]:
        return hit[3]
    run, status, signoffs, waivers = reg.review(run_id)
    view = RunView(run=run, status=status, signoffs=signoffs, waivers=waivers)
    lapse = _lapse(run, status, now)
    valid_until = min(now + MAX_AGE, lapse) if lapse else now + MAX_AGE
    if _head(reg) == head:
        with _cache_lock:
            if len(_views) >= MAX_VIEWS:
                _views.pop(next(iter(_views)))
            _views[key] = (head, now, valid_until, view)
    return view


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
