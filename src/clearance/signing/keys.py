"""PEM key handling for signing: generate, load, fingerprint (Ed25519 and ECDSA P-256/P-384/P-521)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from clearance.errors import InputError, SignatureError

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
KeyKind = Literal["ecdsa-p256", "ecdsa-p384", "ed25519"]

_MAX_KEY_FILE = 1 << 20
_CURVES: dict[str, ec.EllipticCurve] = {"ecdsa-p256": ec.SECP256R1(), "ecdsa-p384": ec.SECP384R1()}


def _read_key_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except (OSError, ValueError) as exc:
        raise InputError(
            f"key file cannot be read: {path} ({getattr(exc, 'strerror', None) or exc})"
        ) from exc
    if not path.is_file():
        raise InputError(f"key is not a file: {path}")
    if size > _MAX_KEY_FILE:
        raise InputError(f"key file is too large to be a PEM key ({size} bytes): {path}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"key file cannot be read: {path} ({exc.strerror})") from exc


def generate_keypair(
    directory: str | Path, kind: KeyKind = "ecdsa-p256", name: str = "clearance"
) -> tuple[Path, Path]:
    """Write a new private key ``<name>.key`` (PKCS#8 PEM, mode 0600) and ``<name>.pub`` into ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    priv: PrivateKey
    if kind == "ed25519":
        priv = ed25519.Ed25519PrivateKey.generate()
    elif kind in _CURVES:
        priv = ec.generate_private_key(_CURVES[kind])
    else:
        raise InputError(f"unknown key kind {kind!r}; use one of ecdsa-p256, ecdsa-p384, ed25519")
    priv_path, pub_path = d / f"{name}.key", d / f"{name}.pub"
    if priv_path.exists():
        raise InputError(f"refusing to overwrite an existing private key: {priv_path}")
    pem = priv.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    pub_path.write_bytes(public_pem(priv.public_key()))
    return priv_path, pub_path


def public_pem(key: PublicKey) -> bytes:
    """The SubjectPublicKeyInfo PEM encoding of a public key."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_fingerprint(key: PublicKey | PrivateKey) -> str:
    """Hex sha256 of the public key's SubjectPublicKeyInfo PEM (the ``publicKey.hint`` of model-signing)."""
    pub = key.public_key() if isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) else key
    return hashlib.sha256(public_pem(pub)).hexdigest()


def load_private_key(key: PrivateKey | str | Path, password: bytes | None = None) -> PrivateKey:
    """A private key object from a key object or a PEM file path (Ed25519 or ECDSA)."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        return key
    path = Path(key)
    data = _read_key_bytes(path)
    try:
        loaded = serialization.load_pem_private_key(data, password)
    except (ValueError, TypeError) as exc:
        raise InputError(f"not a readable PEM private key: {path} ({exc})") from exc
    if not isinstance(loaded, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise InputError(
            f"unsupported private key type {type(loaded).__name__} in {path}; use Ed25519 or ECDSA"
        )
    return loaded


def load_public_key(key: PublicKey | PrivateKey | str | Path) -> PublicKey:
    """A public key object from a key object, a PEM/DER public key file or a PEM certificate file."""
    if isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        return key
    if isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        return key.public_key()
    path = Path(key)
    data = _read_key_bytes(path)
    loaded: object
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            from cryptography import x509

            loaded = x509.load_pem_x509_certificate(data).public_key()
        elif data.lstrip().startswith(b"-----"):
            loaded = serialization.load_pem_public_key(data)
        else:
            loaded = serialization.load_der_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InputError(f"not a readable public key or certificate: {path} ({exc})") from exc
    if not isinstance(loaded, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise SignatureError(
            f"unsupported public key type {type(loaded).__name__} in {path}; use Ed25519 or ECDSA"
        )
    return loaded


def ecdsa_hash_for(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> ec.ECDSA:
    """The ECDSA signature algorithm with the hash that matches the curve (P-256→SHA-256, P-384→SHA-384...)."""
    from cryptography.hazmat.primitives import hashes

    size = key.curve.key_size
    if size == 256:
        return ec.ECDSA(hashes.SHA256())
    if size == 384:
        return ec.ECDSA(hashes.SHA384())
    if size == 521:
        return ec.ECDSA(hashes.SHA512())
    raise SignatureError(f"unsupported ECDSA curve {key.curve.name}; use P-256, P-384 or P-521")
