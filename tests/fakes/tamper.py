"""Fault injection for registries: what a database administrator could do behind the registry's back."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from clearance.registry.ledger import canonical


def edit_ledger_entry(db: Path, kind: str, **changes: object) -> int:
    """Edit the data of the first ledger entry of ``kind`` in a SQLite registry (kept in canonical form,
    as a careful forger would); returns the entry's seq."""
    con = sqlite3.connect(db)
    seq, text = con.execute(
        "SELECT seq, data FROM ledger WHERE kind = ? ORDER BY seq LIMIT 1", (kind,)
    ).fetchone()
    data = {**json.loads(text), **changes}
    with con:
        con.execute("UPDATE ledger SET data = ? WHERE seq = ?", (canonical(data), seq))
    con.close()
    return int(seq)
