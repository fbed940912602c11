"""Bounded reader of safetensors headers: reads only the 8-byte length and the JSON header, never tensor data.

Every violation of the format (``huggingface/safetensors`` ``tensor.rs`` semantics, plus duplicate-key
rejection and trailing-byte rejection) raises a ``FormatViolation`` (a ``FormatError``) naming the file,
the field at fault and a stable rule id (``SAFETENSORS-HEADER``, ``SAFETENSORS-DTYPE``, ...).
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from clearance.model.violations import FormatViolation

#: Same cap as the reference Rust reader (``MAX_HEADER_SIZE``).
MAX_HEADER_BYTES = 100_000_000
#: Most tensors accepted in one file.
MAX_TENSORS = 1_000_000
#: Most dimensions accepted in one tensor shape.
MAX_DIMS = 64
#: Longest tensor name (bytes, UTF-8).
MAX_NAME_BYTES = 4096
#: Most JSON structural tokens (``, : [ {``) in a header: ~10 per tensor, so ~400k tensors; bounds parse memory.
MAX_JSON_TOKENS = 4_000_000
#: Most ``__metadata__`` entries.
MAX_METADATA_ENTRIES = 100_000

#: Bits per element of every dtype the safetensors format defines.
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}

_TENSOR_FIELDS = {"dtype", "shape", "data_offsets"}


class TensorInfo(BaseModel):
    """One tensor's declaration: dtype, shape and its byte range ``[start, end)`` relative to the data buffer."""

    dtype: str
    shape: list[int]
    start: int
    end: int

    @property
    def nbytes(self) -> int:
        """Bytes the tensor occupies."""
        return self.end - self.start

    @property
    def numel(self) -> int:
        """Number of elements (product of the shape; 1 for a scalar)."""
        return math.prod(self.shape)


class SafetensorsHeader(BaseModel):
    """A validated safetensors header: tensors by name, ``__metadata__``, header and file sizes."""

    path: str
    header_size: int
    file_size: int
    tensors: dict[str, TensorInfo] = Field(default_factory=dict)
    metadata: dict[str, str] = Field(default_factory=dict)

    @property
    def data_offset(self) -> int:
        """Absolute file offset where the tensor byte buffer starts (``8 + header_size``)."""
        return 8 + self.header_size

    @property
    def total_tensor_bytes(self) -> int:
        """Sum of all tensors' byte sizes (equals the data buffer size for a valid file)."""
        return sum(t.nbytes for t in self.tensors.values())

    @property
    def parameter_count(self) -> int:
        """Total number of elements over all tensors."""
        return sum(t.numel for t in self.tensors.values())

    def bytes_by_dtype(self) -> dict[str, int]:
        """Tensor bytes grouped by dtype."""
        out: dict[str, int] = {}
        for t in self.tensors.values():
            out[t.dtype] = out.get(t.dtype, 0) + t.nbytes
        return out


class _Dup(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_dup_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Dup(k)
        out[k] = v
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _is_uint(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def read_safetensors_header(
    path: str | Path,
    *,
    max_header_bytes: int = MAX_HEADER_BYTES,
    max_tensors: int = MAX_TENSORS,
    allow_trailing_bytes: bool = False,
) -> SafetensorsHeader:
    """Read and fully validate the header of a safetensors file without reading tensor data."""
    p = Path(path)
    name = str(p)

    def fail(field: str, msg: str, rule: str) -> FormatViolation:
        return FormatViolation(msg, file=name, field=field, rule=rule)

    try:
        with open(p, "rb") as fh:
            file_size = os.fstat(fh.fileno()).st_size
            head = fh.read(8)
            if len(head) < 8:
                raise fail(
                    "header_length",
                    f"file is {file_size} bytes, too small for the 8-byte header length",
                    "SAFETENSORS-TRUNCATED",
                )
            (n,) = struct.unpack("<Q", head)
            if n > max_header_bytes:
                raise fail(
                    "header_length",
                    f"declared header length {n} exceeds the cap of {max_header_bytes} bytes",
                    "SAFETENSORS-HEADER-SIZE",
                )
            if 8 + n > file_size:
                raise fail(
                    "header_length",
                    f"declared header length {n} runs past the end of the {file_size}-byte file",
                    "SAFETENSORS-TRUNCATED",
                )
            raw = fh.read(n)
    except OSError as exc:
        raise fail("file", f"cannot read: {exc.strerror or exc}", "SAFETENSORS-READ") from exc
    if len(raw) != n:
        raise fail("header", "file shrank while reading the header", "SAFETENSORS-TRUNCATED")
    if n == 0:
        raise fail("header", "header is empty (length 0)", "SAFETENSORS-HEADER")
    tokens = raw.count(b",") + raw.count(b":") + raw.count(b"[") + raw.count(b"{")
    if (
        tokens > MAX_JSON_TOKENS
    ):  # bounds the memory json.loads needs (~100 bytes of Python objects per value)
        raise fail(
            "header",
            f"header holds about {tokens} JSON values, more than the cap of {MAX_JSON_TOKENS} (no real checkpoint has that many)",
            "SAFETENSORS-COUNT",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail("header", f"header is not UTF-8 (byte {exc.start})", "SAFETENSORS-HEADER") from exc
    try:
        doc = json.loads(text, object_pairs_hook=_no_dup_pairs, parse_constant=_reject_constant)
    except _Dup as exc:
        raise fail(
            exc.key[:200],
            f"duplicate JSON key {exc.key[:200]!r} (parsers disagree on which value wins)",
            "SAFETENSORS-DUPLICATE-KEY",
        ) from None
    except RecursionError:
        raise fail("header", "JSON header is nested too deeply", "SAFETENSORS-HEADER") from None
    except MemoryError:
        raise fail("header", "JSON header is too large to parse in memory", "SAFETENSORS-COUNT") from None
    except ValueError as exc:  # JSONDecodeError, huge int literals, NaN/Infinity
        raise fail("header", f"header is not valid JSON: {str(exc)[:200]}", "SAFETENSORS-HEADER") from None
    if not isinstance(doc, dict):
        raise fail(
            "header", f"header must be a JSON object, found {type(doc).__name__}", "SAFETENSORS-HEADER"
        )
    return _validate(
        doc,
        name=name,
        header_size=n,
        file_size=file_size,
        max_tensors=max_tensors,
        allow_trailing=allow_trailing_bytes,
        fail=fail,
    )


def _validate(
    doc: dict[str, Any],
    *,
    name: str,
    header_size: int,
    file_size: int,
    max_tensors: int,
    allow_trailing: bool,
    fail: Callable[[str, str, str], FormatViolation],
) -> SafetensorsHeader:
    metadata: dict[str, str] = {}
    meta = doc.pop("__metadata__", None)
    if meta is not None:
        if not isinstance(meta, dict):
            raise fail(
                "__metadata__", "__metadata__ must be an object of string to string", "SAFETENSORS-METADATA"
            )
        if len(meta) > MAX_METADATA_ENTRIES:
            raise fail(
                "__metadata__",
                f"{len(meta)} metadata entries exceed the cap of {MAX_METADATA_ENTRIES}",
                "SAFETENSORS-METADATA",
            )
        for k, v in meta.items():
            if not isinstance(v, str):
                raise fail(
                    f"__metadata__.{k[:100]}",
                    f"metadata value must be a string, found {type(v).__name__}",
                    "SAFETENSORS-METADATA",
                )
        metadata = meta
    if len(doc) > max_tensors:
        raise fail("header", f"{len(doc)} tensors exceed the cap of {max_tensors}", "SAFETENSORS-COUNT")
    buffer_size = file_size - 8 - header_size
    max_bits = buffer_size * 8
    tensors: dict[str, TensorInfo] = {}
    for tname, info in doc.items():
        short = tname[:200]
        if not tname:
            raise fail("tensor", "empty tensor name", "SAFETENSORS-NAME")
        if len(tname.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise fail(
                f"tensor:{short}", f"tensor name longer than {MAX_NAME_BYTES} bytes", "SAFETENSORS-NAME"
            )
        if not isinstance(info, dict):
            raise fail(
                f"tensor:{short}",
                f"tensor entry must be an object, found {type(info).__name__}",
                "SAFETENSORS-TENSOR",
            )
        keys = set(info)
        if keys != _TENSOR_FIELDS:
            missing = sorted(_TENSOR_FIELDS - keys)
            extra = sorted(str(k)[:50] for k in keys - _TENSOR_FIELDS)
            raise fail(
                f"tensor:{short}",
                f"tensor fields wrong (missing {missing}, unknown {extra})",
                "SAFETENSORS-TENSOR",
            )
        dtype = info["dtype"]
        if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
            raise fail(f"tensor:{short}.dtype", f"unknown dtype {str(dtype)[:50]!r}", "SAFETENSORS-DTYPE")
        shape = info["shape"]
        if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(_is_uint(d) for d in shape):
            raise fail(
                f"tensor:{short}.shape",
                f"shape must be a list of at most {MAX_DIMS} non-negative integers, found {str(shape)[:80]}",
                "SAFETENSORS-SHAPE",
            )
        offs = info["data_offsets"]
        if not isinstance(offs, list) or len(offs) != 2 or not all(_is_uint(o) for o in offs):
            raise fail(
                f"tensor:{short}.data_offsets",
                f"data_offsets must be two non-negative integers, found {str(offs)[:80]}",
                "SAFETENSORS-OFFSET",
            )
        start, end = offs
        if end < start:
            raise fail(
                f"tensor:{short}.data_offsets",
                f"data_offsets end {end} is before start {start}",
                "SAFETENSORS-OFFSET",
            )
        if end > buffer_size:
            raise fail(
                f"tensor:{short}.data_offsets",
                f"data_offsets end {end} is past the {buffer_size}-byte data buffer",
                "SAFETENSORS-OFFSET",
            )
        bits = DTYPE_BITS[dtype]
        numel = 0 if 0 in shape else 1
        for d in shape if numel else ():
            numel *= d
            if numel * bits > max_bits:  # cannot match any in-bounds range; stop before numbers grow huge
                raise fail(
                    f"tensor:{short}.shape",
                    f"shape {str(shape)[:80]} x {dtype} needs more bytes than the file holds",
                    "SAFETENSORS-SIZE",
                )
        nbits = numel * bits
        if nbits % 8:
            raise fail(
                f"tensor:{short}.shape",
                f"{numel} elements of {dtype} are not a whole number of bytes",
                "SAFETENSORS-SIZE",
            )
        if nbits // 8 != end - start:
            raise fail(
                f"tensor:{short}.data_offsets",
                f"shape {shape} x {dtype} is {nbits // 8} bytes but data_offsets span {end - start}",
                "SAFETENSORS-SIZE",
            )
        tensors[tname] = TensorInfo(dtype=dtype, shape=list(shape), start=start, end=end)
    cursor = 0
    for tname, t in sorted(tensors.items(), key=lambda kv: (kv[1].start, kv[1].end)):
        if t.start != cursor:
            what = (
                "overlaps the previous tensor"
                if t.start < cursor
                else "leaves a hole after the previous tensor"
            )
            raise fail(
                f"tensor:{tname[:200]}.data_offsets",
                f"data starts at {t.start}, expected {cursor}: {what}",
                "SAFETENSORS-OFFSET",
            )
        cursor = t.end
    if cursor != buffer_size and not allow_trailing:
        raise fail(
            "data",
            f"tensors cover {cursor} of {buffer_size} data bytes: {buffer_size - cursor} trailing bytes (possible polyglot)",
            "SAFETENSORS-TRAILING",
        )
    return SafetensorsHeader(
        path=name, header_size=header_size, file_size=file_size, tensors=tensors, metadata=metadata
    )


__all__ = [
    "DTYPE_BITS",
    "MAX_HEADER_BYTES",
    "SafetensorsHeader",
    "TensorInfo",
    "read_safetensors_header",
]
