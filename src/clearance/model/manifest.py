"""Manifests: sha256 of every model file at disk speed, and comparison with a publisher's listing.

``build_manifest(path)`` hashes files in parallel (threads; hashlib releases the GIL) with large
sequential ``readinto`` reads into one reused buffer per thread. ``load_reference(path)`` reads our own
manifest JSON, Hugging Face listings (``siblings``/``list_repo_tree`` JSON with ``lfs.sha256`` or
``blob_id``), ``sha256sum`` output, or an OMS ``.sig`` bundle; ``compare(manifest, reference)`` reports
missing, extra and mismatched files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, Field

from clearance.errors import InputError
from clearance.evidence import ToolInfo, utc_now
from clearance.model.layout import Layout, LayoutFile, discover
from clearance.progress import ProgressArg, open_task

CHUNK = 16 << 20
MAX_REFERENCE_BYTES = 64 << 20
MANIFEST_FORMAT = "clearance-manifest/v1"
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")


class FileDigest(BaseModel):
    """One file of a manifest: relative posix path, size in bytes, hex sha256."""

    path: str
    size: int
    sha256: str


class Manifest(BaseModel):
    """The sha256 of every file of a model, plus an OMS-style root digest over them."""

    format: str = MANIFEST_FORMAT
    name: str
    root: str
    created_at: str = Field(default_factory=utc_now)
    algorithm: str = "sha256"
    files: list[FileDigest]
    total_bytes: int
    root_digest: str
    tool: ToolInfo = Field(default_factory=ToolInfo)

    def digests(self) -> dict[str, str]:
        """Relative path → hex sha256."""
        return {f.path: f.sha256 for f in self.files}


class ReferenceEntry(BaseModel):
    """What a publisher's listing says about one file (any of sha256, git blob sha1, size)."""

    path: str
    sha256: str | None = None
    git_sha1: str | None = None
    size: int | None = None


class Reference(BaseModel):
    """A publisher's (or an earlier) listing of files to compare against, and the format it came in."""

    source: str
    format: str
    entries: dict[str, ReferenceEntry]


class Comparison(BaseModel):
    """Result of comparing a model directory with a reference listing."""

    reference: str
    reference_format: str
    matched: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    extra: list[str] = Field(default_factory=list)
    mismatched: list[dict[str, object]] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is missing, extra or mismatched."""
        return not (self.missing or self.extra or self.mismatched)


def sha256_of(path: Path, buf: bytearray | None = None) -> str:
    """Hex sha256 of a file, read sequentially with ``readinto`` into a reused buffer."""
    return _hash_file(path, buf or bytearray(CHUNK), None)


def _hash_file(path: Path, buf: bytearray, on_bytes: Callable[[int], None] | None) -> str:
    h = hashlib.sha256()
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(view):
            h.update(view[:n])
            if on_bytes is not None:
                on_bytes(n)
    return h.hexdigest()


def git_blob_sha1(path: Path) -> str:
    """The git blob id of a file: sha1 of ``"blob <size>\\0" + content`` (Hugging Face non-LFS files)."""
    size = path.stat().st_size
    h = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def root_digest(digests: Iterable[tuple[str, str]]) -> str:
    """OMS root digest: sha256 over the raw digest bytes of all files sorted by path (code-point order)."""
    h = hashlib.sha256()
    for _, hexd in sorted(digests, key=lambda kv: kv[0]):
        h.update(bytes.fromhex(hexd))
    return h.hexdigest()


def hash_layout(
    files: list[LayoutFile], *, workers: int | None = None, progress: ProgressArg = False, chunk: int = CHUNK
) -> dict[str, str]:
    """Relative path → hex sha256 for ``files``, hashed in parallel across files.

    ``progress`` reports hashed bytes (``clearance.progress``: ``True`` for the context's sink, or a sink).
    """
    if not files:
        return {}
    n_workers = max(1, min(workers or min(8, (os.cpu_count() or 2)), len(files)))
    local = threading.local()
    total = sum(f.size for f in files)

    def buffer() -> bytearray:
        b: bytearray | None = getattr(local, "buf", None)
        if b is None:
            b = bytearray(chunk)
            local.buf = b
        return b

    # Largest first keeps all workers busy to the end.
    order = sorted(files, key=lambda f: -f.size)
    results: dict[str, str] = {}
    if not progress:
        with ThreadPoolExecutor(n_workers) as pool:
            for f, d in zip(
                order, pool.map(lambda f: _hash_file(f.real, buffer(), None), order), strict=True
            ):
                results[f.rel] = d
        return results

    task = open_task(progress, f"sha256 {len(files)} files", total, unit="bytes")
    try:

        def work(f: LayoutFile) -> str:
            return _hash_file(f.real, buffer(), task.advance)

        with ThreadPoolExecutor(n_workers) as pool:
            for f, d in zip(order, pool.map(work, order), strict=True):
                results[f.rel] = d
    finally:
        task.close()
    return results


def manifest_from_layout(
    layout: Layout, *, workers: int | None = None, progress: bool = False, name: str | None = None
) -> Manifest:
    """Hash every file of ``layout`` into a ``Manifest``."""
    try:
        digests = hash_layout(layout.files, workers=workers, progress=progress)
    except OSError as exc:
        raise InputError(f"cannot read model file {exc.filename}: {exc.strerror}") from exc
    entries = [FileDigest(path=f.rel, size=f.size, sha256=digests[f.rel]) for f in layout.files]
    default_name = layout.repo_name or (
        layout.files[0].rel if layout.kind == "file" and layout.files else layout.root.name
    )
    return Manifest(
        name=name or default_name,
        root=str(layout.root),
        files=entries,
        total_bytes=sum(e.size for e in entries),
        root_digest=root_digest((e.path, e.sha256) for e in entries),
    )


def build_manifest(
    path: str | Path, *, workers: int | None = None, progress: bool = False, name: str | None = None
) -> Manifest:
    """Manifest of a model directory, Hugging Face cache entry or single file (symlinks resolved safely)."""
    return manifest_from_layout(discover(path), workers=workers, progress=progress, name=name)


def write_manifest(manifest: Manifest, out: str | Path) -> Path:
    """Write a manifest as JSON (atomically: temp file then rename)."""
    p = Path(out)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, p)
    return p


# --------------------------------------------------------------------------- reference listings


def _norm_path(p: object, source: str) -> str:
    if not isinstance(p, str) or not p:
        raise InputError(f"reference listing {source}: a file entry has no path")
    q = p.replace("\\", "/").removeprefix("./")
    if q.startswith("/") or ".." in q.split("/"):
        raise InputError(f"reference listing {source}: unsafe path {p!r}")
    return q


def _entry_from_hf(obj: dict[str, object], source: str) -> ReferenceEntry | None:
    path = obj.get("rfilename", obj.get("path", obj.get("name")))
    if obj.get("type") == "directory":
        return None
    lfs = obj.get("lfs")
    sha256 = None
    if isinstance(lfs, dict):
        cand = lfs.get("sha256", lfs.get("oid"))
        if isinstance(cand, str):
            sha256 = cand.removeprefix("sha256:")
    for key in ("sha256", "digest"):
        cand = obj.get(key)
        if sha256 is None and isinstance(cand, str) and _HEX64.match(cand.removeprefix("sha256:")):
            sha256 = cand.removeprefix("sha256:")
    blob = obj.get("blob_id", obj.get("blobId", obj.get("oid")))
    git_sha1 = blob if isinstance(blob, str) and _HEX40.match(blob) else None
    size = obj.get("size")
    if sha256 is not None and not _HEX64.match(sha256):
        raise InputError(f"reference listing {source}: sha256 of {path!r} is not 64 hex digits")
    return ReferenceEntry(
        path=_norm_path(path, source),
        sha256=sha256.lower() if sha256 else None,
        git_sha1=git_sha1.lower() if git_sha1 else None,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
    )


def _from_json(data: object, source: str) -> tuple[str, list[ReferenceEntry]]:
    if isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT:
        m = Manifest.model_validate(data)
        return "clearance", [ReferenceEntry(path=f.path, sha256=f.sha256, size=f.size) for f in m.files]
    if isinstance(data, dict) and "dsseEnvelope" in data:
        return "oms-bundle", _from_oms_bundle(data, source)
    items: object = data
    if isinstance(data, dict):
        for key in ("siblings", "files", "entries"):
            if isinstance(data.get(key), list):
                items = data[key]
                break
        else:
            if data and all(isinstance(v, str) for v in data.values()):
                return "path-to-sha256", [
                    ReferenceEntry(path=_norm_path(k, source), sha256=str(v).lower()) for k, v in data.items()
                ]
    if not isinstance(items, list):
        raise InputError(
            f"reference listing {source}: unrecognised JSON (expected a clearance manifest, "
            f"a Hugging Face siblings/tree listing, an OMS bundle or a path→sha256 object)"
        )
    out = []
    for it in items:
        if not isinstance(it, dict):
            raise InputError(f"reference listing {source}: file entries must be JSON objects")
        e = _entry_from_hf(it, source)
        if e is not None:
            out.append(e)
    return "huggingface", out


def _from_oms_bundle(data: dict[str, object], source: str) -> list[ReferenceEntry]:
    env = data.get("dsseEnvelope")
    try:
        payload = json.loads(base64.b64decode(env["payload"]))  # type: ignore[index]
        resources = payload["predicate"]["resources"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"reference listing {source}: OMS bundle has no readable statement") from exc
    out = []
    for r in resources:
        if r.get("algorithm") != "sha256":
            raise InputError(f"reference listing {source}: only sha256 OMS bundles can be compared")
        out.append(
            ReferenceEntry(path=_norm_path(r.get("name"), source), sha256=str(r.get("digest")).lower())
        )
    return out


_SUMLINE = re.compile(r"^\\?([0-9a-fA-F]{64}) [ *](.+)$")
_BSDLINE = re.compile(r"^SHA256 \((.+)\) = ([0-9a-fA-F]{64})$")


def _from_text(text: str, source: str) -> list[ReferenceEntry]:
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if m := _SUMLINE.match(line):
            digest, path = m.group(1), m.group(2)
        elif m := _BSDLINE.match(line):
            path, digest = m.group(1), m.group(2)
        else:
            raise InputError(f"reference listing {source}: line {i} is not `sha256sum` output: {line[:80]!r}")
        out.append(ReferenceEntry(path=_norm_path(path, source), sha256=digest.lower()))
    return out


def load_reference(path: str | Path) -> Reference:
    """Read a reference listing: clearance manifest, Hugging Face JSON, ``sha256sum`` text or OMS bundle."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InputError(f"reference listing cannot be read: {p} ({exc.strerror})") from exc
    if size > MAX_REFERENCE_BYTES:
        raise InputError(f"reference listing {p} is {size} bytes; the limit is {MAX_REFERENCE_BYTES}")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"reference listing {p} is not UTF-8 text") from exc
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"reference listing {p} is not valid JSON: {exc}") from exc
        fmt, entries = _from_json(data, str(p))
    else:
        fmt, entries = "sha256sum", _from_text(text, str(p))
    if not entries:
        raise InputError(f"reference listing {p} lists no files")
    table: dict[str, ReferenceEntry] = {}
    for e in entries:
        if e.path in table:
            raise InputError(f"reference listing {p} lists {e.path!r} twice")
        table[e.path] = e
    return Reference(source=str(p), format=fmt, entries=table)


def compare(manifest: Manifest, reference: Reference, *, root: Path | None = None) -> Comparison:
    """Missing, extra and mismatched files of ``manifest`` against ``reference``.

    Entries that carry only a git blob sha1 (Hugging Face non-LFS files) are checked by recomputing it
    from ``root`` (defaults to ``manifest.root``).
    """
    cmp = Comparison(reference=reference.source, reference_format=reference.format)
    have = {f.path: f for f in manifest.files}
    base = Path(root or manifest.root)
    for path, ref in sorted(reference.entries.items()):
        got = have.get(path)
        if got is None:
            cmp.missing.append(path)
            continue
        if ref.size is not None and ref.size != got.size:
            cmp.mismatched.append({"path": path, "field": "size", "expected": ref.size, "actual": got.size})
        elif ref.sha256 is not None:
            if ref.sha256 != got.sha256:
                cmp.mismatched.append(
                    {"path": path, "field": "sha256", "expected": ref.sha256, "actual": got.sha256}
                )
            else:
                cmp.matched.append(path)
        elif ref.git_sha1 is not None:
            actual = git_blob_sha1(base / path)
            if actual != ref.git_sha1:
                cmp.mismatched.append(
                    {"path": path, "field": "git_sha1", "expected": ref.git_sha1, "actual": actual}
                )
            else:
                cmp.matched.append(path)
        else:
            cmp.matched.append(path)  # listed with size only and the size matches
    cmp.extra = sorted(set(have) - set(reference.entries))
    return cmp
