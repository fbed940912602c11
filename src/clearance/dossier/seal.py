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


def list_files(root: Path) -> list[str]:
    """Every regular file under ``root`` as sorted POSIX relative paths, seal files and markers excluded."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for fn in filenames:
            rel = (Path(dirpath) / fn).relative_to(root).as_posix()
            if rel in SEAL_FILES or rel == PARTIAL or rel.endswith(".tmp"):
                continue
            out.append(rel)
    return sorted(out)


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
    """Compare every listed file's size and sha256 with the disk; unlisted files are failures too."""
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
        if not p.is_file() or p.is_symlink():
            failures.append((rel, "listed in the manifest but missing"))
            continue
        checked += 1
        if p.stat().st_size != entry.get("size"):
            failures.append((rel, f"size {p.stat().st_size} differs from signed size {entry.get('size')}"))
        elif sha256_file(p) != entry.get("sha256"):
            failures.append((rel, "sha256 differs from the signed digest (file was modified)"))
    for rel in list_files(root):
        if rel not in listed:
            failures.append((rel, "not listed in the signed manifest (file was added)"))
    return checked, failures
