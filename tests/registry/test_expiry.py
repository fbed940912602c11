"""Expiry with a fixed clock: waivers end at 00:00 UTC on their date, approvals after N days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from registry_fixtures import APPROVE_FACTS, REVIEW_FACTS, T0, FixedClock, new_registry


def test_waiver_expires_at_midnight_utc(
    tmp_path: Path, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    clock = FixedClock()
    with new_registry(tmp_path / "r.db", keys, clock) as reg:
        run = reg.add(dossier_factory(REVIEW_FACTS))
        reg.waive(run.id, gate="fits-hardware", reason="pool", expires="2027-01-10", key=keys["bob"])
        reg.waive(run.id, gate="capability-floor", reason="narrow", expires="2027-06-01", key=keys["bob"])
        reg.sign_off(run.id, role="security", key=keys["alice"])
        reg.sign_off(run.id, role="ml", key=keys["carol"])
        just_before = datetime(2027, 1, 9, 23, 59, 59, tzinfo=UTC)
        assert reg.status(run.id, as_of=just_before).status == "approved"
        st = reg.status(run.id, as_of=datetime(2027, 1, 10, tzinfo=UTC))
        assert st.status == "needs_review"
        assert {g.gate: g.state for g in st.gates} == {
            "fits-hardware": "waiver_expired",
            "capability-floor": "waived",
        }
        assert "waiver 1 for gate fits-hardware expired on 2027-01-10" in st.flags
        # a fresh waiver reopens the approval
        clock.t = datetime(2027, 1, 11, tzinfo=UTC)
        reg.waive(run.id, gate="fits-hardware", reason="renewed", expires="2027-04-01", key=keys["bob"])
        assert reg.status(run.id).status == "approved"


def test_approval_expires_after_configured_days(
    tmp_path: Path, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    clock = FixedClock()
    with new_registry(tmp_path / "r.db", keys, clock) as reg:
        run = reg.add(dossier_factory(APPROVE_FACTS), approval_days=90)
        reg.sign_off(run.id, role="security", key=keys["alice"], signer="alice")
        clock.t = T0 + timedelta(days=30)
        reg.sign_off(run.id, role="ml", key=keys["carol"], signer="carol")
        assert reg.status(run.id, as_of=T0 + timedelta(days=90)).status == "approved"
        st = reg.status(run.id, as_of=T0 + timedelta(days=91))
        assert st.status == "expired"
        assert {r.role: r.state for r in st.roles} == {"security": "expired", "ml": "approved"}
        assert any("approval by alice (security) of 2026-11-29 expired after 90 days" in f for f in st.flags)
        # re-review: alice signs again, status is approved again
        clock.t = T0 + timedelta(days=92)
        reg.sign_off(run.id, role="security", key=keys["alice"], signer="alice")
        assert reg.status(run.id).status == "approved"
