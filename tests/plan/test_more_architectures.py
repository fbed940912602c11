"""Architectures beyond the catalog: chunked local attention (Llama-4), Mamba2 hybrids (Nemotron-H pattern),
single-window models (Mistral-7B-v0.1), read from configs a user points the planner at."""

from __future__ import annotations

import pytest

from clearance.errors import ModelSourceError
from clearance.plan import PlanOptions, plan
from clearance.plan.config_reader import spec_from_config
from clearance.plan.engines import vllm_layout
from clearance.plan.gpus import GIB
from clearance.plan.kv_cache import ChunkedLocalAttentionSpec, MambaSpec, layer_specs
from clearance.plan.spec import LayerKind

LLAMA4_SCOUT = {
    "architectures": ["Llama4ForConditionalGeneration"],
    "model_type": "llama4",
    "text_config": {
        "model_type": "llama4_text",
        "hidden_size": 5120,
        "intermediate_size": 8192,
        "intermediate_size_mlp": 16384,
        "num_hidden_layers": 48,
        "num_attention_heads": 40,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "vocab_size": 202048,
        "num_local_experts": 16,
        "num_experts_per_tok": 1,
        "interleave_moe_layer_step": 1,
        "attention_chunk_size": 8192,
        "max_position_embeddings": 10485760,
        "rope_theta": 500000.0,
        "tie_word_embeddings": False,
    },
    "torch_dtype": "bfloat16",
}

NEMOTRON_H = {
    "architectures": ["NemotronHForCausalLM"],
    "model_type": "nemotron_h",
    "hidden_size": 4096,
    "num_hidden_layers": 8,
    "hybrid_override_pattern": "M-M*-M-M",  # 4 mamba, 1 attention, 3 MLP-only
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "intermediate_size": 21504,
    "mamba_num_heads": 128,
    "mamba_head_dim": 64,
    "ssm_state_size": 128,
    "n_groups": 8,
    "conv_kernel": 4,
    "vocab_size": 131072,
    "mlp_hidden_act": "relu2",
    "torch_dtype": "bfloat16",
    "max_position_embeddings": 8192,
}


def test_llama4_chunked_local_attention_and_shared_expert() -> None:
    spec = spec_from_config(LLAMA4_SCOUT, name="Llama-4-Scout")
    assert spec.count(LayerKind.FULL) == 12 and spec.count(LayerKind.CHUNKED) == 36  # NoPE every 4th layer
    assert (
        spec.moe is not None and spec.moe.shared_intermediate_size == 8192 and spec.intermediate_size == 16384
    )
    r = plan(spec, PlanOptions(gpu="H200", gpus=2, max_model_len=131072))
    assert (
        r.kv_bytes_per_token == 12 * 2 * 4 * 128 * 2
    )  # only global layers grow with context (TP 2: 4 heads/GPU)
    assert r.sliding_bytes_per_sequence == 36 * 8192 * 2 * 4 * 128 * 2  # chunked layers capped at one chunk
    assert abs(r.params_total / 1e9 - 107.8) < 0.5
    chunked = next(s for s in layer_specs(spec, tp=2) if isinstance(s, ChunkedLocalAttentionSpec))
    # vLLM ChunkedLocalAttentionSpec: cdiv(min(chunk + max_num_batched_tokens, max_model_len), block) × page
    assert chunked.max_memory_usage_bytes(131072, 8192) == -(-(8192 + 8192) // 16) * chunked.page_size_bytes


def test_nemotron_h_pattern_mamba2_state() -> None:
    spec = spec_from_config(NEMOTRON_H, name="nemotron-h")
    assert spec.layers == [
        LayerKind.MAMBA,
        LayerKind.NONE,
        LayerKind.MAMBA,
        LayerKind.FULL,
        LayerKind.NONE,
        LayerKind.MAMBA,
        LayerKind.NONE,
        LayerKind.MAMBA,
    ]
    specs = layer_specs(spec, tp=1)
    assert len(specs) == 5  # MLP-only layers keep no cache
    m = next(s for s in specs if isinstance(s, MambaSpec))
    conv_dim = 128 * 64 + 2 * 8 * 128
    # vLLM mamba2 state: conv (conv_dim, kernel − 1) + ssm (heads, head_dim, d_state), model dtype
    assert m.state_bytes == conv_dim * 3 * 2 + 128 * 64 * 128 * 2
    r = plan(spec, PlanOptions(gpu="H100", max_model_len=8192))
    assert r.state_bytes_per_sequence == 4 * m.state_bytes and r.kv_bytes_per_token == 2 * 8 * 128 * 2
    layout, _ = vllm_layout(specs, 10 * GIB, 8192, 8192)
    # 4 mamba + 1 attention layers: group size min(4, 1) = 1 → 5 groups of one layer; attention block raised
    assert (layout.num_groups, layout.layers_per_group) == (5, 1) and layout.block_size > 16


def test_single_window_models_use_sliding_window_everywhere() -> None:
    cfg = {
        "architectures": ["MistralForCausalLM"],
        "model_type": "mistral",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 32000,
        "sliding_window": 4096,
        "max_position_embeddings": 32768,
        "torch_dtype": "bfloat16",
    }
    spec = spec_from_config(cfg)
    assert spec.count(LayerKind.SLIDING) == 32
    qwen = dict(cfg, model_type="qwen2", use_sliding_window=False)
    assert spec_from_config(qwen).count(LayerKind.FULL) == 32  # the window is declared but switched off


def test_bad_hybrid_pattern_names_the_position() -> None:
    bad = dict(NEMOTRON_H, hybrid_override_pattern="M-M?-M-M")
    with pytest.raises(ModelSourceError, match=r"\[hybrid_override_pattern\[3\]\]"):
        spec_from_config(bad)
