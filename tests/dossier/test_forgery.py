"""The dossier attacks of issue 10: a forged dossier re-signed with a fresh key, and files or symlinks
added after sealing. Identity is decided by the verifier's trust list, never by a flag in the dossier."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dossier_fixtures import make_input

from clearance.dossier import RunDir, TrustList, load_trust_list, verify_dossier, write_dossier
from clearance.dossier.seal import MANIFEST, PUBLIC_KEY, SIGNATURE, build_manifest, sign_manifest
from clearance.errors import InputError
from clearance.signing import generate_keypair, key_fingerprint, load_private_key, load_public_key


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def sealed(run_dir: RunDir, tmp_path: Path) -> tuple[Path, Path]:
    """A dossier sealed with the operator's key; returns (dossier, operator's public key)."""
    priv, pub = generate_keypair(tmp_path / "trusted", "ecdsa-p256", "operator")
    write_dossier(run_dir.path, make_input(), key=priv)
    return run_dir.path, pub


def forge(root: Path, tmp_path: Path, *, claim_fingerprint: str | None = None) -> str:
    """Edit the decision to approved, re-sign everything with a fresh key, claim a non-ephemeral signer."""
    doc = json.loads((root / "dossier.json").read_text())
    doc["status"] = "approved"
    doc["decision"]["status"] = "approved"
    mallory = load_private_key(generate_keypair(tmp_path / "m", "ed25519", "mallory")[0])
    doc["signing"]["ephemeral"] = False
    doc["signing"]["fingerprint"] = claim_fingerprint or key_fingerprint(mallory)
    doc["signing"]["note"] = "Signed with the operator's production key."
    (root / "dossier.json").write_text(json.dumps(doc, indent=2))
    man, env, pub = sign_manifest(build_manifest(root), mallory)
    (root / MANIFEST).write_bytes(man)
    (root / SIGNATURE).write_bytes(env)
    (root / PUBLIC_KEY).write_bytes(pub)
    return key_fingerprint(mallory)


def test_forged_dossier_is_not_trusted(sealed: tuple[Path, Path], tmp_path: Path) -> None:
    """Repro: edit the decision, re-sign with a fresh key, set signing.ephemeral false: verify said OK and the
    identity note came from the dossier's own claim."""
    root, operator_pub = sealed
    good = verify_dossier(root, trusted_keys=operator_pub)
    assert good.ok and good.trusted and good.signer == "operator", good.failures
    mallory_fp = forge(root, tmp_path)

    res = verify_dossier(root)  # no trust list: integrity only, and it says so
    assert res.ok and res.trusted is None and res.signer is None and res.fingerprint == mallory_fp
    assert "not judged" in res.note and "operator" not in res.note

    res = verify_dossier(root, trusted_keys=operator_pub)
    assert not res.ok and res.trusted is False
    assert any("not in the trust list" in f.problem for f in res.failures)
    res = verify_dossier(root, trusted_keys=operator_pub.parent)  # a directory of trusted keys
    assert not res.ok and res.trusted is False

    out = cli("dossier", "verify", str(root), "--trusted-keys", str(operator_pub.parent))
    assert out.returncode == 1 and "not in the trust list" in out.stdout, out.stdout + out.stderr
    out = cli("dossier", "verify", str(root))
    assert out.returncode == 0 and "not judged" in out.stdout and "identity" in out.stdout


def test_stated_signer_must_be_the_signing_key(sealed: tuple[Path, Path], tmp_path: Path) -> None:
    root, operator_pub = sealed
    operator_fp = key_fingerprint(load_public_key(operator_pub))
    forge(root, tmp_path, claim_fingerprint=operator_fp)  # claims the operator, signed by mallory
    res = verify_dossier(root)
    assert not res.ok and any("states signer key" in f.problem for f in res.failures)


def test_trust_list_formats(sealed: tuple[Path, Path], tmp_path: Path) -> None:
    root, operator_pub = sealed
    fp = next(iter(load_trust_list(operator_pub).keys))
    listing = tmp_path / "trusted.txt"
    listing.write_text(f"# who may seal dossiers\nsha256:{fp} release-pipeline\n")
    res = verify_dossier(root, trusted_keys=listing)
    assert res.ok and res.signer == "release-pipeline"
    assert verify_dossier(root, trusted_keys=TrustList(source="mem", keys={fp: "ci"})).signer == "ci"
    bad = tmp_path / "bad.txt"
    bad.write_text("not a fingerprint\n")
    with pytest.raises(InputError, match="not a 'sha256:FINGERPRINT NAME' line"):
        verify_dossier(root, trusted_keys=bad)
    with pytest.raises(InputError, match="not found"):
        verify_dossier(root, trusted_keys=tmp_path / "nope")
    out = cli("dossier", "verify", str(root), "--trusted-keys", str(tmp_path / "nope"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("added", ["leftover.tmp", "stages/scan.json.tmp", "evals/notes.txt"])
def test_added_files_fail_verification(sealed: tuple[Path, Path], added: str) -> None:
    """Repro: added `*.tmp` files passed verification."""
    root, _ = sealed
    (root / added).parent.mkdir(parents=True, exist_ok=True)
    (root / added).write_text("injected")
    res = verify_dossier(root)
    assert not res.ok and [f.file for f in res.failures] == [added]
    assert "not listed in the signed manifest" in res.failures[0].problem


def test_symlinks_fail_verification(sealed: tuple[Path, Path], tmp_path: Path) -> None:
    """Repro: added directory symlinks passed verification."""
    root, _ = sealed
    os.symlink(tmp_path, root / "more-evidence")  # a directory symlink
    os.symlink(root / "report.html", root / "report-copy.html")  # a file symlink
    os.symlink(root / "nowhere", root / "dangling")
    res = verify_dossier(root)
    assert not res.ok
    assert {f.file for f in res.failures} == {"more-evidence", "report-copy.html", "dangling"}
    assert all("symlink not listed" in f.problem for f in res.failures)


def test_signed_directory_swapped_for_a_symlink_fails(sealed: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = sealed
    copy = tmp_path / "stages-copy"
    shutil.copytree(root / "stages", copy)
    shutil.rmtree(root / "stages")
    os.symlink(copy, root / "stages")
    res = verify_dossier(root)
    assert not res.ok
    assert any("symlinked directory" in f.problem for f in res.failures), res.failures
    assert any(f.file == "stages" and "symlink" in f.problem for f in res.failures)


def test_signed_file_swapped_for_a_symlink_fails(sealed: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = sealed
    target = tmp_path / "report.html"
    shutil.copy(root / "report.html", target)
    (root / "report.html").unlink()
    os.symlink(target, root / "report.html")
    res = verify_dossier(root)
    assert not res.ok and any(f.file == "report.html" and "symlink" in f.problem for f in res.failures)


def test_a_symlink_cannot_be_sealed(run_dir: RunDir, tmp_path: Path) -> None:
    os.symlink(tmp_path, run_dir.path / "elsewhere")
    with pytest.raises(InputError, match="elsewhere is a symlink"):
        write_dossier(run_dir.path, make_input())
