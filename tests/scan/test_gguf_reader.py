"""The bounded GGUF reader: the real SmolLM2 file and synthetic files parse; hostile variants are FormatErrors."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scanbuild import gguf_bytes, small_gguf, write

from clearance.errors import FormatError
from clearance.model.gguf import GGML_TYPES, bits_per_weight, gguf_tensor_bytes, read_gguf
from clearance.model.violations import rule_of

VALID = small_gguf()
HDR = b"GGUF" + struct.pack("<I", 3)


def _rule(tmp_path: Path, data: bytes) -> str:
    p = write(tmp_path / "m.gguf", data)
    with pytest.raises(FormatError) as ei:
        read_gguf(p)
    return rule_of(ei.value, "?")


def test_real_smollm2_gguf_parses_clean(smollm2_gguf: Path) -> None:
    g = read_gguf(smollm2_gguf)
    assert g.version == 3 and g.architecture == "llama"
    assert len(g.tensors) == 272
    assert len(g.metadata["tokenizer.ggml.tokens"]) == 49152
    assert set(g.bytes_by_type()) == {"Q4_1", "Q8_0", "F32"}
    last = g.tensors[-1]
    assert g.data_offset + last.offset + last.nbytes <= g.file_size
    assert 130e6 < g.parameter_count < 140e6


def test_synthetic_file_parses(tmp_path: Path) -> None:
    g = read_gguf(write(tmp_path / "m.gguf", VALID))
    assert g.metadata["tokenizer.ggml.tokens"] == ["<s>", "</s>", "a", "b"]
    assert g.metadata["general.flag"] is True and g.metadata_types["general.alignment"] == "UINT32"
    assert [t.type_name for t in g.tensors] == ["Q4_1", "F32", "Q4_K"]
    assert g.tensors[0].nbytes == 4 * 20 and g.tensors[2].nbytes == 2 * 144


def test_type_table_sizes() -> None:
    assert (
        bits_per_weight("Q4_1") == 5.0
        and bits_per_weight("Q4_K") == 4.5
        and bits_per_weight("Q6_K") == 6.5625
    )
    assert bits_per_weight("MXFP4") == 4.25 and bits_per_weight(30) == 16.0
    assert gguf_tensor_bytes("Q8_0", [4096, 4096]) == 4096 * 4096 // 32 * 34
    assert 4 not in GGML_TYPES and 31 not in GGML_TYPES
    with pytest.raises(ValueError):
        gguf_tensor_bytes("Q4_K", [100])


def test_bad_magic_and_versions(tmp_path: Path) -> None:
    assert _rule(tmp_path, b"GGUX" + VALID[4:]) == "GGUF-MAGIC"
    assert _rule(tmp_path, b"GGUF" + struct.pack("<I", 1) + VALID[8:]) == "GGUF-VERSION"
    assert _rule(tmp_path, b"GGUF" + struct.pack("<I", 3 << 24) + VALID[8:]) == "GGUF-VERSION"
    assert _rule(tmp_path, b"GG") == "GGUF-TRUNCATED"


def test_huge_counts_fail_fast(tmp_path: Path) -> None:
    # Count work, not seconds: a reader that trusted the counts would allocate gigabytes.
    tracemalloc.start()
    try:
        assert _rule(tmp_path, HDR + struct.pack("<QQ", 2**63, 0)) == "GGUF-COUNT"
        assert _rule(tmp_path, HDR + struct.pack("<QQ", 0, 2**40)) == "GGUF-COUNT"
        assert _rule(tmp_path, HDR + struct.pack("<QQ", 900_000, 0)) == "GGUF-TRUNCATED"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def test_gigantic_string_and_array_lengths_fail_without_allocating(tmp_path: Path) -> None:
    key = struct.pack("<Q", 1) + b"k"
    # a ~40-byte file declaring a 1 GiB string / a 2^40-element array (ggml would allocate)
    assert (
        _rule(tmp_path, HDR + struct.pack("<QQ", 0, 1) + key + struct.pack("<IQ", 8, 2**30)) == "GGUF-STRING"
    )
    assert (
        _rule(tmp_path, HDR + struct.pack("<QQ", 0, 1) + key + struct.pack("<IIQ", 9, 8, 2**40))
        == "GGUF-ARRAY"
    )
    assert (
        _rule(tmp_path, HDR + struct.pack("<QQ", 0, 1) + key + struct.pack("<IIQ", 9, 8, 10**6))
        == "GGUF-TRUNCATED"
    )
    assert (
        _rule(tmp_path, HDR + struct.pack("<QQ", 0, 1) + key + struct.pack("<IQ", 8, 10**6))
        == "GGUF-TRUNCATED"
    )


def test_deeply_nested_arrays_rejected(tmp_path: Path) -> None:
    nest = b"".join(struct.pack("<IQ", 9, 1) for _ in range(50))
    data = HDR + struct.pack("<QQ", 0, 1) + struct.pack("<Q", 1) + b"k" + struct.pack("<I", 9) + nest
    assert _rule(tmp_path, data) == "GGUF-ARRAY"


def test_metadata_violations(tmp_path: Path) -> None:
    arch = ("general.architecture", 8, "llama")
    assert _rule(tmp_path, gguf_bytes([arch, arch], [])) == "GGUF-DUPLICATE-KEY"
    assert _rule(tmp_path, gguf_bytes([("general.alignment", 4, 48)], [])) == "GGUF-ALIGNMENT"
    assert _rule(tmp_path, gguf_bytes([("general.alignment", 10, 32)], [])) == "GGUF-ALIGNMENT"
    assert _rule(tmp_path, gguf_bytes([("general.alignment", 4, 0)], [])) == "GGUF-ALIGNMENT"
    assert _rule(tmp_path, gguf_bytes([("flag", 7, 2)], [])) == "GGUF-VALUE"
    bad_type = HDR + struct.pack("<QQ", 0, 1) + struct.pack("<Q", 1) + b"k" + struct.pack("<I", 13)
    assert _rule(tmp_path, bad_type) == "GGUF-VALUE-TYPE"
    bad_utf8 = HDR + struct.pack("<QQ", 0, 1) + struct.pack("<Q", 2) + b"\xff\xfe" + struct.pack("<IB", 0, 1)
    assert _rule(tmp_path, bad_utf8) == "GGUF-STRING"


def _patch_tensor(data: bytes, name: bytes, dims_off: int, new: bytes) -> bytes:
    i = data.index(struct.pack("<Q", len(name)) + name) + 8 + len(name) + dims_off
    return data[:i] + new + data[i + len(new) :]


def test_tensor_violations(tmp_path: Path) -> None:
    name = b"norm.weight"  # 1 dim: n_dims u32 at +0, ne0 u64 at +4, type u32 at +12, offset u64 at +16
    assert _rule(tmp_path, _patch_tensor(VALID, name, 0, struct.pack("<I", 5))) == "GGUF-SHAPE"
    assert _rule(tmp_path, _patch_tensor(VALID, name, 12, struct.pack("<I", 4))) == "GGUF-TYPE"
    assert _rule(tmp_path, _patch_tensor(VALID, name, 12, struct.pack("<I", 999))) == "GGUF-TYPE"
    assert _rule(tmp_path, _patch_tensor(VALID, name, 16, struct.pack("<Q", 0))) == "GGUF-OFFSET"
    assert _rule(tmp_path, _patch_tensor(VALID, name, 16, struct.pack("<Q", 2**63))) == "GGUF-OFFSET"
    assert _rule(tmp_path, _patch_tensor(VALID, name, 4, struct.pack("<Q", 2**63 + 5))) == "GGUF-SHAPE"
    # Q4_1 needs rows that are a multiple of 32
    assert _rule(tmp_path, _patch_tensor(VALID, b"tok_embd.weight", 4, struct.pack("<Q", 33))) == "GGUF-SHAPE"
    # a lying ne1 that puts the last tensor past the end of the file
    assert (
        _rule(tmp_path, _patch_tensor(VALID, b"out.weight", 12, struct.pack("<Q", 10**6)))
        == "GGUF-DATA-EXTENT"
    )
    assert _rule(tmp_path, VALID[:-10]) == "GGUF-DATA-EXTENT"
    assert _rule(tmp_path, VALID + b"#!/bin/sh\n" * 20) == "GGUF-TRAILING"
    dup = gguf_bytes([], [("a", [32], "F32"), ("a", [32], "F32")])
    assert _rule(tmp_path, dup) == "GGUF-DUPLICATE-TENSOR"
    long_name = gguf_bytes([], [("x" * 64, [32], "F32")])
    assert _rule(tmp_path, long_name) == "GGUF-STRING"


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
                b[i : i + 8] = struct.pack("<Q", ((val + 1) << (pos % 56)) & (2**64 - 1))
            else:
                b[i : i + 4] = struct.pack("<I", val % 14)
        return bytes(b)

    ops = st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 100_000), st.integers(0, 255)), min_size=1, max_size=5
    )
    return st.builds(mutate, st.just(VALID), ops)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=200).map(lambda b: HDR + b), _mutations()))
def test_fuzz_never_raises_anything_but_format_error(tmp_path: Path, data: bytes) -> None:
    p = write(tmp_path / "f.gguf", data)
    try:
        g = read_gguf(p)
    except FormatError:
        pass
    else:
        assert all(g.data_offset + t.offset + t.nbytes <= g.file_size for t in g.tensors)
