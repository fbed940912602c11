"""The bounded safetensors header reader: valid files parse; every hostile variant is a FormatError."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scanbuild import raw_safetensors, safetensors_bytes, write

from clearance.errors import FormatError
from clearance.model.safetensors import read_safetensors_header
from clearance.model.violations import rule_of

VALID = safetensors_bytes(
    {"a.weight": ("F32", [2, 3]), "b.bias": ("BF16", [3]), "scalar": ("I64", []), "empty": ("F16", [0, 5])},
    metadata={"format": "pt"},
)


def _rule(tmp_path: Path, data: bytes) -> str:
    p = write(tmp_path / "m.safetensors", data)
    with pytest.raises(FormatError) as ei:
        read_safetensors_header(p)
    return rule_of(ei.value, "?")


def test_valid_file_parses_with_exact_sizes(tmp_path: Path) -> None:
    h = read_safetensors_header(write(tmp_path / "m.safetensors", VALID))
    assert h.metadata == {"format": "pt"}
    assert h.tensors["a.weight"].shape == [2, 3] and h.tensors["a.weight"].nbytes == 24
    assert h.tensors["scalar"].nbytes == 8 and h.tensors["empty"].nbytes == 0
    assert h.parameter_count == 6 + 3 + 1 + 0
    assert h.total_tensor_bytes == h.file_size - h.data_offset
    assert h.bytes_by_dtype()["BF16"] == 6


def test_header_length_over_cap_is_rejected_without_reading(tmp_path: Path) -> None:
    assert _rule(tmp_path, struct.pack("<Q", 2**63) + b"{}") == "SAFETENSORS-HEADER-SIZE"


def test_header_length_past_end_is_truncation(tmp_path: Path) -> None:
    assert _rule(tmp_path, struct.pack("<Q", 1000) + b"{}") == "SAFETENSORS-TRUNCATED"
    assert _rule(tmp_path, b"\x01\x02") == "SAFETENSORS-TRUNCATED"


def test_duplicate_keys_rejected(tmp_path: Path) -> None:
    hdr = b'{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "w": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}'
    assert _rule(tmp_path, raw_safetensors(hdr, b"xy")) == "SAFETENSORS-DUPLICATE-KEY"


def test_unknown_dtype_rejected(tmp_path: Path) -> None:
    hdr = json.dumps({"w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 1]}}).encode()
    assert _rule(tmp_path, raw_safetensors(hdr, b"x")) == "SAFETENSORS-DTYPE"


def test_shape_size_mismatch_rejected(tmp_path: Path) -> None:
    hdr = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}).encode()
    assert _rule(tmp_path, raw_safetensors(hdr, b"abcd")) == "SAFETENSORS-SIZE"


def test_huge_shape_is_rejected_quickly(tmp_path: Path) -> None:
    shape = [10**18] * 1000
    hdr = json.dumps({"w": {"dtype": "F64", "shape": shape[:64], "data_offsets": [0, 8]}}).encode()
    assert _rule(tmp_path, raw_safetensors(hdr, b"x" * 8)) == "SAFETENSORS-SIZE"
    hdr = json.dumps({"w": {"dtype": "F64", "shape": shape, "data_offsets": [0, 8]}}).encode()
    assert _rule(tmp_path, raw_safetensors(hdr, b"x" * 8)) == "SAFETENSORS-SHAPE"


def test_zero_dim_with_huge_other_dims_is_an_empty_tensor(tmp_path: Path) -> None:
    hdr = json.dumps({"w": {"dtype": "F32", "shape": [10**18, 0], "data_offsets": [0, 0]}}).encode()
    h = read_safetensors_header(write(tmp_path / "m.safetensors", raw_safetensors(hdr, b"")))
    assert h.tensors["w"].nbytes == 0


def test_overlap_hole_and_trailing_bytes_rejected(tmp_path: Path) -> None:
    over = {
        "a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
        "b": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]},
    }
    assert _rule(tmp_path, raw_safetensors(json.dumps(over).encode(), b"abc")) == "SAFETENSORS-OFFSET"
    hole = {"a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}
    assert _rule(tmp_path, raw_safetensors(json.dumps(hole).encode(), b"ab")) == "SAFETENSORS-OFFSET"
    assert _rule(tmp_path, VALID + b"PK\x03\x04payload") == "SAFETENSORS-TRAILING"
    past = {"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}
    assert _rule(tmp_path, raw_safetensors(json.dumps(past).encode(), b"ab")) == "SAFETENSORS-OFFSET"


@pytest.mark.parametrize(
    "header",
    [
        b"[1, 2]",
        b"{not json",
        b'{"w": 5}',
        b'{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1], "extra": 1}}',
        b'{"w": {"dtype": "U8", "shape": [true], "data_offsets": [0, 1]}}',
        b'{"w": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 1]}}',
        b'{"w": {"dtype": "U8", "shape": [1.0], "data_offsets": [0, 1]}}',
        b'{"w": {"dtype": "U8", "shape": [1], "data_offsets": [1, 0]}}',
        b'{"w": {"dtype": "U8", "shape": [1], "data_offsets": [NaN, 1]}}',
        b'{"__metadata__": {"k": 1}}',
        b'{"__metadata__": []}',
        b"\xff\xfe{}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"w": {"dtype": "U8", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 1]}}',
    ],
)
def test_malformed_headers_are_format_errors(tmp_path: Path, header: bytes) -> None:
    p = write(tmp_path / "m.safetensors", raw_safetensors(header, b"x"))
    with pytest.raises(FormatError):
        read_safetensors_header(p)


def _mutations() -> st.SearchStrategy[bytes]:
    def mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
        b = bytearray(data)
        for kind, pos, val in ops:
            if not b:
                break
            i = pos % len(b)
            if kind == 0:
                b[i] = val
            elif kind == 1:
                del b[i:]
            elif kind == 2:
                b[i:i] = bytes([val]) * (pos % 17)
            else:
                b[0:8] = struct.pack("<Q", (val << (pos % 56)) & (2**64 - 1))
        return bytes(b)

    ops = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 255)), max_size=6)
    return st.builds(mutate, st.just(VALID), ops)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=300), _mutations()))
def test_fuzz_never_raises_anything_but_format_error(tmp_path: Path, data: bytes) -> None:
    p = write(tmp_path / "f.safetensors", data)
    try:
        h = read_safetensors_header(p)
    except FormatError:
        return
    assert h.total_tensor_bytes == h.file_size - h.data_offset


def test_file_written_by_the_safetensors_library_parses() -> None:
    # written once by safetensors 0.8.0 (safetensors.numpy.save_file) in bench/.venvs/formats
    p = Path(__file__).parent / "data" / "numpy_written.safetensors"
    h = read_safetensors_header(p)
    assert h.metadata == {"format": "np"}
    assert {k: (t.dtype, t.shape) for k, t in h.tensors.items()} == {
        "model.embed_tokens.weight": ("F16", [8, 8]),
        "model.norm.weight": ("F32", [8]),
        "lm_head.bias": ("I64", [3]),
        "scalar": ("F64", []),
        "mask": ("BOOL", [2]),
        "empty": ("I8", [0, 4]),
        "u8": ("U8", [5]),
    }
    assert h.total_tensor_bytes == h.file_size - h.data_offset == 128 + 32 + 24 + 8 + 2 + 0 + 5
