"""Signing: DSSE envelopes, PEM keys, and OpenSSF model-signing (OMS v1.0) bundles for model directories.

Public surface: ``sign_envelope``, ``verify_envelope``, ``pae``, ``generate_keypair``, ``load_private_key``,
``load_public_key``, ``key_fingerprint``; OMS in ``clearance.signing.oms``.
"""

from __future__ import annotations

from clearance.signing.dsse import pae, sign_bytes, sign_envelope, verify_bytes, verify_envelope
from clearance.signing.keys import (
    PrivateKey,
    PublicKey,
    generate_keypair,
    key_fingerprint,
    load_private_key,
    load_public_key,
    public_pem,
)

__all__ = [
    "PrivateKey",
    "PublicKey",
    "generate_keypair",
    "key_fingerprint",
    "load_private_key",
    "load_public_key",
    "pae",
    "public_pem",
    "sign_bytes",
    "sign_envelope",
    "verify_bytes",
    "verify_envelope",
]
