"""Bounded reader of GGUF files: header, metadata key/values and tensor infos, never tensor data.

Follows ``ggml/src/gguf.cpp`` (versions 2 and 3, little-endian; duplicate keys and tensor names rejected;
``general.alignment`` a UINT32 power of two; tensors densely packed at aligned offsets) and adds caps on
counts, string lengths, array lengths, nesting and total metadata so that a tiny hostile file cannot force
huge allocations. Every declared length is also checked against the bytes left in the file before reading.
Violations raise ``FormatViolation`` (a ``FormatError``) with a stable rule id (``GGUF-MAGIC``, ``GGUF-OFFSET``...).
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel, Field

from clearance.model.violations import FormatViolation

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
#: ggml's GGML_MAX_NAME is 64 including the terminating NUL.
MAX_TENSOR_NAME_BYTES = 63
MAX_DIMS = 4
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class GGMLType:
    """A ggml tensor type: its id, name, elements per block and bytes per block."""

    id: int
    name: str
    block_size: int
    type_size: int

    @property
    def bits_per_weight(self) -> float:
        """Storage bits per element, including block scales."""
        return self.type_size * 8 / self.block_size


#: ggml tensor types by id (``ggml.h`` HEAD). Ids 4, 5, 31-33 and 36-38 were removed and are invalid.
GGML_TYPES: dict[int, GGMLType] = {
    t.id: t
    for t in (
        GGMLType(0, "F32", 1, 4),
        GGMLType(1, "F16", 1, 2),
        GGMLType(2, "Q4_0", 32, 18),
        GGMLType(3, "Q4_1", 32, 20),
        GGMLType(6, "Q5_0", 32, 22),
        GGMLType(7, "Q5_1", 32, 24),
        GGMLType(8, "Q8_0", 32, 34),
        GGMLType(9, "Q8_1", 32, 36),
        GGMLType(10, "Q2_K", 256, 84),
        GGMLType(11, "Q3_K", 256, 110),
        GGMLType(12, "Q4_K", 256, 144),
        GGMLType(13, "Q5_K", 256, 176),
        GGMLType(14, "Q6_K", 256, 210),
        GGMLType(15, "Q8_K", 256, 292),
        GGMLType(16, "IQ2_XXS", 256, 66),
        GGMLType(17, "IQ2_XS", 256, 74),
        GGMLType(18, "IQ3_XXS", 256, 98),
        GGMLType(19, "IQ1_S", 256, 50),
        GGMLType(20, "IQ4_NL", 32, 18),
        GGMLType(21, "IQ3_S", 256, 110),
        GGMLType(22, "IQ2_S", 256, 82),
        GGMLType(23, "IQ4_XS", 256, 136),
        GGMLType(24, "I8", 1, 1),
        GGMLType(25, "I16", 1, 2),
        GGMLType(26, "I32", 1, 4),
        GGMLType(27, "I64", 1, 8),
        GGMLType(28, "F64", 1, 8),
        GGMLType(29, "IQ1_M", 256, 56),
        GGMLType(30, "BF16", 1, 2),
        GGMLType(34, "TQ1_0", 256, 54),
        GGMLType(35, "TQ2_0", 256, 66),
        GGMLType(39, "MXFP4", 32, 17),
        GGMLType(40, "NVFP4", 64, 36),
        GGMLType(41, "Q1_0", 128, 18),
        GGMLType(42, "Q2_0", 64, 18),
    )
}
GGML_TYPES_BY_NAME: dict[str, GGMLType] = {t.name: t for t in GGML_TYPES.values()}

# GGUF metadata value types.
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
_SCALAR: dict[int, tuple[str, int]] = {
    UINT8: ("<B", 1),
    INT8: ("<b", 1),
    UINT16: ("<H", 2),
    INT16: ("<h", 2),
    UINT32: ("<I", 4),
    INT32: ("<i", 4),
    FLOAT32: ("<f", 4),
    BOOL: ("<B", 1),
    UINT64: ("<Q", 8),
    INT64: ("<q", 8),
    FLOAT64: ("<d", 8),
}
VALUE_TYPE_NAMES = {
    UINT8: "UINT8", INT8: "INT8", UINT16: "UINT16", INT16: "INT16", UINT32: "UINT32", INT32: "INT32",
    FLOAT32: "FLOAT32", BOOL: "BOOL", STRING: "STRING", ARRAY: "ARRAY", UINT64: "UINT64", INT64: "INT64",
    FLOAT64: "FLOAT64",
}  # fmt: skip


@dataclass(frozen=True)
class GGUFLimits:
    """Caps that bound time and memory on hostile input (all far above what real models use)."""

    max_tensors: int = 1_000_000
    max_kv: int = 65_536
    max_key_bytes: int = 65_535
    max_string_bytes: int = 64 * 1024 * 1024
    max_array_elems: int = 16 * 1024 * 1024
    max_total_array_elems: int = 32 * 1024 * 1024
    max_array_depth: int = 2
    max_metadata_bytes: int = 1024 * 1024 * 1024
    max_alignment: int = 1 << 20


def gguf_tensor_bytes(ggml_type: int | str, shape: list[int] | tuple[int, ...]) -> int:
    """Bytes a tensor of this ggml type and shape (``ne0`` first, GGUF order) occupies; ValueError if invalid."""
    t = GGML_TYPES.get(ggml_type) if isinstance(ggml_type, int) else GGML_TYPES_BY_NAME.get(ggml_type.upper())
    if t is None:
        raise ValueError(f"unknown ggml type {ggml_type!r}")
    if not shape:
        return t.type_size if t.block_size == 1 else 0
    if any(d < 0 for d in shape):
        raise ValueError(f"negative dimension in {list(shape)}")
    if shape[0] % t.block_size:
        raise ValueError(
            f"row of {shape[0]} elements is not a multiple of the {t.name} block size {t.block_size}"
        )
    n = shape[0] // t.block_size
    for d in shape[1:]:
        n *= d
    return n * t.type_size


def bits_per_weight(ggml_type: int | str) -> float:
    """Storage bits per weight of a ggml type (e.g. Q4_1 → 5.0), including block scales."""
    t = GGML_TYPES.get(ggml_type) if isinstance(ggml_type, int) else GGML_TYPES_BY_NAME.get(ggml_type.upper())
    if t is None:
        raise ValueError(f"unknown ggml type {ggml_type!r}")
    return t.bits_per_weight


class GGUFTensor(BaseModel):
    """One tensor info: name, shape (``ne0`` first), ggml type, offset relative to the data section, bytes."""

    name: str
    shape: list[int]
    ggml_type: int
    type_name: str
    offset: int
    nbytes: int

    @property
    def numel(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)


class GGUFFile(BaseModel):
    """A validated GGUF file: version, metadata, tensor infos, alignment, data offset and file size."""

    path: str
    version: int
    metadata: dict[str, Any] = Field(default_factory=dict)
    metadata_types: dict[str, str] = Field(default_factory=dict)
    tensors: list[GGUFTensor] = Field(default_factory=list)
    alignment: int = DEFAULT_ALIGNMENT
    data_offset: int
    file_size: int

    @property
    def architecture(self) -> str | None:
        """``general.architecture`` when present."""
        v = self.metadata.get("general.architecture")
        return v if isinstance(v, str) else None

    @property
    def total_tensor_bytes(self) -> int:
        """Sum of tensor sizes (without alignment padding)."""
        return sum(t.nbytes for t in self.tensors)

    @property
    def parameter_count(self) -> int:
        """Total number of elements over all tensors."""
        return sum(t.numel for t in self.tensors)

    def bytes_by_type(self) -> dict[str, int]:
        """Tensor bytes grouped by ggml type name."""
        out: dict[str, int] = {}
        for t in self.tensors:
            out[t.type_name] = out.get(t.type_name, 0) + t.nbytes
        return out


class _Reader:
    """Sequential reader that checks every length against the bytes left before reading."""

    def __init__(self, fh: BinaryIO, size: int, name: str, limits: GGUFLimits) -> None:
        self.fh = fh
        self.size = size
        self.pos = 0
        self.name = name
        self.limits = limits
        self.meta_bytes = 0
        self.array_elems = 0
        self.field = "header"

    def fail(self, msg: str, rule: str, field: str | None = None) -> FormatViolation:
        return FormatViolation(msg, file=self.name, field=field or self.field, rule=rule)

    def read(self, n: int) -> bytes:
        if n > self.size - self.pos:
            raise self.fail(
                f"needs {n} bytes at offset {self.pos} but the file ends at {self.size}", "GGUF-TRUNCATED"
            )
        b = self.fh.read(n)
        if len(b) != n:
            raise self.fail(f"file ended early at offset {self.pos + len(b)}", "GGUF-TRUNCATED")
        self.pos += n
        return b

    def u32(self) -> int:
        return int(struct.unpack("<I", self.read(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.read(8))[0])

    def string(self, cap: int, what: str) -> str:
        n = self.u64()
        if n > cap:
            raise self.fail(f"{what} length {n} exceeds the cap of {cap} bytes", "GGUF-STRING")
        self._account(n)
        raw = self.read(n)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.fail(f"{what} is not valid UTF-8 (byte {exc.start})", "GGUF-STRING") from None

    def _account(self, n: int) -> None:
        self.meta_bytes += n
        if self.meta_bytes > self.limits.max_metadata_bytes:
            raise self.fail(
                f"metadata exceeds the cap of {self.limits.max_metadata_bytes} bytes", "GGUF-METADATA-SIZE"
            )

    def value(self, vtype: int, depth: int) -> Any:
        if vtype in _SCALAR:
            fmt, size = _SCALAR[vtype]
            v = struct.unpack(fmt, self.read(size))[0]
            if vtype == BOOL:
                if v not in (0, 1):
                    raise self.fail(f"BOOL value byte is {v}, must be 0 or 1", "GGUF-VALUE")
                return bool(v)
            return v
        if vtype == STRING:
            return self.string(self.limits.max_string_bytes, "string value")
        if vtype == ARRAY:
            return self.array(depth + 1)
        raise self.fail(f"unknown value type {vtype}", "GGUF-VALUE-TYPE")

    def array(self, depth: int) -> list[Any]:
        lim = self.limits
        if depth > lim.max_array_depth:
            raise self.fail(
                f"arrays nested {depth} deep exceed the cap of {lim.max_array_depth}", "GGUF-ARRAY"
            )
        etype = self.u32()
        n = self.u64()
        if etype not in VALUE_TYPE_NAMES:
            raise self.fail(f"unknown array element type {etype}", "GGUF-VALUE-TYPE")
        if n > lim.max_array_elems:
            raise self.fail(f"array of {n} elements exceeds the cap of {lim.max_array_elems}", "GGUF-ARRAY")
        self.array_elems += n
        if self.array_elems > lim.max_total_array_elems:
            raise self.fail(
                f"arrays hold more than {lim.max_total_array_elems} elements in total", "GGUF-ARRAY"
            )
        if etype in _SCALAR:
            fmt, size = _SCALAR[etype]
            self._account(n * size)
            raw = self.read(n * size)
            vals = list(struct.unpack(f"<{n}{fmt[1]}", raw))
            if etype == BOOL:
                if any(v not in (0, 1) for v in vals):
                    raise self.fail("BOOL array element is not 0 or 1", "GGUF-VALUE")
                return [bool(v) for v in vals]
            return vals
        min_elem = 8 if etype == STRING else 12
        if n * min_elem > self.size - self.pos:
            raise self.fail(
                f"array of {n} elements cannot fit in the {self.size - self.pos} bytes left", "GGUF-TRUNCATED"
            )
        if etype == STRING:
            cap = lim.max_string_bytes
            return [self.string(cap, "array string") for _ in range(n)]
        return [self.array(depth + 1) for _ in range(n)]


def read_gguf(
    path: str | Path, *, limits: GGUFLimits | None = None, allow_trailing_bytes: bool = False
) -> GGUFFile:
    """Read and validate a GGUF file's header, metadata and tensor infos (bounded; tensor data is never read)."""
    lim = limits or GGUFLimits()
    p = Path(path)
    name = str(p)
    try:
        with open(p, "rb", buffering=1 << 20) as fh:
            size = os.fstat(fh.fileno()).st_size
            return _parse(_Reader(fh, size, name, lim), allow_trailing_bytes)
    except OSError as exc:
        raise FormatViolation(
            f"cannot read: {exc.strerror or exc}", file=name, field="file", rule="GGUF-READ"
        ) from exc
    except MemoryError:
        raise FormatViolation(
            "ran out of memory while parsing", file=name, field="metadata", rule="GGUF-METADATA-SIZE"
        ) from None


def _parse(r: _Reader, allow_trailing: bool) -> GGUFFile:
    lim = r.limits
    magic = r.read(4)
    if magic != GGUF_MAGIC:
        if magic == b"FUGG":
            raise r.fail("big-endian GGUF is not supported", "GGUF-MAGIC", "magic")
        raise r.fail(f"bad magic {magic!r}, expected b'GGUF'", "GGUF-MAGIC", "magic")
    version = r.u32()
    if version & 0xFFFF == 0 and version:
        raise r.fail(f"version {version:#x} looks byte-swapped (big-endian file)", "GGUF-VERSION", "version")
    if version not in (2, 3):
        raise r.fail(f"unsupported version {version} (2 and 3 are supported)", "GGUF-VERSION", "version")
    n_tensors = r.u64()
    n_kv = r.u64()
    if n_tensors > lim.max_tensors:
        raise r.fail(
            f"tensor count {n_tensors} exceeds the cap of {lim.max_tensors}", "GGUF-COUNT", "tensor_count"
        )
    if n_kv > lim.max_kv:
        raise r.fail(
            f"metadata count {n_kv} exceeds the cap of {lim.max_kv}", "GGUF-COUNT", "metadata_kv_count"
        )
    metadata: dict[str, Any] = {}
    types: dict[str, str] = {}
    for i in range(n_kv):
        r.field = f"metadata[{i}]"
        key = r.string(lim.max_key_bytes, "key")
        if not key:
            raise r.fail("empty metadata key", "GGUF-KEY")
        if key in metadata:
            raise r.fail(f"duplicate metadata key {key[:100]!r}", "GGUF-DUPLICATE-KEY")
        r.field = key[:100]
        vtype = r.u32()
        if vtype not in VALUE_TYPE_NAMES:
            raise r.fail(f"unknown value type {vtype}", "GGUF-VALUE-TYPE")
        metadata[key] = r.value(vtype, 0)
        types[key] = VALUE_TYPE_NAMES[vtype]
    alignment = DEFAULT_ALIGNMENT
    if "general.alignment" in metadata:
        a = metadata["general.alignment"]
        if types["general.alignment"] != "UINT32":
            raise r.fail(
                f"general.alignment must be UINT32, found {types['general.alignment']}",
                "GGUF-ALIGNMENT",
                "general.alignment",
            )
        if a == 0 or a & (a - 1) or a > lim.max_alignment:
            raise r.fail(
                f"general.alignment {a} is not a power of two up to {lim.max_alignment}",
                "GGUF-ALIGNMENT",
                "general.alignment",
            )
        alignment = a
    # Each tensor info takes at least 8 (name len) + 4 (n_dims) + 4 (type) + 8 (offset) bytes.
    if n_tensors * 24 > r.size - r.pos:
        raise r.fail(
            f"{n_tensors} tensor infos cannot fit in the {r.size - r.pos} bytes left",
            "GGUF-TRUNCATED",
            "tensor_count",
        )
    raw_tensors: list[tuple[str, list[int], int, int]] = []
    seen: set[str] = set()
    for i in range(n_tensors):
        r.field = f"tensor[{i}]"
        tname = r.string(MAX_TENSOR_NAME_BYTES, "tensor name")
        if tname in seen:
            raise r.fail(f"duplicate tensor name {tname!r}", "GGUF-DUPLICATE-TENSOR")
        seen.add(tname)
        r.field = f"tensor:{tname}"
        n_dims = r.u32()
        if n_dims > MAX_DIMS:
            raise r.fail(f"{n_dims} dimensions exceed the cap of {MAX_DIMS}", "GGUF-SHAPE")
        dims = [r.u64() for _ in range(n_dims)]
        for d in dims:
            if d > INT64_MAX:
                raise r.fail(f"dimension {d} exceeds INT64_MAX", "GGUF-SHAPE")
        numel = 1
        for d in dims:
            numel *= d
        if numel > INT64_MAX:
            raise r.fail(f"shape {dims} has {numel} elements, more than INT64_MAX", "GGUF-SHAPE")
        gtype = r.u32()
        offset = r.u64()
        raw_tensors.append((tname, dims, gtype, offset))
    data_offset = r.pos + (alignment - r.pos % alignment) % alignment
    if data_offset > r.size:
        raise r.fail(
            f"data section would start at {data_offset}, past the end of the {r.size}-byte file",
            "GGUF-TRUNCATED",
            "tensor_data",
        )
    tensors: list[GGUFTensor] = []
    expected = 0
    for tname, dims, gtype, offset in raw_tensors:
        field = f"tensor:{tname}"
        t = GGML_TYPES.get(gtype)
        if t is None:
            raise r.fail(f"unknown or removed ggml type {gtype}", "GGUF-TYPE", field)
        ne0 = dims[0] if dims else 1
        if ne0 % t.block_size:
            raise r.fail(
                f"row of {ne0} elements is not a multiple of the {t.name} block size {t.block_size}",
                "GGUF-SHAPE",
                field,
            )
        nbytes = gguf_tensor_bytes(gtype, dims) if dims else t.type_size
        if offset != expected:
            raise r.fail(
                f"offset {offset}, expected {expected} (tensors must be densely packed at {alignment}-byte alignment)",
                "GGUF-OFFSET",
                field,
            )
        end = data_offset + offset + nbytes
        if end > r.size:
            raise r.fail(
                f"tensor data [{data_offset + offset}, {end}) runs past the end of the {r.size}-byte file",
                "GGUF-DATA-EXTENT",
                field,
            )
        expected = offset + nbytes + (alignment - nbytes % alignment) % alignment
        tensors.append(
            GGUFTensor(
                name=tname, shape=dims, ggml_type=gtype, type_name=t.name, offset=offset, nbytes=nbytes
            )
        )
    data_end = data_offset + (tensors[-1].offset + tensors[-1].nbytes if tensors else 0)
    padded_end = data_offset + expected
    if not allow_trailing and r.size > max(data_end, padded_end):
        extra = r.size - max(data_end, padded_end)
        raise r.fail(
            f"{extra} bytes after the last tensor (possible polyglot or appended payload)",
            "GGUF-TRAILING",
            "tensor_data",
        )
    return GGUFFile(
        path=r.name, version=version, metadata=metadata, metadata_types=types, tensors=tensors,
        alignment=alignment, data_offset=data_offset, file_size=r.size,
    )  # fmt: skip


__all__ = [
    "GGML_TYPES",
    "GGML_TYPES_BY_NAME",
    "GGMLType",
    "GGUFFile",
    "GGUFLimits",
    "GGUFTensor",
    "bits_per_weight",
    "gguf_tensor_bytes",
    "read_gguf",
]
