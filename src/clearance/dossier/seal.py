"""The dossier's digest manifest (sha256 of every file) and its DSSE signature; verification of both."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from clearance.errors import ClearanceError, InputError
from clearance.evidence import sha256_file
from clearance.jsonio import canonical_bytes
from clearance.signing import (
    PrivateKey,
    key_fingerprint,
    load_public_key,
    public_pem,
    sign_envelope,
    verify_envelope,
)

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig.json"
PUBLIC_KEY = "signing-key.pub"
DOSSIER_JSON = "dossier.json"
PARTIAL = ".partial"
PAYLOAD_TYPE = "application/vnd.clearance.dossier-manifest+json"
# Files that describe the seal itself and so cannot be listed in it.
SEAL_FILES = frozenset({MANIFEST, SIGNATURE, PUBLIC_KEY})


def walk(root: Path) -> list[tuple[str, str]]:
    """Every entry under ``root`` that is not a plain directory, as (POSIX relative path, kind), sorted.

    Kind is ``file``, ``symlink`` (to a file, a directory or nowhere: never followed) or ``special``
    (FIFO, socket, device). Nothing is skipped: whatever is here must be in the signed manifest.
    """
    out: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        keep = []
        for dn in sorted(dirnames):
            if (base / dn).is_symlink():
                out.append(((base / dn).relative_to(root).as_posix(), "symlink"))
            else:
                keep.append(dn)
        dirnames[:] = keep
        for fn in filenames:
            p = base / fn
            rel = p.relative_to(root).as_posix()
            kind = "symlink" if p.is_symlink() else "file" if p.is_file() else "special"
            out.append((rel, kind))
    return sorted(out)


def list_files(root: Path) -> list[str]:
    """Every regular file under ``root`` to be sealed, sorted; seal files and the run marker excluded.

    A symlink or special file cannot be sealed (``InputError``): a dossier holds plain files only.
    """
    out: list[str] = []
    for rel, kind in walk(root):
        if rel in SEAL_FILES or rel == PARTIAL:
            continue
        if kind != "file":
            raise InputError(f"cannot seal {root}: {rel} is a {kind}, not a plain file")
        out.append(rel)
    return out


def build_manifest(root: Path, extra: dict[str, bytes] | None = None) -> dict[str, Any]:
    """The manifest of ``root``: path, size and sha256 of each file, plus a root digest over them all.

    ``extra`` adds files not yet on disk (name -> bytes), such as ``dossier.json`` written last.
    """
    entries: dict[str, dict[str, Any]] = {}
    for rel in list_files(root):
        p = root / rel
        entries[rel] = {"path": rel, "size": p.stat().st_size, "sha256": sha256_file(p)}
    for rel, data in (extra or {}).items():
        entries[rel] = {"path": rel, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    files = [entries[k] for k in sorted(entries)]
    root_digest = hashlib.sha256(b"".join(bytes.fromhex(e["sha256"]) for e in files)).hexdigest()
    return {
        "schema": "clearance.dossier-manifest/v1",
        "hash": "sha256",
        "root_digest": root_digest,
        "root_digest_method": "sha256 over the raw sha256 digests of all files, sorted by path",
        "files": files,
    }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Canonical bytes of a manifest (RFC 8785 canonical JSON, trailing newline)."""
    return canonical_bytes(manifest) + b"\n"


def sign_manifest(manifest: dict[str, Any], key: PrivateKey) -> tuple[bytes, bytes, bytes]:
    """Sign a manifest: returns (manifest bytes, DSSE envelope bytes, public key PEM)."""
    data = manifest_bytes(manifest)
    envelope = sign_envelope(PAYLOAD_TYPE, data, key)
    env_bytes = (json.dumps(envelope, indent=2) + "\n").encode("utf-8")
    return data, env_bytes, public_pem(key.public_key())


def check_seal(
    root: Path, public_key: Path | None
) -> tuple[dict[str, Any] | None, str | None, list[tuple[str, str]]]:
    """Verify the signature over the manifest; returns (manifest or None, signer fingerprint, failures)."""
    failures: list[tuple[str, str]] = []
    key_path = public_key if public_key is not None else root / PUBLIC_KEY
    if public_key is not None and not public_key.is_file():
        raise InputError(f"public key file not found: {public_key}")
    sig_path, man_path = root / SIGNATURE, root / MANIFEST
    for p in (sig_path, man_path) + ((key_path,) if public_key is None else ()):
        if not p.is_file():
            failures.append((p.name, "missing"))
    if failures:
        return None, None, failures
    try:
        envelope = json.loads(sig_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, None, [(SIGNATURE, f"not a readable DSSE envelope ({exc})")]
    try:
        key = load_public_key(key_path)
        fingerprint = key_fingerprint(key)
    except ClearanceError as exc:
        return None, None, [(key_path.name, str(exc))]
    try:
        payload = verify_envelope(envelope, key, payload_type=PAYLOAD_TYPE)
    except ClearanceError as exc:
        return None, fingerprint, [(SIGNATURE, f"signature does not verify: {exc}")]
    if payload != man_path.read_bytes():
        failures.append((MANIFEST, "differs from the signed manifest in the signature envelope"))
    try:
        manifest = json.loads(payload)
    except json.JSONDecodeError as exc:
        return None, fingerprint, [(SIGNATURE, f"signed payload is not JSON ({exc})")]
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        return None, fingerprint, [(SIGNATURE, "signed payload is not a dossier manifest")]
    return manifest, fingerprint, failures


def check_files(root: Path, manifest: dict[str, Any]) -> tuple[int, list[tuple[str, str]]]:
    """Compare every listed file's size and sha256 with the disk; anything else present fails.

    Unlisted files (``*.tmp`` included), symlinks (to files or directories, listed or not), special files
    and listed paths reached through a symlinked directory are all failures.
    """
    failures: list[tuple[str, str]] = []
    listed: set[str] = set()
    checked = 0
    for entry in manifest["files"]:
        rel = str(entry.get("path", "")) if isinstance(entry, dict) else ""
        if not rel or rel.startswith("/") or ".." in Path(rel).parts:
            failures.append((rel or "?", "manifest entry has an unsafe or empty path"))
            continue
        listed.add(rel)
        p = root / rel
        parents = [root.joinpath(*Path(rel).parts[:i]) for i in range(1, len(Path(rel).parts))]
        if any(q.is_symlink() for q in parents):
            failures.append((rel, "reached through a symlinked directory, not a file of the dossier"))
            continue
        if p.is_symlink():
            failures.append((rel, "is a symlink, not the signed file"))
            continue
        if not p.is_file():
            failures.append((rel, "listed in the manifest but missing"))
            continue
        checked += 1
        if p.stat().st_size != entry.get("size"):
            failures.append((rel, f"size {p.stat().st_size} differs from signed size {entry.get('size')}"))
        elif sha256_file(p) != entry.get("sha256"):
            failures.append((rel, "sha256 differs from the signed digest (file was modified)"))
    for rel, kind in walk(root):
        if rel == PARTIAL:
            continue  # reported by the caller as an unfinished run
        if rel in SEAL_FILES:
            if kind != "file":
                failures.append((rel, f"seal file is a {kind}, not a plain file"))
            continue
        if rel in listed and kind == "file":
            continue
        if rel in listed:
            continue  # already reported above
        what = {"file": "file", "symlink": "symlink", "special": "special file"}[kind]
        failures.append((rel, f"{what} not listed in the signed manifest (added after sealing)"))
    return checked, failures
