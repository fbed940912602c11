"""The registry attacks of issue 10 ("What breaks now"), each reproduced as an attacker would, on SQLite
and on a real PostgreSQL server: every one of them approved, crashed or went unnoticed before."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from registry_fixtures import APPROVE_FACTS, REVIEW_FACTS, FixedClock, new_registry
from sqlalchemy import text

from clearance.cli import main
from clearance.errors import InputError, RegistryError
from clearance.registry import Registry, verify_registry
from clearance.signing import generate_keypair

# The safety gate was never measured: its facts are absent, so it goes to review as "missing".
UNMEASURED_FACTS = {k: v for k, v in APPROVE_FACTS.items() if not k.startswith("evals.safety-refusal")}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ei:
        main(list(args))
    out, err = capsys.readouterr()
    code = ei.value.code
    return (code if isinstance(code, int) else 0), out, err


def _sql(reg: Registry, *statements: str) -> None:
    with reg.engine.begin() as con:
        for st in statements:
            con.execute(text(st))


def test_one_person_cannot_approve_alone(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path], tmp_path: Path
) -> None:
    """Repro: `--require ""` plus waivers signed with one's own key gave 'approved' with zero sign-offs."""
    own = generate_keypair(tmp_path / "own", "ecdsa-p256", "me")[0]
    with new_registry(registry_url, keys, FixedClock()) as reg:
        with pytest.raises(InputError, match="cannot be empty"):
            reg.add(dossier_factory(REVIEW_FACTS), required_roles=[])
        with pytest.raises(InputError, match="not drop security, ml"):
            reg.add(dossier_factory(REVIEW_FACTS), required_roles=["legal"])
        with pytest.raises(InputError, match="cannot be empty"):
            reg.configure(required_roles=[], by=keys["admin"])
        run = reg.add(dossier_factory(REVIEW_FACTS))
        # a key nobody enrolled waives nothing
        with pytest.raises(RegistryError, match="not enrolled"):
            reg.waive(run.id, gate="fits-hardware", reason="mine", expires="2099-01-01", key=own)
        # bob waives both gates (he holds ml), then cannot approve what he waived
        for gate in ("fits-hardware", "capability-floor"):
            reg.waive(run.id, gate=gate, reason="pilot", expires="2099-01-01", key=keys["bob"])
        with pytest.raises(RegistryError, match="separation of duties: bob waived gate"):
            reg.sign_off(run.id, role="ml", key=keys["bob"])
        st = reg.status(run.id)
        assert st.status == "pending_signoff" and st.roles[0].state == "missing"
        # the run-signer who submitted it cannot approve either, even if also enrolled as security
        reg.enrol(keys["mallory"].with_suffix(".pub"), person="runner", roles=["security"], by=keys["admin"])
        with pytest.raises(RegistryError, match="runner submitted run 1"):
            reg.sign_off(run.id, role="security", key=keys["mallory"])
        assert reg.status(run.id).status == "pending_signoff"
    with pytest.raises(SystemExit):
        main(
            [
                "registry",
                "add",
                str(dossier_factory(REVIEW_FACTS)),
                "--require",
                "",
                "--registry",
                registry_url,
            ]
        )


def test_cli_require_empty_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    dossier_factory: Callable[..., Path],
    keys: dict[str, Path],
) -> None:
    db = str(tmp_path / "r.db")
    new_registry(db, keys).close()
    d = str(dossier_factory(REVIEW_FACTS))
    code, _, err = cli(capsys, "registry", "add", d, "--require", "", "--registry", db)
    assert code == 2 and "--require cannot be empty" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(capsys, "registry", "add", d, "--require", ",", "--registry", db)
    assert code == 2 and "cannot be empty" in err


def test_unmeasured_evidence_is_not_waivable(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    """Repro: 'missing → review' was waivable, so a never-measured safety gate could be waived away."""
    with new_registry(registry_url, keys, FixedClock()) as reg:
        run = reg.add(dossier_factory(UNMEASURED_FACTS))
        assert run.decision == "needs_review" and run.unmeasured_gates == ["safety-refusal"]
        assert run.review_gates == []
        with pytest.raises(RegistryError, match="never measured"):
            reg.waive(run.id, gate="safety-refusal", reason="trust me", expires="2099-01-01", key=keys["bob"])
        reg.sign_off(run.id, role="security", key=keys["alice"])
        reg.sign_off(run.id, role="ml", key=keys["carol"])
        st = reg.status(run.id)
        assert st.status == "needs_review"
        assert {g.gate: g.state for g in st.gates} == {"safety-refusal": "unmeasured"}
        assert "not waivable" in st.reasons[0]


def test_keygen_twice_does_not_fill_two_roles(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path], tmp_path: Path
) -> None:
    """Repro: `clearance keygen` twice filled both roles; keys were bound to no person or role."""
    k1 = generate_keypair(tmp_path / "a", "ecdsa-p256", "k1")[0]
    k2 = generate_keypair(tmp_path / "b", "ed25519", "k2")[0]
    with new_registry(registry_url, keys, FixedClock()) as reg:
        run = reg.add(dossier_factory(APPROVE_FACTS))
        for key, role in ((k1, "security"), (k2, "ml")):
            with pytest.raises(RegistryError, match="not enrolled"):
                reg.sign_off(run.id, role=role, key=key)
        # the admin gives alice a second key for ml: one person still approves in one role only
        reg.enrol(k2.with_suffix(".pub"), person="alice", roles=["ml"], by=keys["admin"])
        reg.sign_off(run.id, role="security", key=keys["alice"])
        with pytest.raises(RegistryError, match="alice already approved run 1 as security"):
            reg.sign_off(run.id, role="ml", key=k2)
        # a key cannot sign for a role it is not enrolled for, and only an admin enrols
        with pytest.raises(RegistryError, match="enrolled for security, not ml"):
            reg.sign_off(run.id, role="ml", key=keys["alice"])
        with pytest.raises(RegistryError, match="enrolled for security, not admin"):
            reg.enrol(k1.with_suffix(".pub"), person="alice", roles=["ml"], by=keys["alice"])
        assert reg.status(run.id).status == "pending_signoff"
        assert verify_registry(reg).ok


def test_veto_stands_until_the_same_role_withdraws_it(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    """Repro: a `--reject` veto was overridden silently by any later key for that role."""
    clock = FixedClock()
    with new_registry(registry_url, keys, clock) as reg:
        run = reg.add(dossier_factory(APPROVE_FACTS))
        reg.sign_off(run.id, role="security", key=keys["alice"])
        veto = reg.sign_off(run.id, role="ml", key=keys["carol"], decision="reject", comment="hallucinates")
        reg.sign_off(run.id, role="ml", key=keys["bob"])  # a later ml approval does not lift it
        st = reg.status(run.id)
        assert st.status == "rejected" and any("hallucinates" in r for r in st.reasons)
        with pytest.raises(RegistryError, match="enrolled for security, not ml"):
            reg.withdraw(veto.id, key=keys["alice"])
        with pytest.raises(RegistryError, match="not a veto"):
            reg.withdraw(veto.id - 1, key=keys["bob"])
        wd = reg.withdraw(veto.id, key=keys["bob"], comment="fixed in the prompt")
        assert wd.role == "ml" and wd.signer == "bob"
        assert reg.status(run.id).status == "approved"
        assert [s.withdrawn for s in reg.signoffs(run.id)] == [False, True, False]
        with pytest.raises(RegistryError, match="already withdrawn"):
            reg.withdraw(veto.id, key=keys["carol"])
        res = verify_registry(reg)
        assert res.ok, res.problems
        # carol's own later approval does not lift her veto either: only a withdrawal does
        run2 = reg.add(dossier_factory(APPROVE_FACTS, "other"))
        reg.sign_off(run2.id, role="security", key=keys["alice"])
        reg.sign_off(run2.id, role="ml", key=keys["carol"], decision="reject")
        reg.sign_off(run2.id, role="ml", key=keys["carol"])
        assert reg.status(run2.id).status == "rejected"


def test_one_key_two_roles_concurrently_lands_once(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    """Repro (PostgreSQL): two concurrent sign-offs with one key for two roles both landed, because the
    duplicate check ran before the row lock. Now the check runs under the chain-head lock."""
    with new_registry(registry_url, keys) as reg:
        reg.enrol(
            keys["mallory"].with_suffix(".pub"), person="erin", roles=["security", "ml"], by=keys["admin"]
        )
        runs = [reg.add(dossier_factory(APPROVE_FACTS, f"m{i}")).id for i in range(4)]
    for run_id in runs:
        barrier = threading.Barrier(2)
        results: list[str] = []

        def sign(
            role: str,
            run_id: int = run_id,
            barrier: threading.Barrier = barrier,
            results: list[str] = results,
        ) -> None:
            with Registry(registry_url) as r:
                barrier.wait()
                try:
                    r.sign_off(run_id, role=role, key=keys["mallory"])
                    results.append("ok")
                except RegistryError as exc:
                    results.append(str(exc))

        threads = [threading.Thread(target=sign, args=(role,)) for role in ("security", "ml")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results.count("ok") == 1, results
        assert "erin already approved" in next(r for r in results if r != "ok")
    with Registry(registry_url) as reg:
        for run_id in runs:
            assert len(reg.signoffs(run_id)) == 1 and reg.status(run_id).status == "pending_signoff"
        assert verify_registry(reg).ok


def test_deleted_settings_are_detected_and_ignored(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    """Repro: `DELETE FROM settings` went unnoticed and the defaults returned."""
    with new_registry(registry_url, keys, FixedClock()) as reg:
        reg.configure(required_roles=["security", "ml", "legal"], approval_days=30, by=keys["admin"])
        _sql(reg, "DELETE FROM settings")
        assert reg.settings().required_roles == ["security", "ml", "legal"]
        assert reg.add(dossier_factory(APPROVE_FACTS)).required_roles == ["security", "ml", "legal"]
        res = verify_registry(reg)
        assert not res.ok
        assert any("setting row required_roles is missing (deleted)" in p.problem for p in res.problems)
        # a forged settings row changes nothing either
        _sql(reg, "INSERT INTO settings (key, value, ledger_seq) VALUES ('required_roles', '[\"ml\"]', 3)")
        assert reg.settings().required_roles == ["security", "ml", "legal"]
        # and only an admin changes them
        with pytest.raises(RegistryError, match="enrolled for security, not admin"):
            reg.configure(required_roles=["ml"], by=keys["alice"])


def test_cut_tail_is_caught_on_both_stores(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    """Repro: cutting entries from the end was caught only with a head kept outside the database."""
    with new_registry(registry_url, keys, FixedClock()) as reg:
        run = reg.add(dossier_factory(APPROVE_FACTS))
        reg.sign_off(run.id, role="security", key=keys["alice"])
        reg.sign_off(run.id, role="ml", key=keys["carol"], decision="reject", comment="no")
        assert reg.status(run.id).status == "rejected"
        last = verify_registry(reg).head_seq
        # the DBA removes the veto from the end of the ledger and rewinds the head consistently
        with reg.engine.begin() as con:
            prev = con.execute(text(f"SELECT entry_hash FROM ledger WHERE seq = {last - 1}")).scalar_one()
            con.execute(text(f"DELETE FROM signoffs WHERE ledger_seq = {last}"))
            con.execute(text(f"DELETE FROM ledger WHERE seq = {last}"))
            con.execute(text("UPDATE chain_head SET seq = :s, entry_hash = :h"), {"s": last - 1, "h": prev})
        res = verify_registry(reg)
        assert not res.ok and any("cut from the end" in p.problem for p in res.problems), res.problems
        st = reg.status(run.id)
        assert st.status == "needs_review" and any("ledger does not verify" in f for f in st.flags)
        # and nobody can write on top of it (a new checkpoint would launder the cut)
        with pytest.raises(RegistryError, match="refusing to write: the ledger does not verify"):
            reg.sign_off(run.id, role="ml", key=keys["bob"])


def test_as_of_ignores_what_was_signed_later(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    """Repro: `status --as-of 2000-01-01` said approved using 2026 sign-offs."""
    clock = FixedClock()
    with new_registry(registry_url, keys, clock) as reg:
        run = reg.add(dossier_factory(REVIEW_FACTS))
        clock.t = datetime(2026, 12, 1, tzinfo=UTC)
        reg.waive(run.id, gate="fits-hardware", reason="pool", expires="2027-06-01", key=keys["bob"])
        reg.waive(run.id, gate="capability-floor", reason="narrow", expires="2027-06-01", key=keys["bob"])
        clock.t = datetime(2026, 12, 5, tzinfo=UTC)
        reg.sign_off(run.id, role="security", key=keys["alice"])
        clock.t = datetime(2026, 12, 10, tzinfo=UTC)
        reg.sign_off(run.id, role="ml", key=keys["carol"])
        assert reg.status(run.id).status == "approved"
        assert reg.status(run.id, as_of=datetime(2026, 12, 9, tzinfo=UTC)).status == "pending_signoff"
        assert reg.status(run.id, as_of=datetime(2026, 11, 30, tzinfo=UTC)).status == "needs_review"
        with pytest.raises(RegistryError, match="registered at 2026-11-29"):
            reg.status(run.id, as_of=datetime(2000, 1, 1, tzinfo=UTC))
        # a clock set back cannot slip an entry in before later ones
        clock.t = datetime(2026, 12, 1, tzinfo=UTC)
        with pytest.raises(RegistryError, match="behind the ledger"):
            reg.sign_off(run.id, role="business", key=keys["dave"], decision="reject")


def test_bounded_inputs_are_one_line_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    dossier_factory: Callable[..., Path],
    keys: dict[str, Path],
) -> None:
    """Repro: `--approval-days 1000000000` broke status and list for good; a 23-digit run id and
    `signoff --key DIR` ended in tracebacks."""
    db = str(tmp_path / "r.db")
    new_registry(db, keys).close()
    d = str(dossier_factory(APPROVE_FACTS))
    code, _, err = cli(capsys, "registry", "add", d, "--approval-days", "1000000000", "--registry", db)
    assert code == 2 and "approval validity must be 1..365 days" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(
        capsys,
        "registry",
        "config",
        "--approval-days",
        "1000000000",
        "--admin-key",
        str(keys["admin"]),
        "--registry",
        db,
    )
    assert code == 2 and "1..3660 days" in err
    code, out, _ = cli(capsys, "registry", "add", d, "--approval-days", "30", "--registry", db, "--json")
    assert code == 0 and json.loads(out)["approval_days"] == 30
    code, out, _ = cli(capsys, "registry", "list", "--registry", db, "--json")
    assert code == 0 and json.loads(out)["runs"][0]["status"] == "pending_signoff"
    code, _, err = cli(capsys, "registry", "status", "99999999999999999999999", "--registry", db)
    assert code == 2 and "no run 99999999999999999999999" in err and "Traceback" not in err
    code, _, err = cli(capsys, "registry", "status", "1", "--as-of", "yesterday", "--registry", db)
    assert code == 2 and "--as-of" in err
    code, _, err = cli(capsys, "signoff", "1", "--role", "ml", "--key", str(tmp_path), "--registry", db)
    assert code == 2 and "key is not a file" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(
        capsys,
        "registry",
        "enrol",
        str(tmp_path),
        "--person",
        "x",
        "--role",
        "ml",
        "--admin-key",
        str(keys["admin"]),
        "--registry",
        db,
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, out, err = cli(capsys, "registry", "status", "1", "--as-of", "2000-01-01", "--registry", db)
    assert code == 2 and "registered at" in err and "approved" not in out


def test_writes_need_the_registry_key(
    registry_url: str,
    dossier_factory: Callable[..., Path],
    keys: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with new_registry(registry_url, keys, FixedClock()) as reg:
        reg.add(dossier_factory(APPROVE_FACTS))
    monkeypatch.delenv("CLEARANCE_REGISTRY_KEY", raising=False)
    if "://" not in registry_url:
        Path(registry_url + ".key").rename(registry_url + ".moved")
    with Registry(registry_url, clock=FixedClock()) as reg:
        assert reg.status(1).status == "pending_signoff"  # reading needs no key
        with pytest.raises(RegistryError, match="needs its key"):
            reg.sign_off(1, role="security", key=keys["alice"])
    with (
        Registry(registry_url, clock=FixedClock(), key=keys["mallory"]) as reg,
        pytest.raises(RegistryError, match=r"not this registry's key|re-keyed"),
    ):
        reg.sign_off(1, role="security", key=keys["alice"])


def test_forged_dossier_is_refused_or_never_approved(
    registry_url: str,
    dossier_factory: Callable[..., Path],
    keys: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Repro: a dossier re-signed with a fresh key was accepted as approved and showed no signer."""
    forged = dossier_factory(APPROVE_FACTS, "forged", key=keys["mallory"])  # a key nobody enrolled
    with new_registry(registry_url, keys, FixedClock()) as reg:
        with pytest.raises(RegistryError, match=r"is not enrolled here.*--untrusted"):
            reg.add(forged)
        run = reg.add(forged, allow_untrusted=True)
        assert run.signer_trusted is False and run.signer_person is None and run.dossier_signer
        reg.sign_off(run.id, role="security", key=keys["alice"])
        reg.sign_off(run.id, role="ml", key=keys["carol"])
        st = reg.status(run.id)
        assert st.status == "needs_review" and any("untrusted run" in r for r in st.reasons)
        good = reg.add(dossier_factory(APPROVE_FACTS))
        assert good.signer_trusted and good.signer_person == "runner"
        assert reg.run_signer_keys() == {good.dossier_signer: "runner"}
    code, out, _ = cli(capsys, "dossier", "verify", str(forged), "--registry", registry_url)
    assert code == 1 and "not in the trust list" in out
    code, out, _ = cli(
        capsys, "dossier", "verify", str(good.dossier_path), "--registry", registry_url, "--json"
    )
    res = json.loads(out)
    assert code == 0 and res["trusted"] is True and res["signer"] == "runner"
    code, out, _ = cli(capsys, "registry", "show", "1", "--registry", registry_url)
    assert code == 0 and "UNTRUSTED" in out and run.dossier_signer in out


def test_altered_chain_head_blocks_writes(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    """A DBA moves the chain head back so the next write forks the chain: caught before any write."""
    with new_registry(registry_url, keys, FixedClock()) as reg:
        run = reg.add(dossier_factory(APPROVE_FACTS))
        _sql(reg, "UPDATE chain_head SET seq = 3")
        with pytest.raises(RegistryError, match="chain head records entry 3"):
            reg.sign_off(run.id, role="security", key=keys["alice"])
        assert not verify_registry(reg).ok
        assert reg.status(run.id).status == "needs_review"  # never approved on a ledger that does not verify


def test_export_carries_the_checkpoint(
    tmp_path: Path, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    """An auditor's export cut at the end (or re-chained under another registry key) does not verify."""
    from clearance.registry import export_run, verify_export

    with new_registry(tmp_path / "r.db", keys, FixedClock()) as reg:
        run = reg.add(dossier_factory(APPROVE_FACTS))
        reg.sign_off(run.id, role="security", key=keys["alice"])
        reg.sign_off(run.id, role="ml", key=keys["carol"], decision="reject")
        fp = verify_registry(reg).registry_fingerprint
        data = json.loads(export_run(reg, run.id).model_dump_json(by_alias=True))
    assert verify_export(data, registry_fingerprint=fp).ok
    cut = {**data, "ledger": data["ledger"][:-1], "signoffs": data["signoffs"][:-1]}
    cut["head_seq"], cut["head_hash"] = cut["ledger"][-1]["seq"], cut["ledger"][-1]["entry_hash"]
    res = verify_export(cut)
    assert not res.ok and any("cut from the end" in p.problem for p in res.problems), res.problems
    assert not verify_export({**data, "checkpoint": None}).ok
    other = verify_export(data, registry_fingerprint="0" * 64)
    assert not other.ok and any("re-keyed" in p.problem for p in other.problems)
