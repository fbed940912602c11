"""DSSE envelopes (Dead Simple Signing Envelope v1): sign and verify over PAE(type, body)."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from clearance.errors import SignatureError
from clearance.signing.keys import (
    PrivateKey,
    PublicKey,
    ecdsa_hash_for,
    key_fingerprint,
    load_private_key,
    load_public_key,
)


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE pre-authentication encoding: ``DSSEv1 SP len(type) SP type SP len(body) SP body``."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def sign_bytes(message: bytes, private_key: PrivateKey) -> bytes:
    """A raw signature over ``message`` (Ed25519, or ECDSA DER with the curve's hash)."""
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(message)
    return private_key.sign(message, ecdsa_hash_for(private_key))


def verify_bytes(message: bytes, signature: bytes, public_key: PublicKey) -> bool:
    """Whether ``signature`` is a valid signature of ``message`` by ``public_key``."""
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, message)
        else:
            public_key.verify(signature, message, ecdsa_hash_for(public_key))
    except InvalidSignature:
        return False
    return True


def sign_envelope(
    payload_type: str, payload: bytes, private_key: PrivateKey | str | Path, *, keyid: str | None = None
) -> dict[str, object]:
    """A DSSE envelope ``{payloadType, payload(b64), signatures:[{keyid, sig(b64)}]}`` signed by ``private_key``.

    ``keyid`` defaults to the key fingerprint (sha256 of the public key PEM).
    """
    key = load_private_key(private_key)
    sig = sign_bytes(pae(payload_type, payload), key)
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {
                "keyid": keyid if keyid is not None else key_fingerprint(key),
                "sig": base64.b64encode(sig).decode("ascii"),
            }
        ],
    }


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise SignatureError(f"DSSE envelope: {what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        try:  # DSSE allows URL-safe base64 too
            return base64.urlsafe_b64decode(value)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError(f"DSSE envelope: {what} is not valid base64") from exc


def verify_envelope(
    envelope: dict[str, object], public_key: PublicKey | str | Path, *, payload_type: str | None = None
) -> bytes:
    """The payload of ``envelope`` if at least one signature verifies with ``public_key``; else ``SignatureError``.

    When ``payload_type`` is given, the envelope's type must equal it (prevents type confusion).
    """
    if not isinstance(envelope, dict):
        raise SignatureError("DSSE envelope: not a JSON object")
    ptype = envelope.get("payloadType")
    if not isinstance(ptype, str):
        raise SignatureError("DSSE envelope: payloadType missing or not a string")
    if payload_type is not None and ptype != payload_type:
        raise SignatureError(f"DSSE envelope: payloadType is {ptype!r}, expected {payload_type!r}")
    payload = _b64(envelope.get("payload"), "payload")
    sigs = envelope.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise SignatureError("DSSE envelope: no signatures")
    key = load_public_key(public_key)
    message = pae(ptype, payload)
    for entry in sigs[:64]:
        if not isinstance(entry, dict):
            continue
        raw = _b64(entry.get("sig"), "signature")
        if verify_bytes(message, raw, key):
            return payload
    kind = (
        "Ed25519"
        if isinstance(key, ed25519.Ed25519PublicKey)
        else (f"ECDSA {key.curve.name}" if isinstance(key, ec.EllipticCurvePublicKey) else "unknown")
    )
    raise SignatureError(
        f"DSSE envelope: no signature verifies with the given {kind} public key (fingerprint {key_fingerprint(key)[:16]}…)"
    )
