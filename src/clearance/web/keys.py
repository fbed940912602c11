"""A reviewer's signing key at rest: sealed in the database, or in a key file the administrator named.

Sealed (the default): the web app keeps the public key in the clear (and enrols it in the registry)
and the private key encrypted with a key derived from the reviewer's password (scrypt + AES-GCM). The
associated data binds the sealed key to the person and the key's fingerprint, so a sealed blob copied
onto another person's row does not open.

Key file: the database holds only the file's path and its key's fingerprint (a ``clearance.key-file/v1``
reference in place of the sealed blob), never the key. The file is a PEM private key (Ed25519 or
ECDSA); if it is encrypted, its passphrase is the reviewer's web password and its key derivation is
strong (``clearance.web.pkcs8``); if it is not, only its owner may read it (no group or other
permission bits). It is read for each signature and must still
hold the enrolled key.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from clearance.errors import InputError
from clearance.signing import PrivateKey, key_fingerprint
from clearance.web.pkcs8 import MIN_PBKDF2_ITERATIONS, STRONG, weak_encryption

# scrypt cost: 2**15 x 8 x 1 takes ~32 MiB and ~0.1 s, once per signature (RFC 7914 interactive level).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
FORMAT = "clearance.sealed-key/v1"
KEY_FILE_FORMAT = "clearance.key-file/v1"
MAX_KEY_FILE = 64 * 1024  # a PEM private key is well under 1 KiB


class KeyLocked(InputError):
    """The password does not open the sealed key (or the blob was altered or moved)."""


class KeyFileError(KeyLocked):
    """A key file is missing, unreadable, not an Ed25519/ECDSA key, too open, or does not open."""


class KeyFileChanged(KeyFileError):
    """A key file opened but holds another key than the one enrolled (it was replaced)."""


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


# ---- key files ------------------------------------------------------------------------------------
def _read_private_file(path: Path) -> tuple[bytes, int]:
    """The bytes and permission bits of a regular file, read through one descriptor (no race between
    the permission check and the read)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise KeyFileError(f"key file {path} cannot be read ({exc.strerror or exc})") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileError(f"key file {path} is not a regular file")
        if st.st_size > MAX_KEY_FILE:
            raise KeyFileError(f"key file {path} is too large to be a PEM private key ({st.st_size} bytes)")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_KEY_FILE + 1)
    except OSError as exc:
        raise KeyFileError(f"key file {path} cannot be read ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)
    return data, stat.S_IMODE(st.st_mode)


def load_key_file(path: str | Path, password: str) -> PrivateKey:
    """The private key in a PEM file: opened with ``password`` as passphrase when it is encrypted;
    refused when it is not encrypted and group or others have any access to it."""
    p = Path(path)
    data, mode = _read_private_file(p)
    if b"PRIVATE KEY-----" not in data:
        raise KeyFileError(f"key file {p} holds no PEM private key")
    try:
        loaded = serialization.load_pem_private_key(data, None)
        encrypted = False
    except TypeError:  # encrypted: cryptography asks for the passphrase
        encrypted = True
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"key file {p} holds no readable PEM private key") from exc
    if encrypted:
        weak = weak_encryption(data)
        if weak is not None:
            raise KeyFileError(
                f"key file {p} is encrypted with {weak}, too weak for a key at rest; re-encrypt it with "
                f"scrypt ({STRONG}) or PBKDF2 of at least {MIN_PBKDF2_ITERATIONS} iterations"
            )
        try:
            loaded = serialization.load_pem_private_key(data, password.encode("utf-8"))
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyFileError(
                f"key file {p} is encrypted and did not open with the password "
                "(its passphrase must be the person's web password)"
            ) from exc
    elif mode & 0o077:
        raise KeyFileError(
            f"key file {p} is not encrypted and group or others may access it (mode {mode:04o}); "
            f"chmod 600 it, or encrypt it with the person's password"
        )
    if not isinstance(loaded, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyFileError(f"key file {p} holds a {type(loaded).__name__}; use an Ed25519 or ECDSA key")
    return loaded


def key_file_ref(path: str | Path, fingerprint: str) -> str:
    """What the database keeps for a key file: its absolute path and its key's fingerprint, no key."""
    return json.dumps(
        {"format": KEY_FILE_FORMAT, "path": os.path.abspath(path), "fingerprint": fingerprint},
        sort_keys=True,
    )


def key_file_path(stored: str) -> str | None:
    """The key file's path if ``stored`` is a key-file reference; None for a sealed key."""
    if KEY_FILE_FORMAT not in stored:
        return None
    try:
        d = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(d, dict) or d.get("format") != KEY_FILE_FORMAT:
        return None
    return str(d["path"])


def open_key_file(stored: str, password: str, fingerprint: str) -> PrivateKey:
    """The key of a key-file reference; ``KeyFileError`` when the file no longer holds the enrolled key."""
    path = key_file_path(stored)
    if path is None:
        raise KeyFileError("not a key-file reference")
    key = load_key_file(path, password)
    if key_fingerprint(key) != fingerprint:
        raise KeyFileChanged(f"key file at {path} no longer holds the enrolled key")
    return key
