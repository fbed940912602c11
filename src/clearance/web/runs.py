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

from clearance.jsonio import canonical_json
from clearance.registry import Registry, RunInfo, RunStatus, SignOffInfo, WaiverInfo, compute_status
from clearance.registry.db import ModelRow, RunRow, SignOffRow, WaiverRow
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


@dataclass
class RunFilter:
    """Filters of the runs page; empty strings mean no filter."""

    model: str = ""
    status: str = ""
    expiry: str = ""  # "" | "expired" | number of days
    role: str = ""


def _checked(kind: str, record: dict[str, object], run: RunInfo) -> bool:
    key = hashlib.sha256(
        (kind + canonical_json(record) + run.dossier_digest + run.model_digest + str(run.id)).encode()
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


def run_lines(reg: Registry, as_of: datetime | None = None) -> list[RunLine]:
    """Every run with its status at ``as_of`` (default: the registry's clock), newest first."""
    now = as_of or reg.clock()
    with Session(reg.engine) as s:
        runs = {r.id: reg._run_info(r, m) for r, m in s.execute(select(RunRow, ModelRow).join(ModelRow))}
        signoffs: dict[int, list[SignOffInfo]] = {}
        for row in s.scalars(select(SignOffRow).order_by(SignOffRow.id)):
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
        for w in s.scalars(select(WaiverRow).order_by(WaiverRow.id)):
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
    out: list[RunLine] = []
    for rid in sorted(runs, reverse=True):
        run = runs[rid]
        st = compute_status(run, signoffs.get(rid, []), waivers.get(rid, []), now)
        to_sign = [
            r.role
            for r in st.roles
            if st.status != "rejected" and r.role in run.required_roles and r.state in ("missing", "expired")
        ]
        out.append(RunLine(run=run, status=st, expires=_expiry(run, st), to_sign=to_sign))
    return out


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
