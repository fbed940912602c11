"""Tampering with the SQLite store directly (as a DBA could): every edit, deletion, reordering or forged
signature is caught by ``verify_registry``, naming the ledger entry or record."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from registry_fixtures import APPROVE_FACTS, REVIEW_FACTS, FixedClock, new_registry

from clearance.registry import Registry, verify_registry
from clearance.registry.ledger import GENESIS, canonical, entry_hash
from clearance.signing import generate_keypair, load_private_key, sign_envelope


@pytest.fixture
def store(tmp_path: Path, dossier_factory: Callable[..., Path], keys: dict[str, Path]) -> Path:
    """A SQLite registry: entries 1-8 set it up (init, admin, settings, five enrolments), then run 1
    (review, 9), 2 waivers (10, 11), 2 sign-offs (12, 13), run 2 (14)."""
    db = tmp_path / "reg.db"
    with new_registry(db, keys, FixedClock()) as reg:
        reg.add(dossier_factory(REVIEW_FACTS))  # 9
        reg.waive(1, gate="fits-hardware", reason="H200 pool", expires="2027-03-01", key=keys["bob"])  # 10
        reg.waive(
            1, gate="capability-floor", reason="narrow use", expires="2027-03-01", key=keys["bob"]
        )  # 11
        reg.sign_off(1, role="security", key=keys["alice"], signer="alice")  # 12
        reg.sign_off(1, role="ml", key=keys["carol"], signer="carol")  # 13
        reg.add(dossier_factory(APPROVE_FACTS, "other"))  # 14
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
    data = json.loads(con.execute("SELECT data FROM ledger WHERE seq = 12").fetchone()[0])
    con.close()
    data["comment"] = "approved after a call"
    _sql(store, "UPDATE ledger SET data = ? WHERE seq = 12", params=(canonical(data),))
    problems = _verify(store)
    assert any(p.startswith("12|None|entry 12 (signoff) was edited") for p in problems), problems


def test_whitespace_only_edit_is_caught(store: Path) -> None:
    _sql(store, "UPDATE ledger SET data = data || ' ' WHERE seq = 10")
    assert any(p.startswith("10|") and "canonical" in p for p in _verify(store))


def test_deleted_entry_is_named(store: Path) -> None:
    _sql(store, "DELETE FROM ledger WHERE seq = 11")
    problems = _verify(store)
    assert any("entry 11 is missing (deleted)" in p for p in problems), problems
    assert any(p.startswith("12|") and "does not follow" in p for p in problems)
    assert any("waiver 2 has no ledger entry 11" in p for p in problems)


def test_reordered_entries_are_caught(store: Path) -> None:
    # swap the contents of entries 12 and 13 (seq numbers stay in place)
    _sql(
        store,
        "UPDATE ledger SET seq = -12 WHERE seq = 12",
        "UPDATE ledger SET seq = 12 WHERE seq = 13",
        "UPDATE ledger SET seq = 13 WHERE seq = -12",
    )
    problems = _verify(store)
    assert any(p.startswith("12|None|entry 12") for p in problems), problems
    assert any(p.startswith("13|None|entry 13") for p in problems), problems


def test_deleted_tail_is_caught_by_the_checkpoint_without_an_anchor(store: Path) -> None:
    """Repro (issue 10): cutting entries from the end was caught only with a head kept outside."""
    _sql(store, "DELETE FROM ledger WHERE seq = 14", "DELETE FROM runs WHERE id = 2")
    assert any("chain head records entry 14 but the ledger ends at 13" in p for p in _verify(store))
    # a careful DBA also rewinds the chain head: the registry key's checkpoint still names entry 14
    con = sqlite3.connect(store)
    h13 = con.execute("SELECT entry_hash FROM ledger WHERE seq = 13").fetchone()[0]
    con.close()
    _sql(store, "UPDATE chain_head SET seq = 13, entry_hash = ?", params=(h13,))
    problems = _verify(store)
    assert any(
        "14|None|the registry key signed head 14" in p and "cut from the end" in p for p in problems
    ), problems
    # ... and deleting the checkpoint too leaves the length unproven
    _sql(store, "DELETE FROM checkpoint")
    assert any("no signed checkpoint" in p for p in _verify(store))
    with Registry(store) as reg:
        st = reg.status(1)
    assert st.status == "needs_review" and any("ledger does not verify" in f for f in st.flags)


def test_edited_signoff_row_is_caught_and_ignored(store: Path) -> None:
    _sql(store, "UPDATE signoffs SET decision = 'reject' WHERE id = 2")
    problems = _verify(store)
    assert any("sign-off 2 differs from ledger entry 13 in: decision" in p for p in problems), problems
    with Registry(store) as reg:
        st = reg.status(1)
    assert st.status == "approved"  # the status reads the ledger, never the mirror row


def test_forged_signature_in_the_ledger_is_caught(store: Path, tmp_path: Path) -> None:
    """A DBA re-signs alice's sign-off with his own key but keeps alice's public key, and re-chains."""
    con = sqlite3.connect(store)
    env = json.loads(con.execute("SELECT envelope FROM signoffs WHERE id = 1").fetchone()[0])
    con.close()
    mallory = load_private_key(generate_keypair(tmp_path / "m", "ecdsa-p256", "mallory")[0])
    forged = canonical(sign_envelope(env["payloadType"], base64.b64decode(env["payload"]), mallory))
    _sql(store, "UPDATE signoffs SET envelope = ? WHERE id = 1", params=(forged,))
    _rechain(store, {12: {"envelope": forged}})
    problems = _verify(store)
    assert any(p.startswith("12|sign-off 1|signature does not verify") for p in problems), problems
    with Registry(store) as reg:
        st = reg.status(1)
    assert st.status != "approved"


def _rechain(db: Path, edits: dict[int, dict[str, object]]) -> None:
    """Apply ``edits`` to ledger data and recompute every hash and the chain head (a DBA's full rewrite)."""
    con = sqlite3.connect(db)
    rows = con.execute("SELECT seq, kind, run_id, recorded_at, data FROM ledger ORDER BY seq").fetchall()
    prev = GENESIS
    with con:
        for seq, kind, run_id, at, text in rows:
            data = {**json.loads(text), **edits.get(seq, {})}
            h = entry_hash(seq, prev, kind, run_id, at, data)
            con.execute(
                "UPDATE ledger SET data=?, prev_hash=?, entry_hash=? WHERE seq=?",
                (canonical(data), prev, h, seq),
            )
            prev = h
        con.execute("UPDATE chain_head SET entry_hash=?", (prev,))
    con.close()


def test_rechained_forgery_is_caught_by_the_checkpoint(store: Path, tmp_path: Path) -> None:
    """Replacing a reviewer's key and signature AND recomputing the whole chain: the registry key's
    checkpoint no longer matches the head (the DBA does not hold the registry key)."""
    from clearance.registry.signatures import SIGNOFF_TYPE
    from clearance.signing import key_fingerprint, public_pem

    mallory = load_private_key(generate_keypair(tmp_path / "m", "ed25519", "mallory")[0])
    con = sqlite3.connect(store)
    data = json.loads(con.execute("SELECT data FROM ledger WHERE seq = 12").fetchone()[0])
    con.close()
    payload = base64.b64decode(json.loads(data["envelope"])["payload"])
    _rechain(
        store,
        {
            12: {
                "envelope": canonical(sign_envelope(SIGNOFF_TYPE, payload, mallory)),
                "public_key": public_pem(mallory.public_key()).decode(),
                "fingerprint": key_fingerprint(mallory),
            }
        },
    )
    problems = _verify(store)
    assert any("history was rewritten" in p for p in problems), problems


def test_rekeyed_ledger_is_caught_by_the_local_registry_key(store: Path, tmp_path: Path) -> None:
    """The DBA rewrites entry 1 to name his own registry key and signs a checkpoint with it: the registry
    key beside the database (or given with --registry-key) no longer matches entry 1."""
    from clearance.registry.checkpoint import sign_checkpoint
    from clearance.signing import key_fingerprint, public_pem

    rogue = load_private_key(generate_keypair(tmp_path / "m", "ed25519", "rogue")[0])
    _rechain(
        store,
        {
            1: {
                "registry_fingerprint": key_fingerprint(rogue),
                "public_key": public_pem(rogue.public_key()).decode(),
            }
        },
    )
    con = sqlite3.connect(store)
    seq, h = con.execute("SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    con.close()
    cp = sign_checkpoint(rogue, seq, h, "2026-11-29T10:00:00+00:00")
    _sql(
        store,
        "UPDATE checkpoint SET entry_hash = ?, registry_fingerprint = ?, envelope = ?",
        params=(cp.entry_hash, cp.registry_fingerprint, cp.envelope),
    )
    problems = _verify(store)
    assert any("re-keyed" in p for p in problems), problems


def test_restored_old_backup_needs_the_anchor(store: Path, tmp_path: Path, keys: dict[str, Path]) -> None:
    """What the checkpoint cannot catch: the whole database (checkpoint included) restored from an
    earlier copy. Only a head kept outside (--expect-head or an export) catches that rollback."""
    import shutil

    backup = tmp_path / "backup.db"
    shutil.copy(store, backup)
    with Registry(store, clock=FixedClock()) as reg:
        reg.sign_off(2, role="business", key=keys["dave"], decision="reject", comment="no budget")
        anchor = verify_registry(reg)
    shutil.copy(backup, store)
    assert _verify(store) == []
    problems = _verify(store, expect_head=f"{anchor.head_seq}:{anchor.head_hash}")
    assert any("anchored head" in p and "not in the ledger" in p for p in problems), problems
