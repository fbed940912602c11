"""CLI surface (JSON field names are a stable interface), fit search, performance estimate, GPU catalog, charts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearance.cli import app
from clearance.errors import CatalogError
from clearance.plan import (
    PlanOptions,
    ServingTarget,
    fit_search,
    get_gpu,
    list_gpus,
    load_gpu_catalog,
    load_spec,
    plan,
    render_charts,
)
from clearance.plan.kv_cache import layer_specs
from clearance.plan.performance import decode_step
from clearance.plan.weights import estimate_weights

runner = CliRunner()

STABLE_FIELDS = {
    "weights_bytes",
    "weights_bytes_per_gpu",
    "kv_bytes_per_token",
    "state_bytes_per_sequence",
    "kv_cache_bytes_per_gpu",
    "kv_cache_tokens",
    "max_concurrency",
    "fits",
    "performance",
}


def test_cli_json_has_the_stable_fields() -> None:
    res = runner.invoke(
        app,
        ["plan", "Qwen3.5-9B", "--gpu", "l40s", "--max-model-len", "16384", "--concurrency", "4", "--json"],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) >= STABLE_FIELDS
    assert {"decode_tokens_per_s", "ttft_s"} <= set(data["performance"])
    assert (
        data["gpu"] == "L40S"
        and data["state_bytes_per_sequence"] > 0
        and data["performance"]["kind"] == "estimate"
    )


def test_cli_table_and_lists() -> None:
    res = runner.invoke(app, ["plan", "Llama-3.1-8B", "--gpu", "H100", "--max-model-len", "8192"])
    assert res.exit_code == 0 and "KV cache tokens" in res.stdout and "FITS" in res.stdout
    res = runner.invoke(app, ["plan", "--list-models", "--json"])
    names = {m["name"] for m in json.loads(res.stdout)["models"]}
    assert {
        "Qwen3.5-9B",
        "Qwen3.5-27B",
        "Qwen3.5-122B-A10B",
        "Qwen3.5-35B-A3B",
        "Qwen3.5-397B-A17B",
        "Qwen3-Next-80B-A3B",
        "Qwen3-32B",
        "Qwen3-235B-A22B",
        "Llama-3.1-8B",
        "Llama-3.1-70B",
        "Llama-3.1-405B",
        "DeepSeek-V3",
        "gpt-oss-120b",
        "Mixtral-8x7B",
        "Gemma-3-27B",
    } <= names
    res = runner.invoke(app, ["plan", "--list-gpus"])
    assert res.exit_code == 0 and "MI300X" in res.stdout


def test_cli_bad_input_is_one_readable_line(tmp_path: Path) -> None:
    from clearance.cli import main

    bad = tmp_path / "config.json"
    bad.write_text('{"hidden_size": 4096')
    with pytest.raises(SystemExit) as exc:
        main(["plan", str(bad)])
    assert exc.value.code == 2


def test_cli_fit_and_charts(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "plan",
            "Llama-3.1-70B",
            "--gpu",
            "H100",
            "--max-model-len",
            "8192",
            "--concurrency",
            "16",
            "--fit",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["options"][0]["kind"] == "primary" and data["options"][0]["serves"]
    res = runner.invoke(
        app, ["plan", "Llama-3.1-8B", "--max-model-len", "8192", "--charts", str(tmp_path / "c"), "--json"]
    )
    assert res.exit_code == 0
    assert (tmp_path / "c" / "memory.svg").read_text().startswith("<svg xmlns=")


def test_fit_search_finds_smallest_valid_tp_and_alternatives() -> None:
    spec = load_spec("Llama-3.1-70B")
    opts = fit_search(spec, ServingTarget(max_model_len=8192, concurrency=16), gpu="H100")
    primary = opts[0]
    # 141 GB of bf16 weights: TP2 leaves ~4 GiB KV per GPU (< 16 × 8k tokens); TP4 serves it
    assert primary.kind == "primary" and primary.gpus == 4 and primary.tp == 4 and primary.serves
    check = plan(spec, PlanOptions(gpu="H100", gpus=2, max_model_len=8192, concurrency=16))
    assert not check.fits
    kinds = {o.kind for o in opts}
    assert {"precision", "gpu"} <= kinds
    fp8 = [o for o in opts if o.kind == "precision" and o.weights_dtype == "fp8" and o.kv_dtype != "fp8"]
    assert fp8 and fp8[0].gpus <= 2  # 70 GB of fp8 weights fit on two H100s
    assert all(o.serves for o in opts)


def test_decode_calibration_point_llama_8b_h100() -> None:
    # InferenceBench: Llama-3.1-8B bf16, 1×H100, vLLM, concurrency 1: TPOT p50 6.48 ms
    r = plan(
        load_spec("Llama-3.1-8B"),
        PlanOptions(gpu="H100", max_model_len=8192, prompt_tokens=128, output_tokens=128),
    )
    assert abs(r.performance.tpot_s * 1000 - 6.48) / 6.48 < 0.1
    assert r.performance.kind == "estimate" and r.performance.assumptions


def test_moe_bytes_touched_grow_with_batch_like_expected_distinct_experts() -> None:
    spec = load_spec("Qwen3-235B-A22B")
    wb = estimate_weights(spec)
    specs = layer_specs(spec, tp=4)
    gpu = get_gpu("H100")
    _, p1 = decode_step(spec, wb, specs, gpu, tp=4, batch=1, context=1)
    _, p64 = decode_step(spec, wb, specs, gpu, tp=4, batch=64, context=1)
    experts = wb.bytes["experts"] / 4
    dense = p1["weights_bytes"] - experts * 8 / 128
    assert p64["weights_bytes"] == pytest.approx(dense + experts * (1 - (1 - 8 / 128) ** 64), rel=1e-9)
    assert p1["weights_bytes"] < p64["weights_bytes"]


def test_tp_adds_allreduce_time() -> None:
    spec = load_spec("Llama-3.1-70B")
    r = plan(spec, PlanOptions(gpu="H100", gpus=4, max_model_len=8192))
    assert r.performance.allreduce_s_per_step > 0
    assert any("all-reduce" in a for a in r.performance.assumptions)


def test_gpu_catalog_names_aliases_and_user_extension(tmp_path: Path) -> None:
    canonical = {
        "A100-40G-SXM",
        "A100-80G-SXM",
        "A100-80G-PCIe",
        "H100-SXM",
        "H100-PCIe",
        "H100-NVL",
        "H200",
        "B200",
        "L40S",
        "L4",
        "RTX-4090",
        "RTX-6000-Ada",
        "RTX-PRO-6000",
        "MI300X",
        "MI325X",
        "M3-Ultra",
    }
    assert canonical <= {g.name for g in list_gpus()}
    assert all(g.source for g in list_gpus())
    assert get_gpu("h100").name == "H100-SXM" and get_gpu("rtx 4090").name == "RTX-4090"
    f = tmp_path / "gpus.yaml"
    f.write_text(
        "gpus:\n  - name: Test-GPU\n    aliases: [tg1]\n    memory_gib: 32\n    bandwidth_gbs: 1000\n    bf16_tflops: 100\n    tdp_watts: 300\n"
    )
    load_gpu_catalog(f)
    assert get_gpu("TG1").memory_gib == 32
    bad = tmp_path / "bad.yaml"
    bad.write_text("gpus:\n  - name: X\n    memory_gib: -1\n")
    with pytest.raises(CatalogError, match=r"gpus\[0\]"):
        load_gpu_catalog(bad)
    with pytest.raises(CatalogError, match="unknown GPU"):
        get_gpu("Voodoo-5")


def test_render_charts_returns_svg_strings() -> None:
    r = plan(load_spec("Qwen3.5-35B-A3B"), PlanOptions(gpu="H100", max_model_len=32768, concurrency=8))
    charts = render_charts(r)
    assert set(charts) == {"memory", "concurrency", "ttft"}
    assert all(s.startswith("<svg") and s.endswith("</svg>") for s in charts.values())
    assert "KV cache / state" in charts["memory"] and "memory limit" in charts["concurrency"]


def test_policy_facts_are_flat_and_namespaced() -> None:
    r = plan(load_spec("Llama-3.1-8B"), PlanOptions(gpu="H100", max_model_len=8192))
    facts = r.policy_facts()
    assert facts["plan.fits"] is True and facts["plan.weights_bytes"] == r.weights_bytes
    assert all(k.startswith("plan.") and not isinstance(v, dict | list) for k, v in facts.items())


def test_text_only_drops_the_vision_tower() -> None:
    spec = load_spec("Gemma-3-27B")
    full = plan(spec, PlanOptions(gpu="H200", max_model_len=8192))
    text = plan(spec, PlanOptions(gpu="H200", max_model_len=8192, text_only=True))
    vision = full.weights_by_category["vision"]
    assert vision > 0 and text.weights_bytes == full.weights_bytes - vision
    res = runner.invoke(
        app, ["plan", "Gemma-3-27B", "--gpu", "H200", "--max-model-len", "8192", "--text-only", "--json"]
    )
    assert json.loads(res.stdout)["weights_bytes"] == text.weights_bytes
