"""The whole approval workflow, on SQLite and on a real PostgreSQL server: add, sign off, waive, status,
verify, export — and the refusals along the way."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from registry_fixtures import APPROVE_FACTS, REJECT_FACTS, REVIEW_FACTS, T0, FixedClock, new_registry

from clearance.errors import InputError, RegistryError
from clearance.registry import Registry, export_run, verify_export, verify_registry


def test_full_workflow(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    clock = FixedClock()
    d = dossier_factory(REVIEW_FACTS)
    with new_registry(registry_url, keys, clock) as reg:
        run = reg.add(d, registered_by="lead")
        assert run.id == 1 and run.decision == "needs_review"
        assert sorted(run.review_gates) == ["capability-floor", "fits-hardware"]
        assert run.reject_gates == [] and run.required_roles == ["security", "ml"]
        st = reg.status(run.id)
        assert st.status == "needs_review" and st.effective_decision == "needs_review"

        # A waiver for one gate is not enough; both review gates must be waived.
        reg.waive(
            run.id,
            gate="fits-hardware",
            reason="runs on the H200 pool",
            expires="2027-03-01",
            key=keys["bob"],
        )
        assert reg.status(run.id).status == "needs_review"
        reg.waive(
            run.id,
            gate="capability-floor",
            reason="retrieval use only",
            expires="2027-06-01",
            key=keys["bob"],
        )
        st = reg.status(run.id)
        assert st.effective_decision == "approved" and st.status == "pending_signoff"
        assert "security, ml" in st.reasons[0]

        reg.sign_off(run.id, role="security", key=keys["alice"], signer="alice", comment="scan clean")
        assert reg.status(run.id).status == "pending_signoff"
        clock.t = T0 + timedelta(hours=1)
        reg.sign_off(run.id, role="ml", key=keys["carol"], signer="carol")
        st = reg.status(run.id)
        assert st.status == "approved", st
        assert {r.role: r.state for r in st.roles} == {"security": "approved", "ml": "approved"}
        assert st.policy_facts()["registry.approved"] is True

        # a later rejection by a business reviewer vetoes
        reg.sign_off(
            run.id, role="business", key=keys["dave"], decision="reject", comment="no budget", signer="dave"
        )
        st = reg.status(run.id)
        assert st.status == "rejected" and any("no budget" in r for r in st.reasons)

        res = verify_registry(reg)
        assert res.ok, res.problems
        assert res.entries == 14 and res.signatures_checked == 12 and res.head_seq == 14

        exp = export_run(reg, run.id)
    data = json.loads(exp.model_dump_json(by_alias=True))
    assert data["schema"] == "clearance.registry-export/v2"
    ok = verify_export(data, expect_head=f"{res.head_seq}:{res.head_hash}")
    assert ok.ok, ok.problems
    assert ok.signatures_checked == 12 and ok.checkpoint is not None and ok.checkpoint.seq == 14
    # an auditor's copy with a sign-off's comment changed no longer verifies
    data["signoffs"][0]["comment"] = "looks fine"
    bad = verify_export(data)
    assert not bad.ok
    assert any("comment" in p.problem for p in bad.problems)


def test_rejected_policy_cannot_be_waived(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    with new_registry(registry_url, keys, FixedClock()) as reg:
        run = reg.add(dossier_factory(REJECT_FACTS))
        assert run.decision == "rejected" and "safety-refusal" in run.reject_gates
        with pytest.raises(RegistryError, match="cannot be waived"):
            reg.waive(run.id, gate="safety-refusal", reason="x", expires="2027-01-01", key=keys["bob"])
        with pytest.raises(RegistryError, match="does not need review"):
            reg.waive(run.id, gate="no-such-gate", reason="x", expires="2027-01-01", key=keys["bob"])
        reg.sign_off(run.id, role="security", key=keys["alice"])
        reg.sign_off(run.id, role="ml", key=keys["carol"])
        assert reg.status(run.id).status == "rejected"


def test_refusals(registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]) -> None:
    d = dossier_factory(APPROVE_FACTS)
    with new_registry(registry_url, keys, FixedClock()) as reg:
        run = reg.add(d)
        assert run.decision == "approved" and run.review_gates == []
        with pytest.raises(RegistryError, match="already registered as run 1"):
            reg.add(d)
        with pytest.raises(InputError, match="unknown role 'cfo'"):
            reg.sign_off(run.id, role="cfo", key=keys["alice"])
        with pytest.raises(RegistryError, match="no run 7"):
            reg.sign_off(7, role="ml", key=keys["alice"])
        reg.sign_off(run.id, role="security", key=keys["alice"])
        with pytest.raises(RegistryError, match="enrolled for security, not ml"):
            reg.sign_off(run.id, role="ml", key=keys["alice"])
        with pytest.raises(InputError, match="not in the future"):
            reg.waive(run.id, gate="x", reason="r", expires="2020-01-01", key=keys["bob"])
        # by digest prefix
        assert reg.run(run.dossier_digest[:10]).id == run.id
        assert reg.status(run.id).status == "pending_signoff"


def test_tampered_dossier_is_refused(
    tmp_path: Path, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    d = dossier_factory(APPROVE_FACTS)
    with (d / "stages" / "scan.json").open("a") as f:
        f.write(" ")
    with (
        new_registry(tmp_path / "r.db", keys) as reg,
        pytest.raises(RegistryError, match=r"dossier does not verify: stages/scan.json"),
    ):
        reg.add(d)
    with Registry(tmp_path / "r.db") as reg:
        assert reg.runs() == []


def test_config_roles_apply_to_new_runs(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    with new_registry(registry_url, keys, FixedClock()) as reg:
        assert reg.settings().model_dump() == {
            "required_roles": ["security", "ml"],
            "approval_days": 365,
            "separation_of_duties": True,
        }
        reg.configure(required_roles=["security", "ml", "legal"], approval_days=30, by=keys["admin"])
        run = reg.add(dossier_factory(APPROVE_FACTS))
        assert run.required_roles == ["security", "ml", "legal"] and run.approval_days == 30
        reg.sign_off(run.id, role="security", key=keys["alice"])
        reg.sign_off(run.id, role="ml", key=keys["carol"])
        st = reg.status(run.id)
        assert st.status == "pending_signoff" and "legal" in st.reasons[-1]
        reg.sign_off(run.id, role="legal", key=keys["dave"])
        assert reg.status(run.id).status == "approved"
        assert verify_registry(reg).ok


def test_concurrent_signoffs_keep_one_chain(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    """Eight writers on separate connections append at once: no lost, duplicated or forked entries."""
    d = dossier_factory(APPROVE_FACTS)
    with new_registry(registry_url, keys) as reg:
        run_id = reg.add(d).id
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            with Registry(registry_url) as r:
                for j in range(3):
                    r.sign_off(run_id, role="business", key=keys["dave"], comment=f"w{i}-{j}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with Registry(registry_url) as reg:
        res = verify_registry(reg)
        assert res.ok, res.problems
        assert res.entries == 8 + 1 + 8 * 3
        assert len(reg.signoffs(run_id)) == 24
