"""OMS v1.0 model signatures: key and certificate methods, tampering, and compatibility with model-signing."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from clearance.errors import InputError, SignatureError
from clearance.model.manifest import build_manifest
from clearance.signing import generate_keypair
from clearance.signing.oms import PREDICATE_TYPE, read_bundle, sign_model, verify_model

REPO = Path(__file__).resolve().parents[2]
MS = REPO / "bench" / ".venvs" / "ms" / "bin" / "model_signing"


def make_model(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text('{"model_type": "llama"}')
    (root / "model.safetensors").write_bytes(bytes(range(256)) * 64)
    (root / "sub").mkdir()
    (root / "sub" / "tokenizer.json").write_text("{}")
    (root / ".gitattributes").write_text("*.safetensors filter=lfs")
    return root


def test_key_sign_verify_and_statement_layout(tmp_path: Path) -> None:
    model = make_model(tmp_path / "tiny")
    priv, pub = generate_keypair(tmp_path / "keys")
    sig = sign_model(model, priv, tmp_path / "model.sig")
    bundle = read_bundle(sig)
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    env = bundle["dsseEnvelope"]
    assert isinstance(env, dict) and env["payloadType"] == "application/vnd.in-toto+json"
    st = json.loads(base64.b64decode(env["payload"]))
    assert st["_type"] == "https://in-toto.io/Statement/v1" and st["predicateType"] == PREDICATE_TYPE
    names = [r["name"] for r in st["predicate"]["resources"]]
    assert names == ["config.json", "model.safetensors", "sub/tokenizer.json"]  # .gitattributes ignored
    assert st["subject"][0]["name"] == "tiny"
    m = build_manifest(model)
    assert st["subject"][0]["digest"]["sha256"] != ""
    assert {r["name"]: r["digest"] for r in st["predicate"]["resources"]}["config.json"] == m.digests()[
        "config.json"
    ]
    res = verify_model(model, sig, public_key=pub)
    assert res.verified and res.method == "key" and res.files == 3
    assert res.policy_facts()["signing.verified"] is True


def test_signature_inside_model_dir_is_ignored(tmp_path: Path) -> None:
    model = make_model(tmp_path / "tiny")
    priv, pub = generate_keypair(tmp_path / "keys")
    sig = sign_model(model, priv)
    assert sig == model / "model.sig"
    assert verify_model(model, sig, public_key=pub).verified


def test_tampered_extra_missing_and_wrong_key_fail(tmp_path: Path) -> None:
    model = make_model(tmp_path / "tiny")
    priv, pub = generate_keypair(tmp_path / "keys")
    _, other = generate_keypair(tmp_path / "other")
    sig = sign_model(model, priv, tmp_path / "model.sig")
    with pytest.raises(SignatureError, match=r"publicKey\.hint"):
        verify_model(model, sig, public_key=other)
    (model / "extra.py").write_text("x")
    with pytest.raises(SignatureError, match="1 unsigned"):
        verify_model(model, sig, public_key=pub)
    assert verify_model(model, sig, public_key=pub, ignore_unsigned_files=True).ignored_unsigned == [
        "extra.py"
    ]
    (model / "extra.py").unlink()
    (model / "config.json").write_text('{"model_type": "evil"}')
    with pytest.raises(SignatureError, match="1 changed"):
        verify_model(model, sig, public_key=pub)


def test_forged_payload_fails(tmp_path: Path) -> None:
    model = make_model(tmp_path / "tiny")
    priv, pub = generate_keypair(tmp_path / "keys")
    sig = sign_model(model, priv, tmp_path / "model.sig")
    b = json.loads(sig.read_text())
    st = json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))
    st["predicate"]["resources"] = st["predicate"]["resources"][:1]
    b["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(st).encode()).decode()
    sig.write_text(json.dumps(b))
    with pytest.raises(SignatureError, match="does not verify"):
        verify_model(model, sig, public_key=pub)


@pytest.mark.parametrize("content", ["{}", "[]", "not json", '{"dsseEnvelope": {}, "mediaType": "x"}'])
def test_malformed_bundles(tmp_path: Path, content: str) -> None:
    model = make_model(tmp_path / "tiny")
    _, pub = generate_keypair(tmp_path / "keys")
    (tmp_path / "bad.sig").write_text(content)
    with pytest.raises(SignatureError):
        verify_model(model, tmp_path / "bad.sig", public_key=pub)


def test_ed25519_key_is_refused_for_oms(tmp_path: Path) -> None:
    model = make_model(tmp_path / "tiny")
    priv, _ = generate_keypair(tmp_path / "keys", kind="ed25519")
    with pytest.raises(InputError, match="ECDSA"):
        sign_model(model, priv)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca_and_leaf(d: Path, *, leaf_days: int = 30) -> tuple[Path, Path, Path]:
    """A CA certificate, a leaf certificate (codeSigning) and the leaf's private key, as PEM files."""
    d.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Test CA"))
        .issuer_name(_name("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("model signer"))
        .issuer_name(ca.subject)
        .public_key(leaf_key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=leaf_days))
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (d / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (d / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (d / "leaf.key").write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return d / "ca.pem", d / "leaf.pem", d / "leaf.key"


def test_certificate_method_verifies_chain_against_ca(tmp_path: Path) -> None:
    model = make_model(tmp_path / "tiny")
    ca, leaf, key = make_ca_and_leaf(tmp_path / "pki")
    sig = sign_model(model, key, tmp_path / "model.sig", certificate=leaf, chain=[ca])
    res = verify_model(model, sig, ca_certificates=ca)
    assert res.method == "certificate" and res.signer == "CN=model signer"
    other_ca, _, _ = make_ca_and_leaf(tmp_path / "pki2")
    with pytest.raises(SignatureError, match="does not lead to the given CA"):
        verify_model(model, sig, ca_certificates=other_ca)


def test_expired_leaf_is_rejected(tmp_path: Path) -> None:
    model = make_model(tmp_path / "tiny")
    ca, leaf, key = make_ca_and_leaf(tmp_path / "pki", leaf_days=-0)
    # leaf valid from yesterday until now: already expired by verification time
    sig = sign_model(model, key, tmp_path / "model.sig", certificate=leaf)
    with pytest.raises(SignatureError, match="not valid"):
        verify_model(model, sig, ca_certificates=ca)


needs_ms = pytest.mark.skipif(not MS.exists(), reason="model-signing not installed in bench/.venvs/ms")


@needs_ms
def test_model_signing_verifies_our_key_signature(tmp_path: Path) -> None:
    model = make_model(tmp_path / "tiny")
    priv, pub = generate_keypair(tmp_path / "keys")
    sig = sign_model(model, priv, tmp_path / "model.sig")
    res = subprocess.run(
        [str(MS), "verify", "key", str(model), "--signature", str(sig), "--public_key", str(pub)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr


@needs_ms
def test_we_verify_model_signing_key_and_certificate_signatures(tmp_path: Path) -> None:
    model = make_model(tmp_path / "tiny")
    priv, pub = generate_keypair(tmp_path / "keys")
    sig = tmp_path / "ms.sig"
    res = subprocess.run(
        [str(MS), "sign", "key", str(model), "--signature", str(sig), "--private_key", str(priv)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert verify_model(model, sig, public_key=pub).verified
    ca, leaf, key = make_ca_and_leaf(tmp_path / "pki")
    sig2 = tmp_path / "ms-cert.sig"
    res = subprocess.run(
        [
            str(MS),
            "sign",
            "certificate",
            str(model),
            "--signature",
            str(sig2),
            "--private_key",
            str(key),
            "--signing_certificate",
            str(leaf),
            "--certificate_chain",
            str(ca),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert verify_model(model, sig2, ca_certificates=ca).signer == "CN=model signer"
    # And model-signing verifies our certificate signature too.
    ours = sign_model(model, key, tmp_path / "ours-cert.sig", certificate=leaf, chain=[ca])
    res = subprocess.run(
        [
            str(MS),
            "verify",
            "certificate",
            str(model),
            "--signature",
            str(ours),
            "--certificate_chain",
            str(ca),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
