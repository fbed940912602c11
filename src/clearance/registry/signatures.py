"""Signed statements of the registry, each a DSSE envelope over canonical JSON.

Sign-offs, waivers and veto withdrawals bind to the dossier digest (sha256 of the dossier's signed
``manifest.json``), so a signature cannot be moved to another run or another version of the evidence.
Enrolments, revocations and settings are signed by an admin key and bind to the registry's own key
fingerprint, so they cannot be replayed into another registry. Checkpoints are signed by the registry key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization

from clearance.errors import ClearanceError
from clearance.registry.ledger import canonical
from clearance.signing import PublicKey, key_fingerprint, sign_envelope, verify_envelope
from clearance.signing.keys import PrivateKey

SIGNOFF_TYPE = "application/vnd.clearance.signoff+json"
WAIVER_TYPE = "application/vnd.clearance.waiver+json"
WITHDRAW_TYPE = "application/vnd.clearance.withdrawal+json"
ENROL_TYPE = "application/vnd.clearance.enrolment+json"
REVOKE_TYPE = "application/vnd.clearance.revocation+json"
CONFIG_TYPE = "application/vnd.clearance.config+json"
CHECKPOINT_TYPE = "application/vnd.clearance.checkpoint+json"


def _pick(schema: str, fields: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {"schema": schema, **{k: fields[k] for k in keys}}


def signoff_statement(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The signed content of a sign-off: run, dossier digest, role, decision, signer, comment, time."""
    keys = ("run_id", "dossier_digest", "model_digest", "role", "decision", "signer", "comment", "signed_at")
    return {"schema": "clearance.signoff/v1", **{k: fields[k] for k in keys}}


def waiver_statement(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The signed content of a waiver: run, dossier digest, gate, role, reason, approver, expiry, time."""
    keys = ("run_id", "dossier_digest", "gate", "role", "reason", "approver", "expires", "created_at")
    return _pick("clearance.waiver/v2", fields, keys)


def withdraw_statement(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The signed content of a veto withdrawal: run, dossier digest, the reject sign-off, role, who, why."""
    keys = ("run_id", "dossier_digest", "signoff_id", "role", "signer", "comment", "withdrawn_at")
    return _pick("clearance.withdrawal/v1", fields, keys)


def enrol_statement(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The signed content of an enrolment: which key belongs to which person, in which roles, in which registry."""
    keys = ("registry", "fingerprint", "public_key", "person", "roles", "enrolled_at", "enrolled_by")
    return _pick("clearance.enrolment/v1", fields, keys)


def revoke_statement(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The signed content of a revocation: which key stops counting, from when, why, by which admin."""
    keys = ("registry", "fingerprint", "reason", "revoked_at", "revoked_by")
    return _pick("clearance.revocation/v1", fields, keys)


def config_statement(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The signed content of a settings change."""
    return _pick("clearance.config/v1", fields, ("registry", "changes", "at", "by"))


def checkpoint_statement(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The registry key's statement that the ledger had ``seq`` entries ending in ``entry_hash``."""
    return _pick("clearance.checkpoint/v1", fields, ("registry", "seq", "entry_hash", "signed_at"))


def sign_statement(payload_type: str, statement: Mapping[str, Any], key: PrivateKey) -> str:
    """A DSSE envelope (as canonical JSON text) over the statement's canonical JSON."""
    return canonical(sign_envelope(payload_type, canonical(statement).encode("utf-8"), key))


def public_key_from_pem(pem: str) -> PublicKey:
    """Parse a stored PEM public key; ``ClearanceError`` when it is not an Ed25519/ECDSA key."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise ClearanceError(f"stored public key is not a readable PEM key ({exc})") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise ClearanceError(f"stored public key has unsupported type {type(key).__name__}")
    return key


def check_statement(
    payload_type: str, envelope_text: str, public_pem: str, fingerprint: str, expected: Mapping[str, Any]
) -> str | None:
    """None when the envelope verifies with the stored key and signs exactly ``expected``; else the problem."""
    try:
        key = public_key_from_pem(public_pem)
        if key_fingerprint(key) != fingerprint:
            return "stored public key does not match the recorded key fingerprint"
        envelope = json.loads(envelope_text)
        payload = verify_envelope(envelope, key, payload_type=payload_type)
    except json.JSONDecodeError:
        return "signature envelope is not JSON"
    except ClearanceError as exc:
        return f"signature does not verify ({exc})"
    try:
        signed = json.loads(payload)
    except json.JSONDecodeError:
        return "signed payload is not JSON"
    if signed != dict(expected):
        diff = sorted(k for k in set(signed) | set(expected) if signed.get(k) != expected.get(k))
        return f"signed statement differs from the stored record in: {', '.join(diff)}"
    return None
