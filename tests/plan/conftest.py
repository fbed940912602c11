"""Helpers for planner tests: write real (tiny) safetensors files and configs with hand-written headers."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

DTYPE_BYTES = {"BF16": 2, "F16": 2, "F32": 4, "F8_E4M3": 1, "U8": 1, "I32": 4}


def write_safetensors(
    path: Path, tensors: dict[str, tuple[str, list[int]]], metadata: dict[str, str] | None = None
) -> int:
    """Write a valid safetensors file (zero-filled data); return the number of tensor data bytes."""
    header: dict[str, object] = {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        n = DTYPE_BYTES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        f.write(b"\0" * offset)
    return offset


TINY_LLAMA = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 256,
    "max_position_embeddings": 512,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}


def tiny_llama_tensors(layers: int = 2) -> dict[str, tuple[str, list[int]]]:
    """Every tensor of TINY_LLAMA with its real shape (bf16)."""
    h, i, kv = 64, 128, 2 * 16
    t: dict[str, tuple[str, list[int]]] = {
        "model.embed_tokens.weight": ("BF16", [256, h]),
        "lm_head.weight": ("BF16", [256, h]),
    }
    for n in range(layers):
        p = f"model.layers.{n}."
        t[p + "self_attn.q_proj.weight"] = ("BF16", [h, h])
        t[p + "self_attn.k_proj.weight"] = ("BF16", [kv, h])
        t[p + "self_attn.v_proj.weight"] = ("BF16", [kv, h])
        t[p + "self_attn.o_proj.weight"] = ("BF16", [h, h])
        t[p + "mlp.gate_proj.weight"] = ("BF16", [i, h])
        t[p + "mlp.up_proj.weight"] = ("BF16", [i, h])
        t[p + "mlp.down_proj.weight"] = ("BF16", [h, i])
        t[p + "input_layernorm.weight"] = ("BF16", [h])
        t[p + "post_attention_layernorm.weight"] = ("BF16", [h])
    t["model.norm.weight"] = ("BF16", [h])
    return t


@pytest.fixture
def tiny_model_dir(tmp_path: Path) -> Path:
    """A model directory: config.json + one safetensors file with every tensor of a 2-layer Llama."""
    d = tmp_path / "tiny-llama"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(TINY_LLAMA))
    write_safetensors(d / "model.safetensors", tiny_llama_tensors())
    return d


def write_gguf(path: Path, metadata: dict[str, object], tensors: dict[str, list[int]]) -> int:
    """Write a valid GGUF v3 file with F32 tensors (zero data); return the tensor data bytes."""

    def s(x: str) -> bytes:
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    def kv(key: str, val: object) -> bytes:
        if isinstance(val, bool):
            return s(key) + struct.pack("<I", 7) + struct.pack("<?", val)
        if isinstance(val, int):
            return s(key) + struct.pack("<I", 4) + struct.pack("<I", val)  # UINT32
        if isinstance(val, str):
            return s(key) + struct.pack("<I", 8) + s(val)
        raise TypeError(val)

    head = b"GGUF" + struct.pack("<I", 3) + struct.pack("<Q", len(tensors)) + struct.pack("<Q", len(metadata))
    body = b"".join(kv(k, v) for k, v in metadata.items())
    infos = b""
    offset = 0
    sizes = []
    for name, shape in tensors.items():
        n = 4
        for d in shape:
            n *= d
        infos += s(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape)
        infos += struct.pack("<I", 0) + struct.pack("<Q", offset)  # F32
        sizes.append(n)
        offset += n + (-n % 32)
    raw = head + body + infos
    raw += b"\0" * (-len(raw) % 32)
    data = b"".join(b"\0" * n + b"\0" * (-n % 32) for n in sizes)
    path.write_bytes(raw + data)
    return sum(sizes)
