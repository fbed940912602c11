"""How strongly an encrypted PEM private key is protected: the key derivation of a PKCS#8
``ENCRYPTED PRIVATE KEY`` (PBES2 with scrypt or PBKDF2, RFC 8018 and RFC 7914), read from its DER.

An encrypted key file at rest is only as strong as its key derivation: OpenSSL's and cryptography's
defaults are PBKDF2 with 2048 iterations, which a stolen file gives up to offline guessing far faster
than the argon2 password hash or the scrypt-sealed key. Key files must use scrypt (N >= 2^14, r >= 8)
or PBKDF2-HMAC-SHA-2 with at least 600,000 iterations; legacy PEM encryption (``Proc-Type:
4,ENCRYPTED``, one MD5 round) and PBES1 are refused.
"""

from __future__ import annotations

import base64
import binascii
import re

MIN_SCRYPT_N, MIN_SCRYPT_R = 2**14, 8
MIN_PBKDF2_ITERATIONS = 600_000
STRONG = "openssl pkcs8 -topk8 -scrypt"  # how to make one (N=2^14, r=8, p=1 by default)

_PEM = re.compile(
    rb"-----BEGIN ENCRYPTED PRIVATE KEY-----\s*([A-Za-z0-9+/=\s]+?)-----END ENCRYPTED PRIVATE KEY-----"
)
_SEQ, _INT, _OCTETS, _OID = 0x30, 0x02, 0x04, 0x06


def oid(dotted: str) -> bytes:
    """The DER body of an object identifier."""
    parts = [int(x) for x in dotted.split(".")]
    out = bytearray([40 * parts[0] + parts[1]])
    for n in parts[2:]:
        chunk = [n & 0x7F]
        while n > 0x7F:
            n >>= 7
            chunk.append(0x80 | (n & 0x7F))
        out += bytes(reversed(chunk))
    return bytes(out)


PBES2, PBKDF2, SCRYPT = (
    oid("1.2.840.113549.1.5.13"),
    oid("1.2.840.113549.1.5.12"),
    oid("1.3.6.1.4.1.11591.4.11"),
)
_PRFS = {
    oid("1.2.840.113549.2.7"): "SHA-1",
    oid("1.2.840.113549.2.9"): "SHA-256",
    oid("1.2.840.113549.2.10"): "SHA-384",
    oid("1.2.840.113549.2.11"): "SHA-512",
}


def _items(buf: bytes) -> list[tuple[int, bytes]]:
    """The (tag, body) elements of a DER sequence's body; ValueError on malformed input."""
    out, i = [], 0
    while i < len(buf):
        if i + 2 > len(buf):
            raise ValueError("truncated DER")
        tag, n = buf[i], buf[i + 1]
        i += 2
        if n & 0x80:
            width = n & 0x7F
            if not 1 <= width <= 4 or i + width > len(buf):
                raise ValueError("bad DER length")
            n = int.from_bytes(buf[i : i + width], "big")
            i += width
        if i + n > len(buf):
            raise ValueError("truncated DER")
        out.append((tag, buf[i : i + n]))
        i += n
    return out


def _seq(item: tuple[int, bytes]) -> list[tuple[int, bytes]]:
    if item[0] != _SEQ:
        raise ValueError("expected a DER sequence")
    return _items(item[1])


def _int(item: tuple[int, bytes]) -> int:
    if item[0] != _INT or not item[1] or len(item[1]) > 9:
        raise ValueError("expected a small DER integer")
    return int.from_bytes(item[1], "big", signed=True)


def kdf_of(der: bytes) -> tuple[str, bool]:
    """(a description of the key derivation, whether it is strong enough) for an EncryptedPrivateKeyInfo."""
    (top,) = _items(der)
    algorithm, _data = _seq(top)
    scheme, params = _seq(algorithm)
    if scheme != (_OID, PBES2):
        return "PBES1 (a single-DES/RC2 era scheme)", False
    kdf, _cipher = _seq(params)
    kdf_oid, kdf_params = _seq(kdf)
    fields = _seq(kdf_params)
    if kdf_oid == (_OID, SCRYPT):
        n, r, p = (_int(f) for f in fields[1:4])
        return f"scrypt N={n} r={r} p={p}", n >= MIN_SCRYPT_N and r >= MIN_SCRYPT_R and p >= 1
    if kdf_oid == (_OID, PBKDF2):
        iterations = _int(fields[1])
        prf_oid = next((_seq(f)[0] for f in fields[2:] if f[0] == _SEQ), (_OID, oid("1.2.840.113549.2.7")))
        prf = _PRFS.get(prf_oid[1], "an unknown hash")
        strong = iterations >= MIN_PBKDF2_ITERATIONS and prf in ("SHA-256", "SHA-384", "SHA-512")
        return f"PBKDF2-HMAC-{prf} with {iterations} iterations", strong
    return "an unknown key derivation", False


def weak_encryption(pem: bytes) -> str | None:
    """Why an encrypted PEM key's protection is too weak (one phrase), or None when it is strong."""
    m = _PEM.search(pem)
    if m is None:
        if b"ENCRYPTED" in pem:
            return "legacy PEM encryption (one MD5 round)"
        return "an encryption that is not PKCS#8"
    try:
        desc, strong = kdf_of(base64.b64decode(re.sub(rb"\s+", b"", m.group(1)), validate=True))
    except (ValueError, IndexError, binascii.Error):
        return "a malformed PKCS#8 encryption header"
    return None if strong else desc
