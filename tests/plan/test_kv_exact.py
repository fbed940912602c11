"""KV bytes per token and fixed state, exact against vLLM's own formulas computed by hand per architecture."""

from __future__ import annotations

import pytest

from clearance.plan import PlanOptions, load_spec, plan
from clearance.plan.kv_cache import MambaSpec, layer_specs, state_bytes_per_sequence

KIB = 1024

# (model, tp, expected KV bytes/token per GPU over full-context layers) — hand-computed:
# layers_full × 2 (K,V) × kv_heads_per_gpu × head_dim × 2 bytes (bf16); MLA: layers × 576 × 2.
CASES = [
    ("Llama-3.1-8B", 1, 32 * 2 * 8 * 128 * 2),  # 128 KiB
    ("Llama-3.1-70B", 1, 80 * 2 * 8 * 128 * 2),  # 320 KiB
    ("Llama-3.1-70B", 8, 80 * 2 * 1 * 128 * 2),  # 8 KV heads over 8 ranks
    ("Llama-3.1-70B", 16, 80 * 2 * 1 * 128 * 2),  # TP > KV heads: heads replicated, not split further
    ("Llama-3.1-405B", 1, 126 * 2 * 8 * 128 * 2),  # 504 KiB
    ("Qwen3-32B", 1, 64 * 2 * 8 * 128 * 2),  # 256 KiB
    ("Qwen3-235B-A22B", 1, 94 * 2 * 4 * 128 * 2),  # 188 KiB
    ("Qwen3-235B-A22B", 4, 94 * 2 * 1 * 128 * 2),
    ("Mixtral-8x7B", 1, 32 * 2 * 8 * 128 * 2),  # 128 KiB
    ("Qwen3.5-9B", 1, 8 * 2 * 4 * 256 * 2),  # 32 KiB: only the 8 full-attention layers
    ("Qwen3.5-27B", 1, 16 * 2 * 4 * 256 * 2),  # 64 KiB
    ("Qwen3.5-122B-A10B", 1, 12 * 2 * 2 * 256 * 2),  # 24 KiB
    ("Qwen3.5-122B-A10B", 4, 12 * 2 * 1 * 256 * 2),
    ("Qwen3.5-35B-A3B", 1, 10 * 2 * 2 * 256 * 2),  # 20 KiB
    ("Qwen3.5-397B-A17B", 1, 15 * 2 * 2 * 256 * 2),  # 30 KiB
    ("Qwen3-Next-80B-A3B", 1, 12 * 2 * 2 * 256 * 2),  # 24 KiB
    ("gpt-oss-120b", 1, 18 * 2 * 8 * 64 * 2),  # 36 KiB (18 full layers; 18 sliding layers capped at 128)
    ("Gemma-3-27B", 1, 10 * 2 * 16 * 128 * 2),  # 80 KiB global; 52 local layers capped at 1024
    ("DeepSeek-V3", 1, 61 * 576 * 2),  # MLA latent 68.6 KiB
    ("DeepSeek-V3", 8, 61 * 576 * 2),  # latent replicated on every TP rank
]


@pytest.mark.parametrize(("model", "tp", "expected"), CASES)
def test_kv_bytes_per_token_matches_vllm_formula(model: str, tp: int, expected: int) -> None:
    spec = load_spec(model)
    gpus = max(tp, 1)
    r = plan(spec, PlanOptions(gpu="H200", gpus=gpus, tp=tp, max_model_len=4096))
    assert r.kv_bytes_per_token == expected


def test_published_derived_values_in_kib() -> None:
    # sizing.md §2 "Derived KV bytes/token": Qwen3.5 values match ggml-org/Llama-macOS PR #63 ctxBytes/1k
    got = {
        m: plan(load_spec(m), PlanOptions(gpu="H200", max_model_len=4096)).kv_bytes_per_token // KIB
        for m in ("Qwen3.5-9B", "Qwen3.5-27B", "Qwen3.5-35B-A3B", "Qwen3.5-122B-A10B", "Qwen3.5-397B-A17B")
    }
    assert got == {
        "Qwen3.5-9B": 32,
        "Qwen3.5-27B": 64,
        "Qwen3.5-35B-A3B": 20,
        "Qwen3.5-122B-A10B": 24,
        "Qwen3.5-397B-A17B": 30,
    }


def test_fp8_kv_halves_and_fp8_ds_mla_is_656_bytes() -> None:
    r = plan(load_spec("Llama-3.1-8B"), PlanOptions(gpu="H100", kv_dtype="fp8", max_model_len=4096))
    assert r.kv_bytes_per_token == 64 * KIB
    r = plan(
        load_spec("DeepSeek-V3"), PlanOptions(gpu="H200", gpus=8, kv_dtype="fp8_ds_mla", max_model_len=4096)
    )
    assert r.kv_bytes_per_token == 61 * 656


# GDN state per sequence: conv (kernel−1) × (2·k_heads·d_k + v_heads·d_v) × 2 B + v_heads × d_k × d_v × state bytes
def _gdn(layers: int, kh: int, vh: int, state_bytes: int, tp: int = 1) -> int:
    conv = 3 * (2 * kh * 128 + vh * 128) // tp * 2
    rec = vh // tp * 128 * 128 * state_bytes
    return layers * (conv + rec)


@pytest.mark.parametrize(
    ("model", "tp", "expected"),
    [
        ("Qwen3.5-9B", 1, _gdn(24, 16, 32, 4)),  # 49.1 MiB (fp32 recurrent state: mamba_ssm_dtype)
        ("Qwen3.5-27B", 1, _gdn(48, 16, 48, 4)),  # 146.8 MiB
        ("Qwen3.5-27B", 2, _gdn(48, 16, 48, 4, tp=2)),
        ("Qwen3.5-122B-A10B", 1, _gdn(36, 16, 64, 4)),  # 146.5 MiB
        ("Qwen3.5-35B-A3B", 1, _gdn(30, 16, 32, 4)),  # 61.4 MiB
        ("Qwen3-Next-80B-A3B", 1, _gdn(36, 16, 32, 2)),  # 37.7 MiB (bf16 state: no mamba_ssm_dtype)
    ],
)
def test_state_bytes_per_sequence(model: str, tp: int, expected: int) -> None:
    r = plan(load_spec(model), PlanOptions(gpu="H200", gpus=tp, max_model_len=4096))
    assert r.state_bytes_per_sequence == expected


def test_state_mib_match_sizing_reference() -> None:
    mib = {
        m: round(
            plan(load_spec(m), PlanOptions(gpu="H200", max_model_len=4096)).state_bytes_per_sequence / 2**20,
            1,
        )
        for m in ("Qwen3.5-9B", "Qwen3.5-27B", "Qwen3.5-122B-A10B", "Qwen3.5-35B-A3B", "Qwen3-Next-80B-A3B")
    }
    assert mib == {
        "Qwen3.5-9B": 49.1,
        "Qwen3.5-27B": 146.8,
        "Qwen3.5-122B-A10B": 146.5,
        "Qwen3.5-35B-A3B": 61.4,
        "Qwen3-Next-80B-A3B": 37.7,
    }


def test_sliding_window_usage_follows_vllm_sliding_window_spec() -> None:
    spec = load_spec("gpt-oss-120b")
    specs = layer_specs(spec, tp=1)
    sw = specs[0]
    # (cdiv(min(window − 1 + max_num_batched_tokens, max_model_len), block) + 1) × page
    assert sw.max_memory_usage_bytes(131072, 8192) == (-(-(127 + 8192) // 16) + 1) * 16 * 8 * 128 * 2
    full = specs[1]
    assert full.max_memory_usage_bytes(131072, 8192) == 131072 // 16 * 16 * 8 * 128 * 2


def test_mamba_spec_is_constant_in_context() -> None:
    specs = layer_specs(load_spec("Qwen3.5-9B"), tp=1)
    m = next(s for s in specs if isinstance(s, MambaSpec))
    assert m.max_memory_usage_bytes(1024, 8192) == m.max_memory_usage_bytes(262144, 8192)
    assert state_bytes_per_sequence(specs) == 24 * m.state_bytes
