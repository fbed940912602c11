"""Planner accuracy bench: Clearance next to the naive formulas common calculators use, model by model.

Three tables:
1. KV + fixed state bytes for one 32k-token sequence (all GPUs, bf16), every catalog architecture:
   truth = vLLM's per-layer specs (FullAttention/SlidingWindow/MLA/Mamba) computed by hand in tests;
   naive formulas re-implemented from sizing.md §1: gpu_poor (MHA on hidden size), llm-analysis
   (head_dim = hidden/heads, every layer full), hf-mem (config head_dim; linear-attention layers counted as
   full; MLA treated as MHA; sliding windows honoured).
2. ``kv_cache_tokens`` against vLLM startup logs (reference_points.yaml): Clearance vs "weights only"
   (total × utilization − weights, correct KV formula, no runtime overhead — what a careful spreadsheet does).
3. Decode time per token against published measurements: Clearance vs canitrun.dev's BW / active weights.

Run: ``.venv/bin/python bench/planner_accuracy/run.py`` (no network, no GPU; a few seconds).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from clearance.plan import PlanOptions, list_models, load_gpu_catalog, load_spec, plan
from clearance.plan.config_reader import spec_from_config
from clearance.plan.engines import vllm_layout
from clearance.plan.gpus import GIB, get_gpu
from clearance.plan.kv_cache import layer_specs
from clearance.plan.spec import LayerKind, ModelSpec

HERE = Path(__file__).parent
CTX = 32768


def truth_bytes_per_seq(spec: ModelSpec, ctx: int) -> float:
    """vLLM's per-layer formulas written out from the config fields (independent of plan/kv_cache.py)."""
    a, total = spec.attention, 0.0
    for kind in spec.layers:
        if kind == LayerKind.FULL and a is not None:
            total += 2 * a.num_kv_heads * a.head_dim * 2 * ctx
        elif kind == LayerKind.SLIDING and a is not None and a.sliding_window:
            total += 2 * a.num_kv_heads * a.head_dim * 2 * min(a.sliding_window, ctx)
        elif kind == LayerKind.MLA and spec.mla is not None:
            total += (spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim) * 2 * ctx
        elif kind == LayerKind.LINEAR and spec.linear is not None:
            g = spec.linear
            conv = (g.conv_kernel - 1) * (2 * g.num_k_heads * g.head_k_dim + g.num_v_heads * g.head_v_dim) * 2
            state_bytes = 4 if g.state_dtype == "float32" else 2
            total += conv + g.num_v_heads * g.head_k_dim * g.head_v_dim * state_bytes
    return total


def naive_gpu_poor(spec: ModelSpec, ctx: int) -> float:
    return 2 * 2 * spec.hidden_size * spec.num_layers * ctx


def naive_llm_analysis(spec: ModelSpec, ctx: int) -> float:
    heads = spec.mla.num_heads if spec.mla else spec.attention.num_heads  # type: ignore[union-attr]
    kv = spec.mla.num_heads if spec.mla else spec.attention.num_kv_heads  # type: ignore[union-attr]
    return 2 * spec.num_layers * kv * (spec.hidden_size // heads) * 2 * ctx


def naive_hf_mem(spec: ModelSpec, ctx: int) -> float:
    if spec.mla is not None:
        kv, hd = spec.mla.num_heads, spec.hidden_size // spec.mla.num_heads
    else:
        assert spec.attention is not None
        kv, hd = spec.attention.num_kv_heads, spec.attention.head_dim
    full = sum(
        1 for k in spec.layers if k in (LayerKind.FULL, LayerKind.MLA, LayerKind.LINEAR, LayerKind.MAMBA)
    )
    sliding = spec.count(LayerKind.SLIDING)
    window = spec.attention.sliding_window if spec.attention and spec.attention.sliding_window else ctx
    return 2 * (full * ctx + sliding * min(window, ctx)) * kv * hd * 2


def pct(x: float, truth: float) -> str:
    return f"{(x - truth) / truth * 100:+.1f}%"


def table1() -> None:
    print(
        f"\n1) KV cache + fixed state for one {CTX:,}-token sequence, bf16, whole model (truth = vLLM per-layer specs)"
    )
    print(
        f"{'model':22s} {'truth MiB':>10s} {'Clearance':>10s} {'gpu_poor':>10s} {'llm-analysis':>13s} {'hf-mem':>10s}"
    )
    for m in list_models():
        spec = load_spec(m.name)
        truth = truth_bytes_per_seq(spec, CTX)
        r = plan(
            spec, PlanOptions(gpu="B200", max_model_len=CTX, kv_dtype="bf16")
        )  # public JSON fields, TP 1
        clr = r.kv_bytes_per_token * CTX + r.sliding_bytes_per_sequence + r.state_bytes_per_sequence
        print(
            f"{m.name:22s} {truth / 2**20:10.1f} {pct(clr, truth):>10s} {pct(naive_gpu_poor(spec, CTX), truth):>10s} "
            f"{pct(naive_llm_analysis(spec, CTX), truth):>13s} {pct(naive_hf_mem(spec, CTX), truth):>10s}"
        )


def _spec(name: str, configs: dict[str, Any]) -> ModelSpec:
    if name in configs:
        return spec_from_config(configs[name]["config"], name=name, origin=f"bench:{name}")
    return load_spec(name)


def table2(points: list[dict[str, Any]], configs: dict[str, Any]) -> list[float]:
    print(
        "\n2) Engine KV-cache size in tokens against startup logs (vLLM 'GPU KV cache size', SGLang '#tokens')"
    )
    print(f"{'point':34s} {'logged':>9s} {'Clearance':>10s} {'err':>7s} {'weights-only':>13s} {'err':>8s}")
    errs = []
    for p in points:
        spec = _spec(p["model"], configs)
        o = PlanOptions(
            gpu=p["gpu"],
            gpus=p.get("gpus", 1),
            tp=p.get("tp"),
            weights_dtype=p.get("weights_dtype"),
            engine=p.get("engine", "vllm"),
            gpu_memory_utilization=p["gpu_memory_utilization"],
            max_model_len=p["max_model_len"],
            engine_version=p.get("engine_version"),
        )
        r = plan(spec, o)
        logged = p["logged_kv_cache_tokens"]
        naive = (r.budget.requested_bytes - r.weights_bytes_per_gpu) / (r.kv_bytes_per_token or 1)
        e = (r.kv_cache_tokens - logged) / logged
        errs.append(abs(e))
        print(
            f"{p['id']:34s} {logged:9,d} {r.kv_cache_tokens:10,d} {e * 100:+6.1f}% {int(naive):13,d} {pct(naive, logged):>8s}"
        )
    return errs


def table3(points: list[dict[str, Any]], configs: dict[str, Any]) -> list[float]:
    print("\n3) Decode time per output token (ms) against published measurements")
    print(
        f"{'point':26s} {'measured':>9s} {'Clearance':>10s} {'err':>7s} {'BW/active':>10s} {'err':>8s}  TTFT meas/est"
    )
    errs = []
    for p in points:
        spec = _spec(p["model"], configs)
        o = PlanOptions(
            gpu=p["gpu"],
            gpus=p.get("gpus", 1),
            tp=p.get("tp"),
            engine=p.get("engine", "vllm"),
            weights_dtype=p.get("weights_dtype"),
            max_model_len=p["prompt_tokens"] + p["output_tokens"] + 16,
            concurrency=p["concurrency"],
            prompt_tokens=p["prompt_tokens"],
            output_tokens=p["output_tokens"],
        )
        r = plan(spec, o)
        est = r.performance.tpot_s * 1000
        meas = p["measured_tpot_ms"]
        active_bytes = r.weights_bytes * (r.params_active / max(r.params_total, 1))
        naive = active_bytes / get_gpu(p["gpu"]).bandwidth * 1000
        e = (est - meas) / meas
        errs.append(abs(e))
        ttft = (
            f"{p['measured_ttft_ms']:.1f}/{r.performance.ttft_s * 1000:.1f}"
            if "measured_ttft_ms" in p
            else ""
        )
        print(
            f"{p['id']:26s} {meas:9.2f} {est:10.2f} {e * 100:+6.1f}% {naive:10.2f} {pct(naive, meas):>8s}  {ttft}"
        )
    return errs


def _cli_plan(p: dict[str, Any], configs: dict[str, Any], gpu_file: Path, tmp: Path) -> dict[str, Any]:
    """Run `clearance plan MODEL --gpu G ... --json` in a subprocess, as a user (or the issue's checker) would."""
    model = p["model"]
    if model in configs:
        d = tmp / model
        d.mkdir(exist_ok=True)
        (d / "config.json").write_text(json.dumps(configs[model]["config"]))
        model = str(d / "config.json")
    exe = Path(sys.executable).with_name("clearance")
    cmd = [
        str(exe),
        "plan",
        model,
        "--gpu",
        p["gpu"],
        "--gpu-catalog",
        str(gpu_file),
        *p.get("args", []),
        "--json",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


def table4(points: list[dict[str, Any]], configs: dict[str, Any], gpu_file: Path) -> list[float]:
    """Held-out logs (not in sizing.md, not used for calibration), through `clearance plan --json`."""
    print(
        "\n4) HELD-OUT vLLM startup logs (collected after calibration; `clearance plan --json` unless 'layout')"
    )
    print(f"{'point':42s} {'kind':9s} {'logged':>10s} {'Clearance':>10s} {'err':>8s}  naive")
    errs = []
    with tempfile.TemporaryDirectory() as t:
        for p in points:
            kind = p["kind"]
            naive = ""
            if kind == "layout":
                spec = _spec(p["model"], configs)
                specs = layer_specs(spec, tp=1, kv_dtype=p.get("kv_dtype"))
                mode = "align" if p.get("prefix_caching") else "none"
                layout, _ = vllm_layout(
                    specs, int(p["pool_gib"] * GIB), p["max_model_len"], 8192, mamba_cache_mode=mode
                )
                logged, est = p["logged_kv_cache_tokens"], float(layout.kv_cache_tokens)
                per_tok = (
                    spec.num_layers
                    * 2
                    * (spec.attention.num_kv_heads * spec.attention.head_dim if spec.attention else 0)
                    * 2
                )
                naive = f"pool/(2·L·kv·hd·2 B, all layers): {pct(p['pool_gib'] * GIB / per_tok, logged)}"
            else:
                d = _cli_plan(p, configs, gpu_file, Path(t))
                b = d["budget"]
                if kind == "weights":
                    logged = p["logged_gib"]
                    est = (d["weights_bytes_per_gpu"] + b.get("rope_cache_bytes", 0)) / GIB
                    naive = f"checkpoint bytes only: {pct(d['weights_bytes_per_gpu'] / GIB, logged)}"
                elif kind == "kv_memory":
                    logged = p["logged_gib"]
                    signed = b["requested_bytes"] - b["weights_bytes"] - b.get("rope_cache_bytes", 0)
                    signed -= b["non_torch_bytes"] + b["activation_peak_bytes"]
                    est = signed / GIB
                    naive = f"util×total − weights: {(b['requested_bytes'] - b['weights_bytes']) / GIB:.2f} GiB; fits={d['fits']}"
                else:
                    logged, est = p["logged_kv_cache_tokens"], float(d["kv_cache_tokens"])
                    naive = f"weights-only: {pct((b['requested_bytes'] - b['weights_bytes']) / d['kv_bytes_per_token'], logged)}"
            err = (est - logged) / abs(logged)
            if kind != "kv_memory":
                errs.append(abs(err))
            shown = f"{logged:,.4g}" if kind in ("weights", "kv_memory") else f"{int(logged):,d}"
            mine = f"{est:,.4g}" if kind in ("weights", "kv_memory") else f"{int(est):,d}"
            e = f"{err * 100:+.2f}%" if kind != "kv_memory" else f"{est - logged:+.2f}GiB"
            print(f"{p['id']:42s} {kind:9s} {shown:>10s} {mine:>10s} {e:>8s}  {naive}")
    return errs


def main() -> int:
    data = yaml.safe_load((HERE / "reference_points.yaml").read_text())
    gpu_file = HERE / ".bench_gpus.yaml"
    gpu_file.write_text(yaml.safe_dump({"gpus": data["gpus"]}))
    try:
        load_gpu_catalog(gpu_file)
        t0 = time.perf_counter()
        table1()
        kv_errs = table2(data["kv_logs"], data["configs"])
        dec_errs = table3(data["decode"], data["configs"])
        ho_errs = table4(data["held_out"], data["configs"], gpu_file)
    finally:
        gpu_file.unlink()
    n = 200
    t1 = time.perf_counter()
    spec = load_spec("Qwen3.5-122B-A10B")
    for _ in range(n):
        plan(spec, PlanOptions(gpu="H100", gpus=4, max_model_len=32768, concurrency=32))
    per_plan = (time.perf_counter() - t1) / n * 1000
    print(
        f"\nkv_cache_tokens: {sum(e < 0.03 for e in kv_errs)}/{len(kv_errs)} points within 3%; "
        f"decode: {sum(e < 0.25 for e in dec_errs)}/{len(dec_errs)} within 25% (in-sample); "
        f"held-out weights/tokens/layout: {sum(e < 0.03 for e in ho_errs)}/{len(ho_errs)} within 3%"
    )
    print(
        f"one plan() call: {per_plan:.2f} ms (Qwen3.5-122B-A10B, TP4); whole bench {time.perf_counter() - t0:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
