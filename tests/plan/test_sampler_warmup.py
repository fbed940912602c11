"""vLLM's sampler warm-up in the profiling run: the full-vocabulary sort of vLLM 0.8–0.15 and its uncertainty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearance.cli.app import app
from clearance.errors import InputError
from clearance.plan import PlanOptions, load_spec, plan
from clearance.plan.engines import (
    activation_peak_bytes,
    sampler_for_version,
    sampler_peak_bytes,
    sort_sampler_bytes_per_logit,
)
from clearance.plan.gpus import GIB


def _signed_kv_gib(r: object) -> float:
    b = r.budget  # type: ignore[attr-defined]
    left = (
        b.requested_bytes - b.weights_bytes - b.rope_cache_bytes - b.non_torch_bytes - b.activation_peak_bytes
    )
    return left / GIB


def test_sort_peak_per_logit_is_itemised_by_pytorch_sort_path() -> None:
    # ≥128 rows: bf16 logits 2 + fp32 copy 4 + values 4 + int64 indices 8 + reverse indices 8 + cub alternates 12
    assert sort_sampler_bytes_per_logit(1024) == 38
    assert sort_sampler_bytes_per_logit(128) == 38
    # 2–127 rows (segmented_sort_pairs_by_full_sort): two int2 arrays 16 + keys out 4 + cub alternates 12
    assert sort_sampler_bytes_per_logit(100) == 50
    # one row: the same memory as ≥128 rows (measured on an H200, below)
    assert sort_sampler_bytes_per_logit(1) == 38
    # fp32 logits: Sampler.forward's .to(float32) is a no-op, no extra copy
    assert sort_sampler_bytes_per_logit(1024, logits_dtype_bytes=4) == 36


def test_sort_peak_matches_measurement_on_a_gpu() -> None:
    """Every point measured on an H200 (PyTorch 2.11) lies within 1 B per logit of the itemised formula."""
    data = json.loads(
        (Path(__file__).parents[2] / "bench/planner_accuracy/sampler_peak_measured.json").read_text()
    )
    assert len(data["points"]) >= 40
    for pt in data["points"]:
        dtype_bytes = 2 if pt["dtype"] == "bfloat16" else 4
        modelled = sort_sampler_bytes_per_logit(pt["rows"], logits_dtype_bytes=dtype_bytes)
        assert abs(pt["peak_bytes_per_logit"] - modelled) < 1.0, pt


def test_release_decides_the_sampler() -> None:
    assert sampler_for_version((0, 10, 1)) == "sort"
    assert sampler_for_version((0, 8, 5)) == "sort"
    assert sampler_for_version((0, 15, 1)) == "sort"
    assert sampler_for_version((0, 16, 0)) == "kernel"
    assert sampler_for_version((0, 7, 3)) == "kernel"
    assert sampler_for_version(None) is None


def test_sampler_peak_scales_with_max_num_seqs_times_vocab_not_batched_tokens() -> None:
    spec = load_spec("gpt-oss-120b")
    assert spec.vocab_size == 201_088
    a = sampler_peak_bytes(spec, 8192, 1024, "sort")
    b = sampler_peak_bytes(spec, 1024, 1024, "sort")
    assert a == b == 1024 * 201_088 * 38
    assert sampler_peak_bytes(spec, 8192, 256, "sort") == 256 * 201_088 * 38
    # rows are min(max_num_seqs, max_num_batched_tokens), as _dummy_run spreads tokens over requests
    assert sampler_peak_bytes(spec, 512, 1024, "sort") == 512 * 201_088 * 38


def test_sort_peak_is_the_larger_phase_not_the_sum() -> None:
    # the forward's intermediates are freed before _dummy_sampler_run: a tiny vocab leaves the forward as the peak
    spec = load_spec("Llama-3.1-8B").model_copy(update={"vocab_size": 1000})
    fwd_only = activation_peak_bytes(spec, 1, 8192, 1024, "sort")
    hidden = 8192 * spec.hidden_size * 2
    assert fwd_only > sampler_peak_bytes(spec, 8192, 1024, "sort") + hidden
    assert fwd_only == 8192 * 2 * (2 * spec.intermediate_size + 2 * spec.hidden_size)


def test_gpt_oss_h100_vllm_011_log_1024_batched_tokens() -> None:
    # vllm#27508 (vLLM ~0.11): --gpu-memory-utilization 0.95 --max-num-batched-tokens 1024 →
    # "Available KV cache memory: 1.71 GiB"; before the sort term the planner said 7.05 GiB and "fits".
    r = plan(
        load_spec("gpt-oss-120b"),
        PlanOptions(
            gpu="H100", gpu_memory_utilization=0.95, max_num_batched_tokens=1024, engine_version="0.11.0"
        ),
    )
    assert r.budget.sampler == "sort"
    assert abs(_signed_kv_gib(r) - 1.71) < 0.35
    assert not r.fits


def test_gpt_oss_h100_vllm_010_log_defaults_fail_to_start() -> None:
    # vllm#23278 (vLLM 0.10.x, defaults, util 0.9): "Available KV cache memory: -2.14 GiB", engine fails.
    r = plan(load_spec("gpt-oss-120b"), PlanOptions(gpu="H100", engine_version="0.10.1"))
    assert abs(_signed_kv_gib(r) - (-2.14)) < 0.3
    assert not r.starts and not r.fits
    assert r.max_num_seqs == 1024 and r.max_num_batched_tokens == 8192


def test_unknown_release_does_not_claim_fits_when_the_sort_would_break_it() -> None:
    opts = PlanOptions(gpu="H100", gpu_memory_utilization=0.95, max_num_batched_tokens=1024)
    r = plan(load_spec("gpt-oss-120b"), opts)
    assert r.budget.sampler == "kernel"
    assert r.kv_cache_bytes_per_gpu / GIB > 6.5  # the kernel-sampler figure is still reported
    assert r.budget.kv_cache_bytes_sort_sampler is not None
    assert r.budget.kv_cache_bytes_sort_sampler / GIB < 2.5
    assert not r.fits
    assert any("sort" in x for x in r.reasons)
    assert any("sampler warm-up" in w for w in r.warnings)
    # told the release has a kernel sampler, the same launch fits
    k = plan(load_spec("gpt-oss-120b"), opts.model_copy(update={"sampler": "kernel"}))
    assert k.fits and k.budget.kv_cache_bytes_sort_sampler is None
    # fewer sequences shrink the sort: max_num_seqs 64 fits for either release
    small = plan(load_spec("gpt-oss-120b"), opts.model_copy(update={"max_num_seqs": 64}))
    assert small.fits


def test_small_vocab_model_keeps_its_fit_without_a_release() -> None:
    r = plan(load_spec("Llama-3.1-8B"), PlanOptions(gpu="H100", max_model_len=32768, concurrency=8))
    assert r.fits
    assert r.budget.kv_cache_bytes_sort_sampler is not None
    assert r.budget.kv_cache_bytes_sort_sampler < r.kv_cache_bytes_per_gpu


def test_l40s_fp8_log_activation_and_tokens_with_the_sort_term() -> None:
    # Qwen3-235B-A22B-FP8 on 8×L40S (vLLM 2025-09, 0.10.x): logged 1.4 GiB activation, 238,208 tokens.
    r = plan(
        load_spec("Qwen3-235B-A22B"),
        PlanOptions(gpu="L40S", gpus=8, weights_dtype="fp8", max_model_len=32768, engine_version="0.10.2"),
    )
    assert abs(r.budget.activation_peak_bytes / GIB - 1.4) < 0.1
    assert abs(r.kv_cache_tokens - 238_208) / 238_208 < 0.03


def test_unknown_sampler_is_an_input_error() -> None:
    with pytest.raises(InputError, match="sampler"):
        plan(load_spec("Llama-3.1-8B"), PlanOptions(sampler="bogus"))


def test_cli_sampler_flag_reaches_the_json() -> None:
    res = CliRunner().invoke(
        app,
        ["plan", "gpt-oss-120b", "--gpu", "H100", "--sampler", "sort", "--max-model-len", "8192", "--json"],
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["budget"]["sampler"] == "sort"
    assert d["budget"]["sampler_peak_bytes"] == 1024 * 201_088 * 38
