"""DSSE envelopes: PAE test vector, round trips with Ed25519 and ECDSA, and tampering caught."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.errors import InputError, SignatureError
from clearance.signing import (
    generate_keypair,
    key_fingerprint,
    load_private_key,
    load_public_key,
    pae,
    sign_envelope,
    verify_envelope,
)


def test_pae_matches_dsse_spec_test_vector() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa-p256", "ecdsa-p384"])
def test_round_trip_with_key_files(tmp_path: Path, kind: str) -> None:
    priv, pub = generate_keypair(tmp_path, kind=kind)  # type: ignore[arg-type]
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    env = sign_envelope("application/vnd.test+json", b'{"a": 1}', priv)
    assert env["payloadType"] == "application/vnd.test+json"
    assert json.loads(json.dumps(env)) == env  # plain JSON
    assert verify_envelope(env, pub) == b'{"a": 1}'
    sigs = env["signatures"]
    assert isinstance(sigs, list)
    assert sigs[0]["keyid"] == key_fingerprint(load_public_key(pub))


def test_tampered_payload_is_rejected(tmp_path: Path) -> None:
    priv, pub = generate_keypair(tmp_path, kind="ed25519")
    env = sign_envelope("t", b"approved", priv)
    env["payload"] = base64.b64encode(b"rejected").decode()
    with pytest.raises(SignatureError, match="no signature verifies"):
        verify_envelope(env, pub)


def test_payload_type_is_bound_into_signature(tmp_path: Path) -> None:
    priv, pub = generate_keypair(tmp_path)
    env = sign_envelope("type-a", b"x", priv)
    env["payloadType"] = "type-b"
    with pytest.raises(SignatureError):
        verify_envelope(env, pub)
    env["payloadType"] = "type-a"
    with pytest.raises(SignatureError, match="expected"):
        verify_envelope(env, pub, payload_type="type-b")


def test_wrong_key_is_rejected(tmp_path: Path) -> None:
    priv, _ = generate_keypair(tmp_path / "a")
    _, other_pub = generate_keypair(tmp_path / "b")
    env = sign_envelope("t", b"x", priv)
    with pytest.raises(SignatureError):
        verify_envelope(env, other_pub)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"payloadType": "t"},
        {"payloadType": "t", "payload": "!!", "signatures": []},
        {"payloadType": "t", "payload": "eA==", "signatures": [{"sig": 5}]},
        [1, 2],
    ],
)
def test_malformed_envelopes_raise_signature_error(tmp_path: Path, env: object) -> None:
    _, pub = generate_keypair(tmp_path)
    with pytest.raises(SignatureError):
        verify_envelope(env, pub)  # type: ignore[arg-type]


def test_bad_key_files_raise_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(InputError):
        load_private_key(bad)
    with pytest.raises(InputError):
        load_public_key(tmp_path / "missing.pub")
    priv, _ = generate_keypair(tmp_path)
    with pytest.raises(InputError, match="refusing to overwrite"):
        generate_keypair(tmp_path)
    assert priv.exists()


@settings(max_examples=30, deadline=None)
@given(payload=st.binary(max_size=2048), ptype=st.text(min_size=1, max_size=40))
def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory, payload: bytes, ptype: str) -> None:
    d = tmp_path_factory.mktemp("k")
    priv, pub = generate_keypair(d, kind="ed25519")
    assert verify_envelope(sign_envelope(ptype, payload, priv), pub) == payload
