"""Signing keys kept in key files the administrator names: enrolment, sign-offs and waivers through the
web app's forms, and every way the file can go wrong (replaced, removed, too open, wrong passphrase)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy.orm import Session
from web_fixtures import PASSWORD, encrypted_pem, field, login

from clearance.errors import ClearanceError, InputError
from clearance.registry import verify_registry
from clearance.signing import key_fingerprint
from clearance.web.enrol import add_person, reset_person
from clearance.web.keys import KeyFileError, load_key_file
from clearance.web.people import MAX_FAILURES, UserRow
from clearance.web.pkcs8 import weak_encryption


def write_key(
    path: Path, kind: str = "ed25519", *, passphrase: str | None = None, mode: int = 0o600
) -> tuple[str, bytes]:
    """A PEM private key file (PKCS#8; encrypted with scrypt when ``passphrase`` is given); its
    fingerprint and DER."""
    curves = {"ecdsa-p256": ec.SECP256R1(), "ecdsa-p384": ec.SECP384R1()}
    key = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else ec.generate_private_key(curves[kind])
    path.write_bytes(
        encrypted_pem(key, passphrase)
        if passphrase
        else key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(mode)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_fingerprint(key), der


def _add(site, name: str, roles: list[str], key_file: Path) -> None:
    add_person(site.reg, site.people, name, roles, PASSWORD, site.keys.admin_key, key_file)


def _post(site, who: str, what: str, password: str = PASSWORD, **fields: str):
    """Sign in as ``who`` and submit the run's sign-off or waiver form (``what``) with ``password``."""
    login(site.client, who)
    page = site.client.get(f"/runs/{site.run_id}/{what}")
    assert page.status_code == 200, page.text
    return _submit(site, what, page.text, password, **fields)


def _submit(site, what: str, html: str, password: str, **fields: str):
    data = {"csrf": field(html, "csrf"), "nonce": field(html, "nonce"), "password": password} | fields
    return site.client.post(f"/runs/{site.run_id}/{what}", data=data, follow_redirects=False)


def _events(site, action: str, outcome: str) -> list:
    return [e for e in site.people.events(outcome=outcome) if e.action == action]


def test_a_whole_approval_signed_with_key_files_verifies_in_the_registry(site, tmp_path):
    kate_fp, kate_der = write_key(tmp_path / "kate.key", "ecdsa-p256")  # not encrypted, mode 0600
    ken_fp, ken_der = write_key(tmp_path / "ken.key", passphrase=PASSWORD, mode=0o644)  # encrypted
    wes_fp, _ = write_key(tmp_path / "wes.key", "ecdsa-p384", passphrase=PASSWORD)
    _add(site, "kate", ["security"], tmp_path / "kate.key")
    _add(site, "ken", ["ml"], tmp_path / "ken.key")
    _add(site, "wes", ["ml"], tmp_path / "wes.key")

    # The registry enrols the files' public keys for exactly the people's roles ...
    for name, fp, role in (("kate", kate_fp, "security"), ("ken", ken_fp, "ml"), ("wes", wes_fp, "ml")):
        enr = site.reg.enrolment(fp)
        assert enr is not None and enr.person == name and list(enr.roles) == [role]
        person = site.people.get(name)
        assert person.key_fingerprint == fp and person.key_kind == "file"
    # ... and the database holds the path and fingerprint, never the key.
    with Session(site.reg.engine) as s:
        row = s.query(UserRow).filter_by(name="kate").one()
        stored = " ".join(str(getattr(row, c.name)) for c in UserRow.__table__.columns)
        assert str(tmp_path / "kate.key") in row.sealed_key and kate_fp in row.sealed_key
        assert "PRIVATE KEY" not in stored and kate_der.hex() not in stored
        assert ken_der.hex() not in " ".join(r.sealed_key for r in s.query(UserRow))

    waive = _post(
        site, "wes", "waive", gate="capability-floor", role="ml", reason="pilot", expires="2027-06-01"
    )
    assert waive.status_code == 303, waive.text
    assert _post(site, "kate", "signoff", role="security", decision="approve").status_code == 303
    assert _post(site, "ken", "signoff", role="ml", decision="approve").status_code == 303

    assert site.reg.status(site.run_id).status == "approved"
    signed = {s.role: (s.signer, s.fingerprint, s.counts) for s in site.reg.signoffs(site.run_id)}
    assert signed == {"security": ("kate", kate_fp, True), "ml": ("ken", ken_fp, True)}
    (waiver,) = site.reg.waivers(site.run_id)
    assert waiver.fingerprint == wes_fp and waiver.counts
    res = verify_registry(site.reg)
    assert res.ok and res.signatures_checked >= 3


def test_a_replaced_key_file_is_refused_and_logged(site, tmp_path):
    path = tmp_path / "kate.key"
    write_key(path)
    original = path.read_bytes()
    _add(site, "kate", ["security"], path)
    write_key(path)  # someone puts another key in its place

    r = _post(site, "kate", "signoff", role="security", decision="approve")
    assert r.status_code == 401
    assert f"key file at {path} no longer holds the enrolled key" in r.text
    assert site.reg.signoffs(site.run_id) == []
    (denied,) = _events(site, "signoff", "denied")
    assert denied.user == "kate" and "no longer holds the enrolled key" in denied.detail
    assert denied.target == f"run {site.run_id} as security"

    path.write_bytes(original)  # the enrolled key back: it signs again
    assert _submit(site, "signoff", r.text, PASSWORD, role="security", decision="approve").status_code == 303
    assert [s.signer for s in site.reg.signoffs(site.run_id)] == ["kate"]


def test_a_removed_key_file_is_a_clear_error_not_a_crash(site, tmp_path):
    path = tmp_path / "ken.key"
    write_key(path, passphrase=PASSWORD)
    _add(site, "ken", ["ml"], path)
    path.unlink()

    r = _post(site, "ken", "waive", gate="capability-floor", role="ml", reason="x", expires="2027-06-01")
    assert r.status_code == 401
    assert f"key file {path} cannot be read (No such file or directory)" in r.text
    assert "Traceback" not in r.text and site.reg.waivers(site.run_id) == []
    assert [e.target for e in _events(site, "waive", "failed") if str(path) in e.detail] == [
        f"run {site.run_id} gate capability-floor"
    ]


def test_an_unencrypted_key_file_others_may_read_is_refused(site, tmp_path):
    path = tmp_path / "lax.key"
    fp, _ = write_key(path, mode=0o640)
    with pytest.raises(KeyFileError, match=r"not encrypted and group or others may access it \(mode 0640\)"):
        _add(site, "kate", ["security"], path)
    assert site.people.get("kate") is None and site.reg.enrolment(fp) is None  # nothing half-made

    path.chmod(0o600)
    _add(site, "kate", ["security"], path)
    path.chmod(0o604)  # opened to the world after enrolment
    r = _post(site, "kate", "signoff", role="security", decision="approve")
    assert r.status_code == 401 and "mode 0604" in r.text and "chmod 600" in r.text
    assert site.reg.signoffs(site.run_id) == []


def test_a_wrong_password_is_refused_and_throttled_with_a_key_file(site, tmp_path):
    write_key(tmp_path / "ken.key", passphrase=PASSWORD)
    _add(site, "ken", ["ml"], tmp_path / "ken.key")
    r = _post(site, "ken", "signoff", password="not my password", role="ml", decision="approve")
    assert r.status_code == 401 and "wrong user name or password" in r.text
    for _ in range(MAX_FAILURES - 1):
        r = _submit(site, "signoff", r.text, "not my password", role="ml", decision="approve")
        assert r.status_code == 401
    r = _submit(site, "signoff", r.text, PASSWORD, role="ml", decision="approve")  # now even the right one
    assert r.status_code == 401 and "too many failed attempts" in r.text
    assert site.reg.signoffs(site.run_id) == []
    assert any("throttled" in e.detail for e in _events(site, "signoff", "denied"))


def test_an_encrypted_key_file_must_open_with_the_persons_password(site, tmp_path):
    path = tmp_path / "ken.key"
    write_key(path, passphrase="another passphrase")
    with pytest.raises(KeyFileError, match="did not open with the password"):
        _add(site, "ken", ["ml"], path)
    assert site.people.get("ken") is None

    write_key(path, passphrase=PASSWORD)
    _add(site, "ken", ["ml"], path)
    fp = site.people.get("ken").key_fingerprint
    key = load_key_file(path, PASSWORD)  # the same key, re-encrypted under another passphrase
    path.write_bytes(encrypted_pem(key, "another passphrase"))
    r = _post(site, "ken", "signoff", role="ml", decision="approve")
    assert r.status_code == 401 and "did not open with the password" in r.text
    assert site.reg.signoffs(site.run_id) == [] and site.people.get("ken").key_fingerprint == fp


def test_role_escalation_is_refused_for_a_key_file_holder(site, tmp_path):
    path = tmp_path / "leo.key"
    write_key(path, "ecdsa-p256")
    _add(site, "leo", ["legal"], path)
    r = _post(site, "leo", "signoff", role="security", decision="approve")  # a legal reviewer as security
    assert r.status_code == 403
    assert any(e.user == "leo" for e in _events(site, "signoff", "denied"))
    # and the registry itself refuses the file's key for a role it is not enrolled for
    with pytest.raises(ClearanceError, match="security"):
        site.reg.sign_off(site.run_id, role="security", key=load_key_file(path, PASSWORD), decision="approve")
    assert site.reg.signoffs(site.run_id) == []


def test_wrong_files_are_refused_with_one_clear_line(site, tmp_path):
    rsa_path = tmp_path / "rsa.key"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    rsa_path.chmod(0o600)
    (tmp_path / "alice.pub").write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    cases = {
        tmp_path / "missing.key": "cannot be read (No such file or directory)",
        tmp_path: "is not a regular file",
        tmp_path / "alice.pub": "holds no PEM private key",
        rsa_path: "holds a RSAPrivateKey; use an Ed25519 or ECDSA key",
        site.keys.admin_key: "is enrolled in the registry already (to admin)",
    }
    for path, message in cases.items():
        with pytest.raises(InputError) as ei:
            _add(site, "eve", ["security"], path)
        assert message in str(ei.value) and "\n" not in str(ei.value)
        assert site.people.get("eve") is None


def test_reset_moves_a_person_to_a_key_file_and_back(site, tmp_path):
    old = site.people.get("alice")
    assert old.key_kind == "sealed"
    path = tmp_path / "alice.key"
    fp, der = write_key(path, passphrase="alice's new password")
    person, roles = reset_person(
        site.reg, site.people, "alice", "alice's new password", None, site.keys.admin_key, path
    )
    assert person.key_file == str(path) and person.key_fingerprint == fp and roles == ["security"]
    assert site.reg.enrolment(old.key_fingerprint).revoked_at  # the sealed key no longer signs
    login(site.client, "alice", "alice's new password")
    page = site.client.get(f"/runs/{site.run_id}/signoff")
    r = _submit(site, "signoff", page.text, "alice's new password", role="security", decision="approve")
    assert r.status_code == 303, r.text
    assert site.reg.signoffs(site.run_id)[0].fingerprint == fp
    assert "key file on the server" in site.client.get("/me").text

    # The same key again (re-encrypted for the new password): it was enrolled once already, so
    # nothing changes.
    path.write_bytes(encrypted_pem(serialization.load_der_private_key(der, None), "a third password!"))
    with pytest.raises(InputError, match="is enrolled in the registry already"):
        reset_person(site.reg, site.people, "alice", "a third password!", None, site.keys.admin_key, path)
    assert site.people.get("alice").key_fingerprint == fp
    login(site.client, "alice", "alice's new password")  # the password did not change either

    person, _ = reset_person(site.reg, site.people, "alice", PASSWORD, None, site.keys.admin_key)
    assert person.key_kind == "sealed" and site.reg.enrolment(fp).revoked_at


def test_key_file_paths_are_kept_absolute(site, tmp_path, monkeypatch):
    write_key(tmp_path / "kate.key")
    monkeypatch.chdir(tmp_path)
    _add(site, "kate", ["security"], Path("kate.key"))
    monkeypatch.chdir(os.path.dirname(tmp_path))
    assert site.people.get("kate").key_file == str(tmp_path / "kate.key")
    assert _post(site, "kate", "signoff", role="security", decision="approve").status_code == 303


def _reencrypt(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def test_an_encrypted_key_file_needs_a_strong_key_derivation(site, tmp_path):
    key = ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / "ken.key"
    pkcs8, legacy = serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL
    weak = {  # what cryptography and openssl write by default, and other weak or legacy schemes
        key.private_bytes(
            serialization.Encoding.PEM, pkcs8, serialization.BestAvailableEncryption(PASSWORD.encode())
        ): "PBKDF2-HMAC-SHA-256 with 2048 iterations, too weak for a key at rest",
        encrypted_pem(key, PASSWORD, kdf="pbkdf2", cost=599_999): "with 599999 iterations, too weak",
        encrypted_pem(key, PASSWORD, cost=2**13): "scrypt N=8192 r=8 p=1, too weak",
    }
    ec_key = ec.generate_private_key(ec.SECP256R1())
    weak[
        ec_key.private_bytes(
            serialization.Encoding.PEM, legacy, serialization.BestAvailableEncryption(PASSWORD.encode())
        )
    ] = "legacy PEM encryption (one MD5 round)"
    for data, message in weak.items():
        _reencrypt(path, data)
        with pytest.raises(KeyFileError, match=re.escape(message)):
            _add(site, "ken", ["ml"], path)
        assert site.people.get("ken") is None

    _reencrypt(path, encrypted_pem(key, PASSWORD, kdf="pbkdf2", cost=600_000))  # strong enough
    _add(site, "ken", ["ml"], path)
    assert site.people.get("ken").key_fingerprint == key_fingerprint(key)
    _reencrypt(path, next(iter(weak)))  # the same key, later re-encrypted weakly: no signature
    r = _post(site, "ken", "signoff", role="ml", decision="approve")
    assert r.status_code == 401 and "2048 iterations, too weak" in r.text
    assert site.reg.signoffs(site.run_id) == []


def test_a_malformed_encryption_header_is_an_answer_not_a_crash(tmp_path):
    pem = encrypted_pem(ed25519.Ed25519PrivateKey.generate(), PASSWORD)
    lines = pem.decode().splitlines()
    der = base64.b64decode("".join(lines[1:-1]))
    for cut in range(0, len(der), 7):  # every truncation and a flipped byte at each place
        for broken in (der[:cut], der[:cut] + bytes([der[cut] ^ 0xFF]) + der[cut + 1 :]):
            text = base64.b64encode(broken).decode()
            reason = weak_encryption(f"{lines[0]}\n{text}\n{lines[-1]}\n".encode())
            assert reason is None or isinstance(reason, str)
    path = tmp_path / "bad.key"
    _reencrypt(path, f"{lines[0]}\nAAAA\n{lines[-1]}\n".encode())
    with pytest.raises(KeyFileError, match=r"bad\.key holds no readable PEM private key"):
        load_key_file(path, PASSWORD)
    assert weak_encryption(path.read_bytes()) == "a malformed PKCS#8 encryption header"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_made_key_files(site, tmp_path):
    """What the administrator will actually run: openssl pkcs8 -scrypt passes, its defaults do not."""
    plain = tmp_path / "plain.key"
    write_key(plain)

    def pkcs8(out: Path, *flags: str) -> Path:
        subprocess.run(
            ["openssl", "pkcs8", "-topk8", *flags, "-in", str(plain), "-out", str(out), "-passout", "stdin"],
            input=PASSWORD.encode(),
            check=True,
            capture_output=True,
        )
        return out

    with pytest.raises(KeyFileError, match="2048 iterations, too weak"):
        load_key_file(pkcs8(tmp_path / "default.p8", "-v2", "aes-256-cbc"), PASSWORD)
    with pytest.raises(KeyFileError, match="PBES1"):
        load_key_file(pkcs8(tmp_path / "pbes1.p8", "-v1", "PBE-SHA1-3DES"), PASSWORD)
    strong = pkcs8(tmp_path / "scrypt.p8", "-scrypt")
    _add(site, "ken", ["ml"], strong)
    assert _post(site, "ken", "signoff", role="ml", decision="approve").status_code == 303
