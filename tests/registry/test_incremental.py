"""A long-lived ``Registry`` (the web app's) keeps the state it folded and the rows it hashed: a read after
a write folds and parses only the new entries, yet gives exactly what a fold from genesis gives, and an
edit of an old row made behind its back is still caught on the next read."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from registry_fixtures import APPROVE_FACTS, REVIEW_FACTS, FixedClock, new_registry

from clearance.jsonio import canonical_json
from clearance.registry import Registry, ledger, state, store
from clearance.registry.state import LedgerState, fold
from fakes.tamper import edit_ledger_entry


def _comparable(s: LedgerState) -> dict[str, object]:
    d = dataclasses.asdict(s)
    d.pop("verified")
    return d


@pytest.fixture
def busy(tmp_path: Path, dossier_factory: Callable[..., Path], keys: dict[str, Path]) -> Path:
    """Two runs, waivers, sign-offs, a veto and its withdrawal, a revoked key."""
    db = tmp_path / "reg.db"
    with new_registry(db, keys, FixedClock()) as reg:
        reg.add(dossier_factory(REVIEW_FACTS))
        reg.waive(1, gate="fits-hardware", reason="H200 pool", expires="2027-03-01", key=keys["bob"])
        reg.waive(1, gate="capability-floor", reason="narrow", expires="2027-03-01", key=keys["bob"])
        reg.sign_off(1, role="security", key=keys["alice"])
        reg.add(dossier_factory(APPROVE_FACTS, "other"))
        veto = reg.sign_off(2, role="business", key=keys["dave"], decision="reject")
        reg.withdraw(veto.id, key=keys["dave"], comment="answered")
    return db


class _Counts:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folded = 0
        self.parsed = 0
        real_fold, real_parse = state.fold_entry, ledger.entry_from_columns

        def fold_entry(st: LedgerState, e: object) -> None:
            self.folded += 1
            real_fold(st, e)  # type: ignore[arg-type]

        def parse(row: object) -> object:
            self.parsed += 1
            return real_parse(row)  # type: ignore[arg-type]

        monkeypatch.setattr(state, "fold_entry", fold_entry)
        monkeypatch.setattr(store, "fold_entry", fold_entry)
        monkeypatch.setattr(ledger, "entry_from_columns", parse)


def test_a_read_after_a_write_folds_and_parses_only_the_new_entries(
    busy: Path, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = Registry(busy, clock=FixedClock())
    reg.statuses()  # the first read folds everything
    n = len(reg.ledger_entries())
    counts = _Counts(monkeypatch)
    reg.statuses()
    assert (counts.folded, counts.parsed) == (0, 0)  # nothing new: the kept state is the answer
    reg.sign_off(1, role="ml", key=keys["carol"])  # one entry appended (and folded once, in the write)
    assert counts.folded == 1
    counts.folded = counts.parsed = 0
    status = reg.status(1)
    assert counts.folded == 0 and counts.parsed == 1  # the new row is hashed and parsed; not the old n
    assert status.status == "approved"
    assert len(reg.ledger_entries()) == n + 1
    reg.close()


def test_another_writers_entries_are_folded_onto_the_kept_state(busy: Path, keys: dict[str, Path]) -> None:
    reader = Registry(busy, clock=FixedClock())
    writer = Registry(busy, clock=FixedClock())
    before = reader.status(1).status
    writer.sign_off(1, role="ml", key=keys["carol"])
    writer.sign_off(2, role="security", key=keys["alice"])
    after = reader.state()
    assert before != "approved"
    assert reader.status(1).status == "approved"
    assert _comparable(after) == _comparable(fold(reader.ledger_entries()))
    reader.close()
    writer.close()


def test_incremental_state_equals_a_fold_from_genesis_after_every_write(
    tmp_path: Path, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    reg = new_registry(tmp_path / "r.db", keys, FixedClock())
    steps: list[Callable[[], object]] = [
        lambda: reg.add(dossier_factory(REVIEW_FACTS)),
        lambda: reg.waive(1, gate="fits-hardware", reason="pool", expires="2027-03-01", key=keys["bob"]),
        lambda: reg.sign_off(1, role="business", key=keys["dave"], decision="reject"),
        lambda: reg.revoke(keys["alice"].with_suffix(".pub"), by=keys["admin"], reason="left"),
        lambda: reg.configure(by=keys["admin"], approval_days=30),
        lambda: reg.withdraw(1, key=keys["dave"]),
    ]
    for step in steps:
        reg.state()  # keep a state, then write, then read incrementally
        step()
        assert _comparable(reg.state()) == _comparable(fold(reg.ledger_entries()))
    reg.close()


def test_an_old_row_edited_behind_a_long_lived_reader_is_caught(busy: Path, keys: dict[str, Path]) -> None:
    reg = Registry(busy, clock=FixedClock())
    assert reg.statuses() and not reg.status(1).flags
    seq = edit_ledger_entry(busy, "signoff", comment="edited later")
    status = reg.status(1)
    assert any(f"entry {seq}" in p and "edited" in p for p in status.flags), status.flags
    assert status.status != "approved"
    with pytest.raises(Exception, match="does not verify"):
        reg.sign_off(1, role="ml", key=keys["carol"])
    reg.close()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"b": 1, "a": [1.5, None, True], "é": "ü", "\U0001f600": {"z": "x", "€": 1e21}},
        {"nested": {"data": None, "seq": 3}, "text": 'quote " backslash \\ newline \n'},
    ],
)
def test_an_entry_hash_from_its_data_text_equals_the_hash_of_the_whole_body(data: dict[str, object]) -> None:
    body = {
        "seq": 7,
        "prev_hash": "ab" * 32,
        "kind": "signoff",
        "run_id": None,
        "recorded_at": "t",
        "data": data,
    }
    whole = hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()
    assert ledger.entry_hash(7, "ab" * 32, "signoff", None, "t", data) == whole
