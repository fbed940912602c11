"""A reviewer's signing key at rest: encrypted with a key derived from their password (scrypt + AES-GCM).

The web app never stores a usable private key: it keeps the public key in the clear (and enrols it in
the registry) and the private key sealed so that only the reviewer's password opens it. The associated
data binds the sealed key to the person and the key's fingerprint, so a sealed blob copied onto another
person's row does not open.
"""

from __future__ import annotations

import base64
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from clearance.errors import InputError
from clearance.signing import PrivateKey, key_fingerprint

# scrypt cost: 2**15 x 8 x 1 takes ~32 MiB and ~0.1 s, once per signature (RFC 7914 interactive level).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
FORMAT = "clearance.sealed-key/v1"


class KeyLocked(InputError):
    """The password does not open the sealed key (or the blob was altered or moved)."""


def new_key() -> ed25519.Ed25519PrivateKey:
    """A fresh Ed25519 signing key for a reviewer."""
    return ed25519.Ed25519PrivateKey.generate()


def _kdf(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password.encode("utf-8"))


def _aad(person: str, fingerprint: str) -> bytes:
    return f"{FORMAT}\n{person}\n{fingerprint}".encode()


def seal_key(key: PrivateKey, password: str, person: str) -> str:
    """The private key as a JSON text, AES-256-GCM encrypted under scrypt(password)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    fp = key_fingerprint(key)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ct = AESGCM(_kdf(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(nonce, der, _aad(person, fp))
    b64 = base64.b64encode
    return json.dumps(
        {
            "format": FORMAT,
            "kdf": {
                "name": "scrypt",
                "n": SCRYPT_N,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": b64(salt).decode(),
            },
            "cipher": "AES-256-GCM",
            "nonce": b64(nonce).decode(),
            "fingerprint": fp,
            "ciphertext": b64(ct).decode(),
        },
        sort_keys=True,
    )


def open_key(sealed: str, password: str, person: str) -> PrivateKey:
    """The private key from ``seal_key``'s text; ``KeyLocked`` for a wrong password or altered blob."""
    try:
        d = json.loads(sealed)
        kdf = d["kdf"]
        if d.get("format") != FORMAT or kdf.get("name") != "scrypt":
            raise KeyLocked("sealed key has an unknown format")
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        if not (2**14 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
            raise KeyLocked("sealed key has out-of-range scrypt parameters")
        b = base64.b64decode
        key = _kdf(password, b(kdf["salt"]), n, r, p)
        der = AESGCM(key).decrypt(b(d["nonce"]), b(d["ciphertext"]), _aad(person, d["fingerprint"]))
    except InvalidTag as exc:
        raise KeyLocked("wrong password: the signing key did not open") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyLocked(f"sealed key is malformed ({type(exc).__name__})") from exc
    loaded = serialization.load_der_private_key(der, None)
    if not isinstance(loaded, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyLocked("sealed key is not an Ed25519 or ECDSA key")
    if key_fingerprint(loaded) != d["fingerprint"]:
        raise KeyLocked("sealed key does not match its recorded fingerprint")
    return loaded
