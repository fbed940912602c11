"""The registry commands end to end, in process: text and --json output, exit statuses, one-line errors."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from registry_fixtures import PEOPLE, REVIEW_FACTS, new_registry

from clearance.cli import main


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ei:
        main(list(args))
    out, err = capsys.readouterr()
    code = ei.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_cli_workflow(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    dossier_factory: Callable[..., Path],
    keys: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "reg.db"
    monkeypatch.setenv("CLEARANCE_REGISTRY", str(db))
    d = dossier_factory(REVIEW_FACTS)

    code, out, _ = cli(capsys, "registry", "add", str(d))
    assert code == 2  # no registry yet
    code, out, _ = cli(
        capsys, "registry", "init", "--admin", "admin", "--admin-key", str(keys["admin"]), "--json"
    )
    assert code == 0, out
    init = json.loads(out)
    assert init["settings"]["required_roles"] == ["security", "ml"] and init["admin"]["roles"] == ["admin"]
    assert (tmp_path / "reg.db.key").is_file() and (tmp_path / "reg.db.key").stat().st_mode & 0o077 == 0
    for person, roles in PEOPLE.items():
        args = ["--role", ",".join(roles), "--person", person, "--admin-key", str(keys["admin"])]
        code, out, err = cli(capsys, "registry", "enrol", str(keys[person].with_suffix(".pub")), *args)
        assert code == 0 and f"enrolled {person}" in out, err
    code, out, _ = cli(capsys, "registry", "keys", "--json")
    assert [e["person"] for e in json.loads(out)["enrolments"]] == ["admin", *PEOPLE]

    code, out, _ = cli(capsys, "registry", "add", str(d), "--json")
    assert code == 0
    run = json.loads(out)
    assert run["id"] == 1 and run["decision"] == "needs_review"

    code, out, _ = cli(capsys, "registry", "status", "1", "--json")
    assert code == 3 and json.loads(out)["status"] == "needs_review"

    for gate in ("fits-hardware", "capability-floor"):
        code, out, _ = cli(
            capsys,
            "waive",
            "1",
            "--gate",
            gate,
            "--reason",
            "ok for pilot",
            "--expires",
            "2099-01-01",
            "--key",
            str(keys["bob"]),
            "--by",
            "bob",
            "--json",
        )
        assert code == 0 and json.loads(out)["waiver"]["gate"] == gate
    code, out, _ = cli(
        capsys, "signoff", "1", "--role", "security", "--key", str(keys["alice"]), "--by", "alice"
    )
    assert code == 0 and "pending_signoff" in out
    code, out, _ = cli(capsys, "signoff", "1", "--role", "ml", "--key", str(keys["carol"]), "--json")
    assert code == 0 and json.loads(out)["status"] == "approved"

    code, out, _ = cli(capsys, "registry", "status", "1")
    assert code == 0 and "approved" in out and "role security" in out

    code, out, _ = cli(capsys, "registry", "list", "--json")
    assert code == 0 and [r["status"] for r in json.loads(out)["runs"]] == ["approved"]
    code, out, _ = cli(capsys, "registry", "show", "1")
    assert code == 0 and "sign-offs" in out and "alice" in out

    code, out, _ = cli(capsys, "registry", "verify", "--json")
    res = json.loads(out)
    assert code == 0 and res["ok"] and res["entries"] == 13 and res["signatures_checked"] == 11
    assert res["checkpoint"]["seq"] == 13
    head = f"{res['head_seq']}:{res['head_hash']}"

    exp = tmp_path / "run-1.json"
    code, out, _ = cli(capsys, "registry", "export", "1", "--out", str(exp), "--json")
    assert code == 0 and json.loads(out)["head"] == head
    code, out, _ = cli(capsys, "registry", "verify", "--export", str(exp), "--expect-head", head)
    assert code == 0 and out.startswith("OK")

    # tamper with the database: verify exits 1 and names the entry
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE ledger SET recorded_at = '2026-01-01T00:00:00+00:00' WHERE seq = 10")
    con.close()
    code, out, _ = cli(capsys, "registry", "verify")
    assert code == 1 and "FAILED" in out and "entry 10 (waiver) was edited" in out


def test_cli_errors_are_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    dossier_factory: Callable[..., Path],
    keys: dict[str, Path],
) -> None:
    db = str(tmp_path / "reg.db")
    code, _, err = cli(capsys, "registry", "list", "--registry", db)
    assert code == 2 and "no registry at" in err and "Traceback" not in err
    new_registry(db, keys).close()
    d = dossier_factory(REVIEW_FACTS)
    (d / "report.html").write_text("tampered")
    code, _, err = cli(capsys, "registry", "add", str(d), "--registry", db)
    assert code == 2 and "dossier does not verify: report.html" in err
    code, _, err = cli(capsys, "registry", "add", str(tmp_path), "--registry", db)
    assert code == 2 and "has no dossier.json" in err
    code, _, err = cli(capsys, "signoff", "9", "--role", "ml", "--key", str(keys["alice"]), "--registry", db)
    assert code == 2 and "no run 9" in err
    code, _, err = cli(capsys, "registry", "list", "--registry", "postgresql+nosuchdriver://x/y")
    assert code == 2 and "registry URL" in err and len(err.strip().splitlines()) == 1
