"""`clearance web user add|reset|disable|list`: non-interactive account administration."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest
from web_fixtures import PASSWORD, encrypted_pem, new_registry

from clearance.cli import main
from clearance.registry import Registry
from clearance.web import People
from clearance.web.keys import KeyLocked, open_key


@pytest.fixture
def _run(capsys, monkeypatch):
    """Run the real CLI entry point (one-line errors, exit codes) with ``stdin`` piped in."""

    def run(*args: str, stdin: str = ""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as ei:
            main(list(args))
        out, err = capsys.readouterr()
        code = ei.value.code if isinstance(ei.value.code, int) else 0
        return SimpleNamespace(exit_code=code, stdout=out, output=out + err, stderr=err)

    return run


def _registry(tmp_path, monkeypatch) -> str:
    keys = new_registry(tmp_path)
    monkeypatch.setenv("CLEARANCE_ADMIN_KEY", str(keys.admin_key))
    return str(keys.location)


def test_add_list_reset_disable(tmp_path, _run, monkeypatch):
    db = _registry(tmp_path, monkeypatch)
    r = _run(
        "web",
        "user",
        "add",
        "alice",
        "--role",
        "security,ml",
        "--password-stdin",
        "--registry",
        db,
        "--json",
        stdin=PASSWORD + "\n",
    )
    assert r.exit_code == 0, r.output
    added = json.loads(r.stdout)
    assert added["roles"] == ["security", "ml"] and len(added["key_fingerprint"]) == 64

    with Registry(db) as reg:
        enr = reg.enrolment(added["key_fingerprint"])  # the key is bound to alice for both roles
        assert enr is not None and enr.person == "alice" and set(enr.roles) == {"security", "ml"}
        people = People(reg.engine)
        from sqlalchemy.orm import Session

        from clearance.web.people import UserRow

        with Session(reg.engine) as s:
            row = s.query(UserRow).filter_by(name="alice").one()
            assert row.password_hash.startswith("$argon2id$")
            assert PASSWORD not in row.sealed_key and "PRIVATE KEY" not in row.sealed_key
            key = open_key(row.sealed_key, PASSWORD, "alice")
            with pytest.raises(KeyLocked):
                open_key(row.sealed_key, "wrong password!!", "alice")
            with pytest.raises(KeyLocked):
                open_key(row.sealed_key, PASSWORD, "mallory")  # a sealed key copied to another account
        assert people.get("alice").key_fingerprint == added["key_fingerprint"]
        del key

    r = _run("web", "user", "list", "--registry", db, "--json")
    assert json.loads(r.stdout)["users"][0]["name"] == "alice"

    r = _run(
        "web",
        "user",
        "reset",
        "alice",
        "--password-stdin",
        "--registry",
        db,
        "--json",
        stdin="another long password\n",
    )
    assert r.exit_code == 0, r.output
    new_fp = json.loads(r.stdout)["key_fingerprint"]
    assert new_fp != added["key_fingerprint"]
    with Registry(db) as reg:  # the new key is enrolled, the old one revoked
        old, new = reg.enrolment(added["key_fingerprint"]), reg.enrolment(new_fp)
        assert old is not None and old.revoked_at and new is not None and not new.revoked_at

    r = _run("web", "user", "disable", "alice", "--registry", db)
    assert r.exit_code == 0 and "disabled alice" in r.stdout
    users = json.loads(_run("web", "user", "list", "--registry", db, "--json").stdout)["users"]
    assert users[0]["disabled"] is True
    with Registry(db) as reg:
        gone = reg.enrolment(new_fp)
        assert gone is not None and gone.revoked_at


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "security", "--password-stdin"], "short\n", "at least 12 characters"),
        (["--role", "security"], PASSWORD + "\n", "--password-stdin"),
        (["--role", "ceo", "--password-stdin"], PASSWORD + "\n", "unknown role 'ceo'"),
    ],
)
def test_add_refuses_bad_input_with_one_line(tmp_path, _run, monkeypatch, args, stdin, message):
    db = _registry(tmp_path, monkeypatch)
    r = _run("web", "user", "add", "bob", *args, "--registry", db, stdin=stdin)
    assert r.exit_code == 2
    assert message in r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1


def test_add_twice_is_refused(tmp_path, _run, monkeypatch):
    db = _registry(tmp_path, monkeypatch)
    assert (
        _run(
            "web", "user", "add", "bob", "--role", "ml", "--password-stdin", "--registry", db, stdin=PASSWORD
        ).exit_code
        == 0
    )
    r = _run(
        "web", "user", "add", "bob", "--role", "ml", "--password-stdin", "--registry", db, stdin=PASSWORD
    )
    assert r.exit_code == 2 and "already exists" in r.output


def _key_file(path, *, passphrase: str | None = None, mode: int = 0o600) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from clearance.signing import key_fingerprint

    key = ec.generate_private_key(ec.SECP256R1())
    plain = serialization.NoEncryption()
    path.write_bytes(
        encrypted_pem(key, passphrase)
        if passphrase
        else key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, plain)
    )
    path.chmod(mode)
    return key_fingerprint(key)


def _weak_key_file(path) -> None:
    """A key encrypted the way cryptography (and openssl pkcs8 -v2) do by default: PBKDF2, 2048 rounds."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519

    enc = ser.BestAvailableEncryption(PASSWORD.encode())
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, enc))


def test_add_and_reset_with_a_key_file_and_list_says_where_each_key_is(tmp_path, _run, monkeypatch):
    db = _registry(tmp_path, monkeypatch)
    fp = _key_file(tmp_path / "alice.key", passphrase=PASSWORD)
    add = ["web", "user", "add", "alice", "--role", "security", "--password-stdin", "--registry", db]
    r = _run(*add, "--key-file", str(tmp_path / "alice.key"), "--json", stdin=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    added = json.loads(r.stdout)
    assert added["key_fingerprint"] == fp and added["key_kind"] == "file"
    assert added["key_file"] == str(tmp_path / "alice.key") and added["enrolled_roles"] == ["security"]
    with Registry(db) as reg:
        enr = reg.enrolment(fp)
        assert enr is not None and enr.person == "alice" and list(enr.roles) == ["security"]
    r = _run(
        "web", "user", "add", "bob", "--role", "ml", "--password-stdin", "--registry", db, stdin=PASSWORD
    )
    assert r.exit_code == 0, r.output

    r = _run("web", "user", "list", "--registry", db)
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines()}
    assert lines["alice"].endswith(f"file {tmp_path / 'alice.key'}") and fp[:16] in lines["alice"]
    assert lines["bob"].endswith("sealed")
    users = {
        u["name"]: u
        for u in json.loads(_run("web", "user", "list", "--registry", db, "--json").stdout)["users"]
    }
    assert (users["alice"]["key_kind"], users["alice"]["key_file"]) == ("file", str(tmp_path / "alice.key"))
    assert (users["bob"]["key_kind"], users["bob"]["key_file"]) == ("sealed", None)

    new_fp = _key_file(tmp_path / "bob.key")  # bob moves to a key file (unencrypted, mode 0600)
    r = _run(
        "web", "user", "reset", "bob", "--password-stdin", "--key-file", str(tmp_path / "bob.key"),
        "--registry", db, stdin=PASSWORD,
    )  # fmt: skip
    assert r.exit_code == 0 and f"in key file {tmp_path / 'bob.key'}" in r.stdout, r.output
    with Registry(db) as reg:
        assert reg.enrolment(new_fp) is not None and not reg.enrolment(new_fp).revoked_at
        assert reg.enrolment(users["bob"]["key_fingerprint"]).revoked_at


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "cannot be read (No such file or directory)"),
        (lambda p: _key_file(p, mode=0o640), "not encrypted and group or others may access it (mode 0640)"),
        (lambda p: _key_file(p, passphrase="some other passphrase"), "did not open with the password"),
        (lambda p: p.write_text("not a key\n"), "holds no PEM private key"),
        (lambda p: _weak_key_file(p), "PBKDF2-HMAC-SHA-256 with 2048 iterations, too weak"),
    ],
)
def test_a_bad_key_file_is_one_line_and_exit_2(tmp_path, _run, monkeypatch, make, message):
    db = _registry(tmp_path, monkeypatch)
    path = tmp_path / "k.key"
    make(path)
    r = _run(
        "web", "user", "add", "eve", "--role", "security", "--password-stdin", "--key-file", str(path),
        "--registry", db, stdin=PASSWORD,
    )  # fmt: skip
    assert r.exit_code == 2 and message in r.output and str(path) in r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1 and "Traceback" not in r.output
    assert json.loads(_run("web", "user", "list", "--registry", db, "--json").stdout)["users"] == []
