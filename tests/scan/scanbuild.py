"""Test-only writers of safetensors, GGUF, pickle and zip files (valid ones and hostile mutations)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from clearance.model.gguf import GGML_TYPES_BY_NAME, gguf_tensor_bytes

ST_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "U8": 1, "I8": 1, "BOOL": 1, "F64": 8, "I32": 4}


def safetensors_bytes(
    tensors: dict[str, tuple[str, list[int]]], metadata: dict[str, str] | None = None, pad: bool = True
) -> bytes:
    """A valid safetensors file: tensors laid out contiguously in insertion order, data bytes patterned."""
    header: dict[str, Any] = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    cursor = 0
    data = bytearray()
    for name, (dtype, shape) in tensors.items():
        n = 1
        for d in shape:
            n *= d
        size = n * ST_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [cursor, cursor + size]}
        data += bytes((i * 7 + 3) % 256 for i in range(size))
        cursor += size
    return raw_safetensors(json.dumps(header).encode(), bytes(data), pad=pad)


def raw_safetensors(header: bytes, data: bytes, pad: bool = True) -> bytes:
    """Frame a raw header and data buffer as a safetensors file (header padded with spaces to 8 bytes)."""
    if pad:
        header += b" " * ((8 - len(header) % 8) % 8)
    return struct.pack("<Q", len(header)) + header + data


def _gguf_str(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


_SC = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B", 10: "<Q", 11: "<q", 12: "<d"}


def gguf_value(vtype: int, value: Any) -> bytes:
    """Encode one GGUF metadata value of ``vtype`` (arrays: ``value = (elem_type, [values])``)."""
    if vtype in _SC:
        return struct.pack(_SC[vtype], value)
    if vtype == 8:
        return _gguf_str(value)
    if vtype == 9:
        etype, vals = value
        return struct.pack("<IQ", etype, len(vals)) + b"".join(gguf_value(etype, v) for v in vals)
    raise ValueError(vtype)


def gguf_bytes(
    kv: list[tuple[str, int, Any]],
    tensors: list[tuple[str, list[int], str]],
    *,
    alignment: int = 32,
    version: int = 3,
) -> bytes:
    """A valid GGUF v3 file with the given metadata and tensors (data patterned, densely packed, aligned)."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kv)))
    for key, vtype, value in kv:
        out += _gguf_str(key) + struct.pack("<I", vtype) + gguf_value(vtype, value)
    offset = 0
    sizes = []
    for name, dims, tname in tensors:
        t = GGML_TYPES_BY_NAME[tname]
        out += _gguf_str(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", t.id, offset)
        size = gguf_tensor_bytes(tname, dims)
        sizes.append(size)
        offset += size + (alignment - size % alignment) % alignment
    out += b"\0" * ((alignment - len(out) % alignment) % alignment)
    for size in sizes:
        out += bytes((i * 13 + 1) % 256 for i in range(size))
        out += b"\0" * ((alignment - size % alignment) % alignment)
    return bytes(out)


def small_gguf() -> bytes:
    """A small valid llama-like GGUF with strings, arrays, an F32 and a Q4_1 tensor."""
    return gguf_bytes(
        [
            ("general.architecture", 8, "llama"),
            ("general.name", 8, "tiny"),
            ("general.alignment", 4, 32),
            ("llama.block_count", 4, 1),
            ("tokenizer.ggml.tokens", 9, (8, ["<s>", "</s>", "a", "b"])),
            ("tokenizer.ggml.scores", 9, (6, [0.0, 0.0, -1.0, -2.0])),
            ("general.flag", 7, 1),
        ],
        [
            ("tok_embd.weight", [32, 4], "Q4_1"),
            ("norm.weight", [32], "F32"),
            ("out.weight", [256, 2], "Q4_K"),
        ],
    )


def write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def pk_str(s: str) -> bytes:
    """SHORT_BINUNICODE (or BINUNICODE) opcode pushing ``s``."""
    b = s.encode()
    return (b"\x8c" + bytes([len(b)]) if len(b) < 256 else b"X" + struct.pack("<I", len(b))) + b


def pk_call(module: str, name: str, arg: str = "id", proto: int = 4, memo_trick: bool = False) -> bytes:
    """A protocol-2+ pickle that calls ``module.name(arg)`` via STACK_GLOBAL (optionally through the memo)."""
    if memo_trick:
        body = pk_str(module) + b"\x94" + pk_str(name) + b"\x94" + b"0" + b"h\x00" + b"h\x01" + b"\x93"
    else:
        body = pk_str(module) + pk_str(name) + b"\x93"
    return b"\x80" + bytes([proto]) + body + pk_str(arg) + b"\x85R."


def torch_like_pickle() -> bytes:
    """A data.pkl-like pickle (OrderedDict of one tensor rebuilt from a persistent storage), hand-assembled."""
    g = lambda m, n: b"c" + m.encode() + b"\n" + n.encode() + b"\n"  # noqa: E731
    return (
        b"\x80\x02" + g("collections", "OrderedDict") + b")R"
        + pk_str("w") + g("torch._utils", "_rebuild_tensor_v2")
        + b"((" + pk_str("storage") + g("torch", "FloatStorage") + pk_str("0") + pk_str("cpu") + b"K\x04tQ"
        + b"K\x00K\x04\x85K\x01\x85\x89" + g("collections", "OrderedDict") + b")R" + b"tR"
        + b"s."
    )  # fmt: skip
