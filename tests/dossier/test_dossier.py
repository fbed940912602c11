"""Dossier write/verify, tamper detection naming the file, atomicity of unfinished runs, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dossier_fixtures import make_input

from clearance.dossier import RunDir, verify_dossier, write_dossier
from clearance.errors import InputError
from clearance.signing import generate_keypair


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=60
    )


def test_write_then_verify_ok_and_seals_run(run_dir: RunDir) -> None:
    w = write_dossier(run_dir.path, make_input())
    assert not run_dir.partial
    assert w.signing.ephemeral and w.signing.algorithm == "Ed25519" and len(w.signing.fingerprint) == 64
    doc = json.loads(Path(w.dossier_json).read_text())
    assert doc["status"] == "rejected" and doc["decision"]["status"] == "rejected"
    man = json.loads((run_dir.path / "manifest.json").read_text())
    paths = [f["path"] for f in man["files"]]
    assert {"dossier.json", "report.html", "stages/scan.json", "evals/safety-refusal/samples.jsonl"} <= set(
        paths
    )
    res = verify_dossier(run_dir.path)
    assert res.ok, res.failures
    assert res.files_checked == len(paths) and res.fingerprint == w.signing.fingerprint
    assert "integrity, not identity" in res.note


@pytest.mark.parametrize(
    "target", ["evals/safety-refusal/samples.jsonl", "report.html", "dossier.json", "stages/scan.json"]
)
def test_one_flipped_byte_is_detected_naming_the_file(run_dir: RunDir, target: str) -> None:
    write_dossier(run_dir.path, make_input())
    p = run_dir.path / target
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))
    res = verify_dossier(run_dir.path)
    assert not res.ok
    assert [f.file for f in res.failures] == [target]
    assert "sha256 differs" in res.failures[0].problem


def test_tampered_signature_and_manifest_fail(run_dir: RunDir) -> None:
    write_dossier(run_dir.path, make_input())
    sig = run_dir.path / "manifest.sig.json"
    env = json.loads(sig.read_text())
    raw = bytearray(__import__("base64").b64decode(env["signatures"][0]["sig"]))
    raw[0] ^= 0x01
    env["signatures"][0]["sig"] = __import__("base64").b64encode(bytes(raw)).decode()
    sig.write_text(json.dumps(env))
    res = verify_dossier(run_dir.path)
    assert not res.ok and res.failures[0].file == "manifest.sig.json"


def test_edited_manifest_and_added_and_removed_files_fail(run_dir: RunDir) -> None:
    write_dossier(run_dir.path, make_input())
    (run_dir.path / "extra.txt").write_text("sneaky")
    (run_dir.path / "stages/scan.json").unlink()
    res = verify_dossier(run_dir.path)
    problems = {f.file: f.problem for f in res.failures}
    assert "added" in problems["extra.txt"] and "missing" in problems["stages/scan.json"]
    man = run_dir.path / "manifest.json"
    man.write_text(man.read_text().replace('"hash":"sha256"', '"hash":"sha256 "'))
    res2 = verify_dossier(run_dir.path)
    assert any(f.file == "manifest.json" for f in res2.failures)


def test_given_key_is_used_and_checked(run_dir: RunDir, tmp_path: Path) -> None:
    priv, pub = generate_keypair(tmp_path / "keys", kind="ed25519")
    _other_priv, other_pub = generate_keypair(tmp_path / "other", kind="ecdsa-p256")
    w = write_dossier(run_dir.path, make_input(), key=priv)
    assert not w.signing.ephemeral
    assert verify_dossier(run_dir.path, public_key=pub).ok
    bad = verify_dossier(run_dir.path, public_key=other_pub)
    assert not bad.ok and bad.failures[0].file == "manifest.sig.json"


def test_unfinished_run_is_not_a_dossier_and_keeps_partial_results(run_dir: RunDir) -> None:
    assert run_dir.partial
    with pytest.raises(InputError, match="unfinished run"):
        verify_dossier(run_dir.path)
    assert (run_dir.path / "stages/scan.json").is_file()
    assert not (run_dir.path / "dossier.json").exists()


def test_refuses_to_reuse_a_sealed_directory(run_dir: RunDir) -> None:
    write_dossier(run_dir.path, make_input())
    with pytest.raises(InputError, match="already holds"):
        RunDir(run_dir.path).begin()
    with pytest.raises(InputError, match="already holds"):
        write_dossier(run_dir.path, make_input())


def test_cli_verify_exit_codes(run_dir: RunDir, tmp_path: Path) -> None:
    write_dossier(run_dir.path, make_input())
    ok = cli("dossier", "verify", str(run_dir.path), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    (run_dir.path / "report.html").write_text("<html>forged</html>")
    bad = cli("dossier", "verify", str(run_dir.path))
    assert bad.returncode == 1 and "report.html" in bad.stdout
    none = cli("dossier", "verify", str(tmp_path))
    assert none.returncode == 2 and "not a dossier" in none.stderr and "Traceback" not in none.stderr
    show = cli("dossier", "show", str(run_dir.path), "--json")
    assert show.returncode == 0 and json.loads(show.stdout)["status"] == "rejected"
