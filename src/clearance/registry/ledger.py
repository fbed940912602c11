"""The tamper-evident ledger: a hash chain where each entry holds the previous entry's sha256.

``entry_hash = sha256(canonical_json({seq, prev_hash, kind, run_id, recorded_at, data}))`` with
``prev_hash`` of entry 1 being 64 zeros. Editing, deleting or reordering any entry breaks the chain at
that entry; deleting the newest entries is caught by the registry key's signed checkpoint
(``checkpoint.py``) and, against a full rollback, by a head anchored outside the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearance.jsonio import canonical_json
from clearance.registry.db import ChainHead, LedgerRow
from clearance.registry.records import LedgerEntry, LedgerProblem

GENESIS = "0" * 64


def canonical(obj: Any) -> str:
    """Canonical JSON text (RFC 8785, ``clearance.jsonio.canonical_json``) of ledger data."""
    return canonical_json(obj)


def entry_hash(
    seq: int, prev_hash: str, kind: str, run_id: int | None, recorded_at: str, data: Mapping[str, Any]
) -> str:
    """The sha256 (hex) of one entry's canonical JSON, which includes the previous entry's hash."""
    return _hash_with(seq, prev_hash, kind, run_id, recorded_at, canonical(data))


def _hash_with(
    seq: int, prev_hash: str, kind: str, run_id: int | None, recorded_at: str, data_text: str
) -> str:
    """``entry_hash`` given the canonical text of the data: "data" sorts first among the body's keys, so
    the body's canonical text is that of the body with null data, the data's text spliced in."""
    rest = canonical(
        {
            "seq": seq,
            "prev_hash": prev_hash,
            "kind": kind,
            "run_id": run_id,
            "recorded_at": recorded_at,
            "data": None,
        }
    )
    assert rest.startswith('{"data":null,')
    body = '{"data":' + data_text + rest[len('{"data":null') :]
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def ensure_head(session: Session) -> None:
    """Create the chain-head row (seq 0, genesis hash) if the store has none, so appends can lock it."""
    if session.get(ChainHead, 1) is None:
        session.add(ChainHead(id=1, seq=0, entry_hash=GENESIS))


def lock_head(session: Session) -> ChainHead:
    """Lock the chain head for this transaction (``SELECT … FOR UPDATE``; SQLite holds ``BEGIN IMMEDIATE``)."""
    head = session.execute(select(ChainHead).where(ChainHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = ChainHead(id=1, seq=0, entry_hash=GENESIS)
        session.add(head)
        session.flush()
    return head


def append(session: Session, kind: str, run_id: int | None, recorded_at: str, data: Mapping[str, Any]) -> int:
    """Append one entry inside the caller's transaction, holding the chain head locked; returns its seq."""
    head = session.execute(select(ChainHead).where(ChainHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = ChainHead(id=1, seq=0, entry_hash=GENESIS)
        session.add(head)
    seq = head.seq + 1
    h = entry_hash(seq, head.entry_hash, kind, run_id, recorded_at, data)
    session.add(
        LedgerRow(
            seq=seq,
            prev_hash=head.entry_hash,
            entry_hash=h,
            kind=kind,
            run_id=run_id,
            recorded_at=recorded_at,
            data=canonical(data),
        )
    )
    head.seq, head.entry_hash = seq, h
    session.flush()
    return seq


def to_entry(row: LedgerRow) -> LedgerEntry:
    """A ledger row as plain data (the exported, offline-verifiable form)."""
    return entry_from_columns(
        (row.seq, row.prev_hash, row.entry_hash, row.kind, row.run_id, row.recorded_at, row.data)
    )


# The stored columns of a ledger row, in the order ``entry_from_columns`` and ``Registry`` read them.
COLUMNS = (
    LedgerRow.seq,
    LedgerRow.prev_hash,
    LedgerRow.entry_hash,
    LedgerRow.kind,
    LedgerRow.run_id,
    LedgerRow.recorded_at,
    LedgerRow.data,
)


def entry_from_columns(row: Sequence[Any]) -> LedgerEntry:
    """A ledger entry from its stored columns (``COLUMNS``); unreadable JSON becomes empty data, which
    then fails the chain check as an edit instead of stopping the reader."""
    seq, prev_hash, hash_, kind, run_id, recorded_at, text = row
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {}
    return LedgerEntry(
        seq=seq,
        prev_hash=prev_hash,
        entry_hash=hash_,
        kind=kind,
        run_id=run_id,
        recorded_at=recorded_at,
        data=data if isinstance(data, dict) else {},
    )


def verify_chain(
    entries: Iterable[LedgerEntry],
    *,
    raw: Mapping[int, str] | None = None,
    hashed: set[int] | None = None,
) -> list[LedgerProblem]:
    """Walk the chain from genesis; one problem per broken entry (edited, missing, reordered, bad link).

    ``raw`` maps seq to the stored JSON text, so an edit that keeps the JSON meaning is still caught.
    ``hashed`` holds the seqs whose stored rows (every column, byte for byte) the caller already found to
    hash correctly, so a long-lived reader re-hashes only what changed; the seqs of stored rows found to
    hash correctly now are added to it. The links between entries are always checked.
    """
    problems: list[LedgerProblem] = []
    prev = GENESIS
    expected_seq = 1
    for e in entries:
        if e.seq != expected_seq:
            what = "missing (deleted)" if e.seq > expected_seq else "out of order or duplicated"
            problems.append(
                LedgerProblem(
                    seq=expected_seq, problem=f"entry {expected_seq} is {what}; next stored is {e.seq}"
                )
            )
            expected_seq = e.seq
        text = raw.get(e.seq) if raw is not None else None
        if hashed is not None and e.seq in hashed:
            recomputed = e.entry_hash
        else:
            before = len(problems)
            data_text = canonical(e.data)  # once: for the stored-form check and the hash
            if text is not None and text != data_text:
                problems.append(
                    LedgerProblem(seq=e.seq, problem="stored data is not in canonical form (edited)")
                )
            recomputed = _hash_with(e.seq, e.prev_hash, e.kind, e.run_id, e.recorded_at, data_text)
            if (
                hashed is not None
                and text is not None
                and recomputed == e.entry_hash
                and len(problems) == before
            ):
                hashed.add(e.seq)
        if recomputed != e.entry_hash:
            problems.append(
                LedgerProblem(
                    seq=e.seq,
                    problem=f"entry {e.seq} ({e.kind}) was edited: its content hashes to "
                    f"{recomputed[:16]}…, recorded {e.entry_hash[:16]}…",
                )
            )
        if e.prev_hash != prev:
            problems.append(
                LedgerProblem(
                    seq=e.seq,
                    problem=f"entry {e.seq} ({e.kind}) does not follow the entry before it "
                    "(previous-hash link broken: an entry was edited, deleted or reordered)",
                )
            )
        prev = e.entry_hash
        expected_seq += 1
    return problems
