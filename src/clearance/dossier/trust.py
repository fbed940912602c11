"""Trust lists: which signing keys the verifier (not the dossier) accepts, and whose they are.

A dossier carries its public key and says which key signed it; that proves the bytes have not changed
since that key signed them, and nothing about who holds the key. Identity comes only from a list the
verifier holds: ``--trusted-keys FILE|DIR`` (PEM public keys or certificates, or a text file of
``sha256:FINGERPRINT NAME`` lines) or a registry's enrolled run-signer keys.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from clearance.errors import ClearanceError, InputError
from clearance.signing import key_fingerprint, load_public_key

_KEY_SUFFIXES = (".pub", ".pem", ".crt", ".cer")
_MAX_LIST = 1 << 20


class TrustList(BaseModel):
    """Trusted signing keys: fingerprint (sha256 hex of the SubjectPublicKeyInfo PEM) → who holds it."""

    source: str
    keys: dict[str, str] = Field(default_factory=dict)

    def who(self, fingerprint: str | None) -> str | None:
        """The holder of ``fingerprint``, or None when the key is not trusted."""
        return self.keys.get(fingerprint or "")


def _fingerprint_line(line: str, where: str) -> tuple[str, str] | None:
    text = line.split("#", 1)[0].strip()
    if not text:
        return None
    fp, _, name = text.partition(" ")
    fp = fp.strip().lower().removeprefix("sha256:")
    if len(fp) != 64 or any(c not in "0123456789abcdef" for c in fp):
        raise InputError(f"{where}: not a 'sha256:FINGERPRINT NAME' line: {text[:80]!r}")
    return fp, name.strip() or fp[:16]


def _from_file(path: Path) -> dict[str, str]:
    try:
        size = path.stat().st_size
        if size > _MAX_LIST:
            raise InputError(f"trust list is too large ({size} bytes): {path}")
        head = path.read_bytes()[:64]
    except OSError as exc:
        raise InputError(f"cannot read trust list {path}: {exc.strerror}") from exc
    if head.lstrip().startswith(b"-----BEGIN") or path.suffix in (".der",):
        try:
            key = load_public_key(path)
        except ClearanceError as exc:
            raise InputError(f"trusted key {path}: {exc}") from exc
        return {key_fingerprint(key): path.stem}
    try:
        lines = path.read_text("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"trust list {path} is neither a PEM key nor UTF-8 text") from exc
    out: dict[str, str] = {}
    for i, line in enumerate(lines, 1):
        pair = _fingerprint_line(line, f"{path}:{i}")
        if pair:
            out[pair[0]] = pair[1]
    return out


def load_trust_list(path: str | Path) -> TrustList:
    """Read trusted keys from a PEM key/certificate file, a fingerprint list, or a directory of key files
    (``*.pub``, ``*.pem``, ``*.crt``, ``*.cer``; the holder is the file name without its suffix)."""
    p = Path(path)
    if p.is_dir():
        keys: dict[str, str] = {}
        for f in sorted(p.iterdir()):
            if f.suffix in _KEY_SUFFIXES and f.is_file():
                keys.update(_from_file(f))
        if not keys:
            raise InputError(f"no trusted keys (*.pub, *.pem, *.crt) in {p}")
        return TrustList(source=str(p), keys=keys)
    if not p.is_file():
        raise InputError(f"trusted keys not found: {p}")
    keys = _from_file(p)
    if not keys:
        raise InputError(f"no trusted keys in {p}")
    return TrustList(source=str(p), keys=keys)
