"""Tampering with the SQLite store directly (as a DBA could): every edit, deletion, reordering or forged
signature is caught by ``verify_registry``, naming the ledger entry or record."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from registry_fixtures import APPROVE_FACTS, REVIEW_FACTS, FixedClock

from clearance.registry import Registry, verify_registry
from clearance.registry.ledger import GENESIS, canonical, entry_hash
from clearance.signing import generate_keypair, load_private_key, sign_envelope


@pytest.fixture
def store(tmp_path: Path, dossier_factory: Callable[..., Path], keys: dict[str, Path]) -> Path:
    """A SQLite registry with 6 ledger entries: run 1 (review), 2 waivers, 2 sign-offs, run 2."""
    db = tmp_path / "reg.db"
    with Registry(db, create=True, clock=FixedClock()) as reg:
        reg.add(dossier_factory(REVIEW_FACTS))  # 1
        reg.waive(1, gate="fits-hardware", reason="H200 pool", expires="2027-03-01", key=keys["bob"])  # 2
        reg.waive(1, gate="capability-floor", reason="narrow use", expires="2027-03-01", key=keys["bob"])  # 3
        reg.sign_off(1, role="security", key=keys["alice"], signer="alice")  # 4
        reg.sign_off(1, role="ml", key=keys["carol"], signer="carol")  # 5
        reg.add(dossier_factory(APPROVE_FACTS, "other"))  # 6
        assert reg.status(1).status == "approved"
        assert verify_registry(reg).ok
    return db


def _sql(db: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    con = sqlite3.connect(db)
    with con:
        for st in statements:
            con.execute(st, params if "?" in st else ())
    con.close()


def _verify(db: Path, expect_head: str | None = None) -> list[str]:
    with Registry(db) as reg:
        res = verify_registry(reg, expect_head=expect_head)
    assert res.ok == (not res.problems)
    return [f"{p.seq}|{p.record}|{p.problem}" for p in res.problems]


def test_edited_ledger_entry_is_named(store: Path) -> None:
    con = sqlite3.connect(store)
    data = json.loads(con.execute("SELECT data FROM ledger WHERE seq = 4").fetchone()[0])
    con.close()
    data["comment"] = "approved after a call"
    _sql(store, "UPDATE ledger SET data = ? WHERE seq = 4", params=(canonical(data),))
    problems = _verify(store)
    assert any(p.startswith("4|None|entry 4 (signoff) was edited") for p in problems), problems


def test_whitespace_only_edit_is_caught(store: Path) -> None:
    _sql(store, "UPDATE ledger SET data = data || ' ' WHERE seq = 2")
    assert any(p.startswith("2|") and "canonical" in p for p in _verify(store))


def test_deleted_entry_is_named(store: Path) -> None:
    _sql(store, "DELETE FROM ledger WHERE seq = 3")
    problems = _verify(store)
    assert any("entry 3 is missing (deleted)" in p for p in problems), problems
    assert any(p.startswith("4|") and "does not follow" in p for p in problems)
    assert any("waiver 2 has no ledger entry 3" in p for p in problems)


def test_reordered_entries_are_caught(store: Path) -> None:
    # swap the contents of entries 4 and 5 (seq numbers stay in place)
    _sql(
        store,
        "UPDATE ledger SET seq = -4 WHERE seq = 4",
        "UPDATE ledger SET seq = 4 WHERE seq = 5",
        "UPDATE ledger SET seq = 5 WHERE seq = -4",
    )
    problems = _verify(store)
    assert any(p.startswith("4|None|entry 4") for p in problems), problems
    assert any(p.startswith("5|None|entry 5") for p in problems), problems


def test_deleted_tail_is_caught_by_head_and_anchor(store: Path) -> None:
    with Registry(store) as reg:
        anchor = verify_registry(reg)
    _sql(store, "DELETE FROM ledger WHERE seq = 6", "DELETE FROM runs WHERE id = 2")
    assert any("chain head records entry 6 but the ledger ends at 5" in p for p in _verify(store))
    # a careful DBA also rewinds the chain head: only the anchored head noted earlier catches it
    con = sqlite3.connect(store)
    h5 = con.execute("SELECT entry_hash FROM ledger WHERE seq = 5").fetchone()[0]
    con.close()
    _sql(store, "UPDATE chain_head SET seq = 5, entry_hash = ?", params=(h5,))
    assert _verify(store) == []
    problems = _verify(store, expect_head=f"{anchor.head_seq}:{anchor.head_hash}")
    assert any("anchored head" in p and "not in the ledger" in p for p in problems)


def test_edited_signoff_row_fails_ledger_and_signature(store: Path) -> None:
    _sql(store, "UPDATE signoffs SET decision = 'reject' WHERE id = 2")
    problems = _verify(store)
    assert any("sign-off 2 differs from ledger entry 5 in: decision" in p for p in problems), problems
    assert any(
        "sign-off 2|signed statement differs from the stored record in: decision" in p for p in problems
    )
    with Registry(store) as reg:
        st = reg.status(1)
    assert st.status == "pending_signoff"  # the forged row is ignored, ml is missing again
    assert any("sign-off 2 (ml, carol) has an invalid signature" in f for f in st.flags)


def test_forged_signature_is_caught(store: Path, tmp_path: Path) -> None:
    """A DBA writes a sign-off 'by alice' signed with his own key bytes but alice's public key."""
    con = sqlite3.connect(store)
    env = json.loads(con.execute("SELECT envelope FROM signoffs WHERE id = 1").fetchone()[0])
    con.close()
    mallory = load_private_key(generate_keypair(tmp_path / "m", "ecdsa-p256", "mallory")[0])
    forged = sign_envelope(env["payloadType"], base64.b64decode(env["payload"]), mallory)
    _sql(store, "UPDATE signoffs SET envelope = ? WHERE id = 1", params=(canonical(forged),))
    problems = _verify(store)
    assert any("sign-off 1|signature does not verify" in p for p in problems), problems


def test_rechained_forgery_needs_the_anchor(store: Path, tmp_path: Path) -> None:
    """Replacing a reviewer's key and signature AND recomputing the whole chain defeats in-database checks;
    the head anchored outside the database still catches it."""
    with Registry(store) as reg:
        anchor = verify_registry(reg)
    mallory = load_private_key(generate_keypair(tmp_path / "m", "ed25519", "mallory")[0])
    con = sqlite3.connect(store)
    rows = con.execute("SELECT seq, kind, run_id, recorded_at, data FROM ledger ORDER BY seq").fetchall()
    from clearance.registry.signatures import SIGNOFF_TYPE
    from clearance.signing import key_fingerprint, public_pem

    prev = GENESIS
    with con:
        for seq, kind, run_id, at, text in rows:
            data = json.loads(text)
            if seq == 4:  # alice's security sign-off, re-signed by mallory
                payload = base64.b64decode(json.loads(data["envelope"])["payload"])
                data["envelope"] = canonical(sign_envelope(SIGNOFF_TYPE, payload, mallory))
                data["public_key"] = public_pem(mallory.public_key()).decode()
                data["fingerprint"] = key_fingerprint(mallory)
                con.execute(
                    "UPDATE signoffs SET envelope=?, public_key=?, fingerprint=? WHERE id=1",
                    (data["envelope"], data["public_key"], data["fingerprint"]),
                )
            h = entry_hash(seq, prev, kind, run_id, at, data)
            con.execute(
                "UPDATE ledger SET data=?, prev_hash=?, entry_hash=? WHERE seq=?",
                (canonical(data), prev, h, seq),
            )
            prev = h
        con.execute("UPDATE chain_head SET entry_hash=?", (prev,))
    con.close()
    assert _verify(store) == []
    problems = _verify(store, expect_head=f"{anchor.head_seq}:{anchor.head_hash}")
    assert problems and "anchored head" in problems[0]
