"""Scan checks that validate every weights file with the bounded readers, routed by content, not by name.

``SAFETENSORS``/``GGUF``: structural validation (a ``FormatError`` becomes a finding with the reader's rule id).
``PICKLE``: raw pickles, legacy ``torch.save`` streams, zip checkpoints (every pickle member, whatever its
name), object ``.npy`` arrays — analysed statically, never unpickled.
"""

from __future__ import annotations

import ast
import bz2
import io
import json
import lzma
import re
import struct
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from clearance.errors import FormatError
from clearance.findings import Finding, Severity
from clearance.model.gguf import read_gguf
from clearance.model.pytorch_zip import ZIP_MAGIC, ZipIssue, read_member, read_zip_directory
from clearance.model.safetensors import SafetensorsHeader, read_safetensors_header
from clearance.model.violations import rule_of
from clearance.scan.checks import ScanContext, check
from clearance.scan.pickle_scan import (
    PickleAnalysis,
    analyse_pickle_bytes,
    analyse_pickle_file,
    looks_like_pickle,
)

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".dat", ".data", ".dill")
TORCH_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pt2", ".mar")
ZIP_SUFFIXES = (".zip", ".npz")
NPY_MAGIC = b"\x93NUMPY"
#: Largest pickle member read out of a zip (or decompressed from a joblib/gzip file) for analysis. Real
#: ``data.pkl`` members are a few MB (tensor data lives in separate storage records).
MAX_PICKLE_MEMBER = 128 << 20
MAX_NESTED_ZIP = 64 << 20
MAX_INDEX_BYTES = 64 << 20
#: Most members of a tar archive (legacy ``torch.save`` tar format) walked.
MAX_TAR_MEMBERS = 10_000
#: Compressed-stream magics that joblib / pandas loaders recognise and decompress before unpickling.
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
    b"\x5d\x00\x00": "lzma",
    b"x\x01": "zlib",
    b"x\x5e": "zlib",
    b"x\x9c": "zlib",
    b"x\xda": "zlib",
}
#: Names whose loaders decompress transparently (joblib, pandas.read_pickle, numpy) or that are pickle weights.
_COMPRESSED_NAMES = re.compile(
    r"\.(pkl|pickle|joblib|dill|dat|data|bin|pt|pth|ckpt|npy|npz)($|\.)|\.(gz|gzip|bz2|xz|lzma|z|zlib)$", re.I
)


def _head(path: Path, n: int = 512) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def _compression(head: bytes) -> str | None:
    return next((kind for magic, kind in _COMPRESSED.items() if head.startswith(magic)), None)


def _is_tar(head: bytes) -> bool:
    return len(head) >= 263 and head[257:262] == b"ustar"


def _kind(rel: Path, head: bytes, size: int) -> str | None:
    low = rel.name.lower()
    if low.endswith(".gguf") or head[:4] in (b"GGUF", b"FUGG"):
        return "gguf"
    if low.endswith(".safetensors"):
        return "safetensors"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(NPY_MAGIC):
        return "npy"
    if _is_tar(head):
        return "tar"
    if _compression(head) and _COMPRESSED_NAMES.search(low):
        return "compressed"
    if looks_like_pickle(head) or low.endswith(PICKLE_SUFFIXES + TORCH_SUFFIXES):
        return "pickle"
    if len(head) >= 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] <= size - 8:
        return "safetensors"  # a safetensors file under another name
    if low.endswith(ZIP_SUFFIXES):
        return "zip"
    return None


def _routed(ctx: ScanContext, kind: str) -> Iterator[tuple[Path, Path]]:
    for rel in ctx.files:
        full = ctx.root / rel
        try:
            size = full.stat().st_size
        except OSError:
            continue
        if _kind(rel, _head(full), size) == kind:
            yield rel, full


def _format_finding(rel: Path, err: FormatError, default_rule: str) -> Finding:
    msg = str(err).split("] ", 1)[-1] if err.field else str(err).split(": ", 1)[-1]
    return Finding(
        file=str(rel),
        rule=rule_of(err, default_rule),
        severity=Severity.high,
        message=f"{msg} (field {err.field})" if err.field else msg,
        details={"field": err.field},
    )


@check(
    "SAFETENSORS",
    "safetensors headers: size cap, strict JSON, dtypes, shapes vs byte ranges, contiguity, no trailing bytes",
)
def check_safetensors(ctx: ScanContext) -> Iterable[Finding]:
    """Validate every safetensors file (by suffix or by content)."""
    headers: dict[Path, SafetensorsHeader] = {}
    for rel, full in _routed(ctx, "safetensors"):
        try:
            headers[rel] = read_safetensors_header(full)
        except FormatError as err:
            yield _format_finding(rel, err, "SAFETENSORS-HEADER")
    for rel in ctx.with_suffix(".safetensors.index.json"):
        yield from _check_index(ctx, rel, headers)


def _index_finding(rel: Path, msg: str, severity: Severity = Severity.high) -> Finding:
    return Finding(file=str(rel), rule="SAFETENSORS-INDEX", severity=severity, message=msg)


def _check_index(ctx: ScanContext, rel: Path, headers: dict[Path, SafetensorsHeader]) -> Iterator[Finding]:
    """A shard index must name existing shards, and map each tensor to the one shard that holds it."""
    full = ctx.root / rel
    try:
        if full.stat().st_size > MAX_INDEX_BYTES:
            yield _index_finding(rel, f"index is larger than {MAX_INDEX_BYTES} bytes")
            return
        doc = json.loads(full.read_text("utf-8"), object_pairs_hook=_strict_pairs)
    except (OSError, ValueError, RecursionError) as exc:
        yield _index_finding(rel, f"index is not valid JSON: {str(exc)[:160]}")
        return
    wm = doc.get("weight_map") if isinstance(doc, dict) else None
    if not isinstance(wm, dict) or not all(isinstance(v, str) for v in wm.values()):
        yield _index_finding(rel, "index has no weight_map of tensor name to shard file")
        return
    files = set(ctx.files)
    claimed: dict[Path, set[str]] = {}
    for tensor, shard in wm.items():
        sp = Path(shard)
        if sp.is_absolute() or ".." in sp.parts:
            yield _index_finding(rel, f"weight_map points outside the model directory: {shard!r}")
            return
        claimed.setdefault(rel.parent / sp, set()).add(tensor)
    total = 0
    for shard, names in sorted(claimed.items()):
        if shard not in files:
            yield _index_finding(rel, f"shard {shard} named by the index is missing ({len(names)} tensors)")
            continue
        h = headers.get(shard)
        if h is None:
            continue  # the shard itself failed validation and has its own finding
        total += h.total_tensor_bytes
        absent = sorted(names - set(h.tensors))
        extra = sorted(set(h.tensors) - names)
        if absent:
            yield _index_finding(
                rel, f"{len(absent)} tensors mapped to {shard} are not in it (e.g. {absent[0]!r})"
            )
        if extra:
            yield _index_finding(
                rel,
                f"{shard} holds {len(extra)} tensors the index does not map (e.g. {extra[0]!r})",
                Severity.medium,
            )
    declared = doc.get("metadata", {}).get("total_size") if isinstance(doc.get("metadata"), dict) else None
    if isinstance(declared, int) and total and declared != total and all(s in headers for s in claimed):
        yield _index_finding(
            rel,
            f"metadata.total_size {declared} differs from the shards' tensor bytes {total}",
            Severity.medium,
        )


def _strict_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k[:100]!r}")
        out[k] = v
    return out


@check(
    "GGUF",
    "GGUF structure: magic, version, caps, value types, alignment, tensor offsets and sizes inside the file",
)
def check_gguf(ctx: ScanContext) -> Iterable[Finding]:
    """Validate every GGUF file (by suffix or magic)."""
    for rel, full in _routed(ctx, "gguf"):
        try:
            read_gguf(full)
        except FormatError as err:
            yield _format_finding(rel, err, "GGUF-HEADER")


def _pickle_findings(rel: Path, a: PickleAnalysis, member: str | None = None) -> Iterator[Finding]:
    where = f" in member {member!r}" if member else ""
    for i in a.issues:
        if i.severity == Severity.info:
            continue
        yield Finding(
            file=str(rel),
            rule=i.rule,
            severity=i.severity,
            message=f"{i.message}{where}",
            details={"pos": i.pos, "member": member, "globals": sorted({g.full for g in a.globals})[:50]},
        )


def _zip_issue(rel: Path, z: ZipIssue) -> Finding:
    return Finding(
        file=str(rel), rule=z.rule, severity=z.severity, message=z.message, details={"member": z.member}
    )


#: Raw tensor storage records of a torch zip (``archive/data/0``): loaders never unpickle them.
_STORAGE_RECORD = re.compile(r"(^|/)data/\d+$")


def scan_zip_bytes_or_file(rel: Path, fh: object, size: int, label: str, depth: int = 0) -> Iterator[Finding]:
    """Findings for a zip archive (PyTorch checkpoint or ``.npz``) read through the file object ``fh``."""
    from typing import BinaryIO, cast

    f = cast(BinaryIO, fh)
    try:
        listing = read_zip_directory(f, size, name=label)
    except FormatError as err:
        yield _format_finding(rel, err, "ZIP-STRUCTURE")
        return
    for z in listing.issues:
        yield _zip_issue(rel, z)
    names = listing.names()
    if any(n.endswith(".py") and "/code/" in f"/{n}" for n in names):
        yield Finding(
            file=str(rel),
            rule="TORCHSCRIPT-CODE",
            severity=Severity.medium,
            message="archive carries TorchScript code (code/*.py), which runs when loaded with torch.jit.load",
        )
    if (
        names
        and listing.entries[0].name
        and not any(n.endswith(".pkl") for n in names)
        and rel.suffix.lower() in TORCH_SUFFIXES
    ):
        yield Finding(
            file=str(rel),
            rule="PYTORCH-NO-DATA-PKL",
            severity=Severity.medium,
            message="zip checkpoint has no data.pkl member",
        )
    pickled = False
    for e in listing.entries:
        if e.uncompressed_size == 0 or e.name.endswith("/"):
            continue  # flagged-encrypted members are still read: loaders such as PyTorch's ignore the flag
        is_pkl = e.name.lower().endswith((".pkl", ".pickle"))
        storage = bool(_STORAGE_RECORD.search(e.name))
        nested_zip = e.name.lower().endswith(ZIP_SUFFIXES + TORCH_SUFFIXES)
        if storage and not nested_zip:
            continue
        try:
            head, _ = read_member(
                f, size, e.model_copy(update={"uncompressed_size": 16}), name=label, max_bytes=16
            )
        except FormatError as err:
            yield _format_finding(rel, err, "ZIP-STRUCTURE")
            continue
        if head.startswith(ZIP_MAGIC):
            yield Finding(
                file=str(rel),
                rule="ZIP-NESTED",
                severity=Severity.medium,
                message=f"member {e.name!r} is itself a zip archive",
                details={"member": e.name},
            )
            if depth < 1 and e.uncompressed_size <= MAX_NESTED_ZIP:
                import io

                data, _ = read_member(f, size, e, name=label, max_bytes=MAX_NESTED_ZIP)
                yield from scan_zip_bytes_or_file(
                    rel, io.BytesIO(data), len(data), f"{label}!{e.name}", depth + 1
                )
            continue
        if head.startswith(NPY_MAGIC):
            yield from _npz_member(rel, f, size, e, label)
            continue
        if not (is_pkl or looks_like_pickle(head)):
            continue
        try:
            data, issues = read_member(f, size, e, name=label, max_bytes=MAX_PICKLE_MEMBER)
        except FormatError as err:
            yield _format_finding(rel, err, "ZIP-STRUCTURE")
            continue
        for z in issues:
            yield _zip_issue(rel, z)
        a = analyse_pickle_bytes(data, label=f"{label}!{e.name}")
        if not is_pkl and not a.globals:
            continue  # bytes that merely start like a pickle, with nothing a loader would import
        if not pickled:
            pickled = True
            yield Finding(
                file=str(rel),
                rule="PICKLE-FILE",
                severity=Severity.low,
                message="pickle-based checkpoint can run code when loaded; prefer safetensors",
                details={"member": e.name},
            )
        if not is_pkl:
            yield Finding(
                file=str(rel),
                rule="ZIP-HIDDEN-PICKLE",
                severity=Severity.medium,
                message=f"member {e.name!r} is a pickle without a .pkl name (scanners that route by extension miss it)",
                details={"member": e.name},
            )
        yield from _pickle_findings(rel, a, e.name)


def _npz_member(rel: Path, f: object, size: int, e: object, label: str) -> Iterator[Finding]:
    """An ``.npy`` member of an ``.npz``: object arrays hold a pickle (``np.load(allow_pickle=True)`` runs it)."""
    from typing import BinaryIO, cast

    from clearance.model.pytorch_zip import ZipEntry

    entry = cast(ZipEntry, e)
    try:
        data, issues = read_member(cast(BinaryIO, f), size, entry, name=label, max_bytes=MAX_PICKLE_MEMBER)
        off = _npy_pickle_offset_fh(io.BytesIO(data), f"{label}!{entry.name}")
    except (FormatError, IndexError, struct.error) as err:
        yield Finding(
            file=str(rel),
            rule="NPY-HEADER",
            severity=Severity.high,
            message=f"member {entry.name!r}: malformed .npy header: {err}",
            details={"member": entry.name},
        )
        return
    for z in issues:
        yield _zip_issue(rel, z)
    if off is None:
        return
    yield Finding(
        file=str(rel),
        rule="NPY-OBJECT",
        severity=Severity.medium,
        message=f"member {entry.name!r} is an object-dtype array holding a pickle (np.load(allow_pickle=True) runs it)",
        details={"member": entry.name},
    )
    yield from _pickle_findings(
        rel, analyse_pickle_bytes(data[off:], label=f"{label}!{entry.name}"), entry.name
    )


def _npy_pickle_offset(full: Path) -> int | None:
    with open(full, "rb") as fh:
        return _npy_pickle_offset_fh(fh, str(full))


def _npy_pickle_offset_fh(fh: io.BufferedIOBase | io.BytesIO, full: str) -> int | None:
    """Offset of the pickled payload of an object-dtype ``.npy`` stream, or ``None`` for plain arrays."""
    head = fh.read(10)
    if len(head) < 10 or not head.startswith(NPY_MAGIC):
        raise FormatError("npy preamble is truncated", file=full, field="header")
    major = head[6]
    if major == 1:
        (hlen,) = struct.unpack("<H", head[8:10])
        start = 10
    else:
        fh.seek(8)
        (hlen,) = struct.unpack("<I", fh.read(4))
        start = 12
    if hlen > 1 << 20:
        raise FormatError(f"npy header length {hlen} is implausible", file=full, field="header")
    fh.seek(start)
    text = fh.read(hlen).decode("latin1")
    try:
        meta = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise FormatError("npy header is not a Python literal", file=full, field="header") from None
    if not isinstance(meta, dict) or "descr" not in meta:
        raise FormatError("npy header has no descr", file=full, field="descr")
    return start + hlen if "O" in str(meta["descr"]) else None


def _ends_with_zip(full: Path, size: int) -> bool:
    """Whether a zip end-of-central-directory record sits in the last 64 KiB (zip readers start there)."""
    try:
        with open(full, "rb") as fh:
            fh.seek(max(0, size - 22 - 65535))
            tail = fh.read()
    except OSError:
        return False
    i = tail.rfind(b"PK\x05\x06")
    return i >= 0 and len(tail) - i >= 22


def _decompress_bounded(raw_fh: io.BufferedReader, kind: str, cap: int) -> tuple[bytes, bool]:
    """Decompress a gzip/zlib/bz2/xz/lzma stream to at most ``cap`` bytes; (data, truncated)."""
    d: Any
    if kind == "gzip":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif kind == "zlib":
        d = zlib.decompressobj()
    elif kind == "bz2":
        d = bz2.BZ2Decompressor()
    else:
        d = lzma.LZMADecompressor(lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE)
    out = bytearray()
    pending = b""
    while len(out) < cap:
        if kind in ("gzip", "zlib"):
            chunk = d.unconsumed_tail or raw_fh.read(1 << 20)
            if not chunk:
                break
            out += d.decompress(chunk, cap - len(out))
            if d.eof:
                break
        else:
            if d.eof:
                break
            if d.needs_input:
                pending = raw_fh.read(1 << 20)
                if not pending:
                    break
            else:
                pending = b""
            out += d.decompress(pending, cap - len(out))
    truncated = len(out) >= cap
    return bytes(out[:cap]), truncated


def _compressed_pickle(rel: Path, full: Path) -> Iterator[Finding]:
    """A compressed pickle (joblib ``compress=``, ``pandas.to_pickle('x.pkl.gz')``): decompress bounded, analyse."""
    kind = _compression(_head(full)) or "gzip"
    try:
        with open(full, "rb") as fh:
            data, truncated = _decompress_bounded(fh, kind, MAX_PICKLE_MEMBER)
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
        yield Finding(
            file=str(rel),
            rule="PICKLE-COMPRESSED",
            severity=Severity.medium,
            message=f"{kind}-compressed file cannot be decompressed ({exc}); its content was not analysed",
        )
        return
    if truncated:
        yield Finding(
            file=str(rel),
            rule="PICKLE-LIMIT",
            severity=Severity.high,
            message=f"{kind} stream decompresses to more than {MAX_PICKLE_MEMBER} bytes (decompression bomb?); only the start was analysed",
        )
    if not looks_like_pickle(data[:16]):
        return
    a = analyse_pickle_bytes(data, label=f"{full}!{kind}")
    yield Finding(
        file=str(rel),
        rule="PICKLE-FILE",
        severity=Severity.low,
        message=f"{kind}-compressed pickle (joblib/pandas decompress it before unpickling); prefer safetensors",
        details={"globals": sorted({g.full for g in a.globals})[:50]},
    )
    yield from _pickle_findings(rel, a, kind)


def _tar_pickles(rel: Path, full: Path, size: int) -> Iterator[Finding]:
    """A tar archive (the legacy ``torch.save`` tar format: ``storages``, ``tensors``, ``pickle`` members)."""
    pickled = False
    with open(full, "rb") as fh:
        pos = 0
        long_name: str | None = None
        for _ in range(MAX_TAR_MEMBERS):
            fh.seek(pos)
            hdr = fh.read(512)
            if len(hdr) < 512 or hdr == b"\0" * 512:
                return
            try:
                raw_size = hdr[124:136].split(b"\0", 1)[0].strip() or b"0"
                msize = int(raw_size, 8) if raw_size[:1] != b"\x80" else int.from_bytes(hdr[125:136], "big")
            except ValueError:
                yield Finding(
                    file=str(rel), rule="TAR-STRUCTURE", severity=Severity.high,
                    message=f"tar header at {pos} has an unreadable size field",
                )  # fmt: skip
                return
            name = long_name or hdr[:100].split(b"\0", 1)[0].decode("utf-8", "replace")
            long_name = None
            typeflag = hdr[156:157]
            data_pos = pos + 512
            if data_pos + msize > size:
                yield Finding(
                    file=str(rel), rule="TAR-STRUCTURE", severity=Severity.high,
                    message=f"tar member {name[:100]!r} runs past the end of the file",
                )  # fmt: skip
                return
            if typeflag == b"L":
                long_name = fh.read(min(msize, 4096)).split(b"\0", 1)[0].decode("utf-8", "replace")
            elif typeflag in (b"0", b"\0", b"7"):
                fh.seek(data_pos)
                data = fh.read(min(msize, MAX_PICKLE_MEMBER))
                if looks_like_pickle(data[:16]):
                    a = analyse_pickle_bytes(data, label=f"{full}!{name}")
                    if not pickled:
                        pickled = True
                        yield Finding(
                            file=str(rel), rule="PICKLE-FILE", severity=Severity.low,
                            message="tar archive of pickles (legacy torch.save format) runs code when loaded; prefer safetensors",
                        )  # fmt: skip
                    yield from _pickle_findings(rel, a, name)
            pos = data_pos + (msize + 511) // 512 * 512
        yield Finding(
            file=str(rel), rule="TAR-STRUCTURE", severity=Severity.medium,
            message=f"more than {MAX_TAR_MEMBERS} tar members; the rest were not analysed",
        )  # fmt: skip


@check(
    "PICKLE",
    "pickles, PyTorch zip and legacy checkpoints, object .npy: static opcode walk, default-deny globals, zip traversal/bombs/nesting",
)
def check_pickles(ctx: ScanContext) -> Iterable[Finding]:
    """Analyse every pickle-bearing file (routed by magic bytes as loaders do, and by suffix)."""
    for rel in ctx.files:
        full = ctx.root / rel
        try:
            size = full.stat().st_size
        except OSError:
            continue
        kind = _kind(rel, _head(full), size)
        if kind == "zip":
            try:
                with open(full, "rb") as fh:
                    yield from scan_zip_bytes_or_file(rel, fh, size, str(full))
            except OSError as exc:
                yield Finding(
                    file=str(rel), rule="ZIP-READ", severity=Severity.high, message=f"cannot read: {exc}"
                )
        elif kind == "compressed":
            yield from _compressed_pickle(rel, full)
        elif kind == "tar":
            yield from _tar_pickles(rel, full, size)
        elif kind == "pickle":
            if _ends_with_zip(full, size):  # a polyglot: zip readers (zipfile, numpy) read it from the end
                with open(full, "rb") as fh:
                    yield from scan_zip_bytes_or_file(rel, fh, size, str(full))
            try:
                a = analyse_pickle_file(full)
            except (OSError, ValueError) as exc:
                yield Finding(
                    file=str(rel), rule="PICKLE-READ", severity=Severity.high, message=f"cannot read: {exc}"
                )
                continue
            head = _head(full)
            if not a.globals and not looks_like_pickle(head):
                if _ends_with_zip(full, size):
                    continue
                if head[:1] == b"\x80" and rel.name.lower().endswith(PICKLE_SUFFIXES + TORCH_SUFFIXES):
                    yield from _pickle_findings(rel, a)  # a pickle header of a protocol no loader reads
                    continue
                yield Finding(
                    file=str(rel),
                    rule="PICKLE-NOT-PICKLE",
                    severity=Severity.low,
                    message="named like a pickle checkpoint but holds neither a pickle nor a zip (nothing a loader would import)",
                )
                continue
            yield Finding(
                file=str(rel),
                rule="PICKLE-FILE",
                severity=Severity.low,
                message="pickle-based weights can run code when loaded; prefer safetensors",
                details={"globals": sorted({g.full for g in a.globals})[:50]},
            )
            yield from _pickle_findings(rel, a)
        elif kind == "npy":
            try:
                off = _npy_pickle_offset(full)
            except (FormatError, OSError, IndexError, struct.error) as exc:
                yield Finding(
                    file=str(rel),
                    rule="NPY-HEADER",
                    severity=Severity.high,
                    message=f"malformed .npy header: {exc}",
                )
                continue
            if off is None:
                continue
            with open(full, "rb") as fh:
                fh.seek(off)
                data = fh.read(min(size - off, MAX_PICKLE_MEMBER))
            yield Finding(
                file=str(rel),
                rule="NPY-OBJECT",
                severity=Severity.medium,
                message="object-dtype .npy holds a pickle (np.load(allow_pickle=True) runs it)",
            )
            yield from _pickle_findings(rel, analyse_pickle_bytes(data, label=str(full)))


__all__ = ["check_gguf", "check_pickles", "check_safetensors", "scan_zip_bytes_or_file"]
