"""Roofline performance *estimate* for decode and prefill, with its assumptions spelled out.

Decode step at batch B (one TP group):
``t = max(bytes_touched / (BW × η_mem), flops / (peak × η_flops)) + 2·L all-reduces + prefill interference``
where ``bytes_touched`` = dense weights per GPU + expert weights per GPU × (1 − (1 − k/E)^B) (expected
distinct experts under uniform routing) + KV/state bytes read for B sequences at the average context.
Prefill (TTFT) = max(FLOPs / (peak × η_prefill), weights / BW) + all-reduces of the prompt activations.

Efficiency factors (calibrated on measured points quoted in sizing.md §3.2; bench/planner_accuracy):
- a fixed 0.5 ms per decode step for vLLM (0.4 ms SGLang): scheduling, sampling, launches; 40 µs per layer
  for llama.cpp (kernel launches dominate tiny models).
- η_mem = 0.75 for vLLM/SGLang on datacenter GPUs, fitted to two single-stream points: Llama-3.1-8B bf16 on
  H100, TPOT p50 6.48 ms (InferenceBench, vLLM 0.21; 15.0 GB read per step without the embedding table)
  and LLaMA-13B fp16 on A100-40GB, 22.0 ms (kipply/FasterTransformer).
- η_mem = 0.75 for llama.cpp/Metal on Apple silicon (M1 Max Q4_K_M 46.2 t/s; Mac mini M4 20.9 t/s bracket it).
- η_mem = 0.65 for llama.cpp on discrete GPUs (no measured GPU in the reference; conservative).
- η_prefill = 0.65 of the dense tensor peak (13B prefill of 512 tokens on A100-40GB: 63.17 ms measured).
- all-reduce: 12 µs latency on NVLink / Infinity Fabric, 30 µs on PCIe, plus 2(t−1)/t × bytes / link BW.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from clearance.plan.gpus import GPU
from clearance.plan.kv_cache import ChunkedLocalAttentionSpec, LayerSpec, MambaSpec, SlidingWindowSpec
from clearance.plan.spec import LayerKind, ModelSpec
from clearance.plan.weights import WeightsBreakdown

ETA_MEM = {"datacenter": 0.75, "apple": 0.75, "llama.cpp": 0.65}
#: fixed time per decode step: scheduler/sampler/launch overhead (vLLM, SGLang) or per-layer launches (llama.cpp)
STEP_OVERHEAD_S = {"vllm": 0.5e-3, "sglang": 0.4e-3}
LLAMACPP_LAYER_OVERHEAD_S = 40e-6
ETA_PREFILL = 0.65
ETA_DECODE_FLOPS = 0.5
AR_LATENCY_FAST = 12e-6
AR_LATENCY_PCIE = 30e-6


class CurvePoint(BaseModel):
    """Estimated decode and TTFT at one concurrency."""

    concurrency: int
    decode_tokens_per_s: float
    aggregate_tokens_per_s: float
    tpot_s: float
    ttft_s: float
    fits_memory: bool = True


class Performance(BaseModel):
    """A labelled estimate: decode speed per sequence and in aggregate, TTFT, and what bounds them."""

    kind: str = "estimate"
    method: str = "roofline: bytes touched / (bandwidth × η_mem), FLOPs / (peak × η), TP all-reduce cost"
    concurrency: int
    prompt_tokens: int
    output_tokens: int
    context_tokens: int
    decode_tokens_per_s: float
    aggregate_decode_tokens_per_s: float
    tpot_s: float
    ttft_s: float
    prefill_tokens_per_s: float
    bound: str
    weights_bytes_touched_per_step: int
    kv_bytes_read_per_step: int
    allreduce_s_per_step: float
    eta_mem: float
    eta_prefill: float
    assumptions: list[str] = Field(default_factory=list)
    curve: list[CurvePoint] = Field(default_factory=list)


def _peak_flops(gpu: GPU, weights_method: str) -> float:
    if weights_method in ("fp8", "nvfp4", "mxfp4") and gpu.fp8_tflops:
        return gpu.fp8_flops
    return gpu.bf16_flops


def _eta_mem(gpu: GPU, engine: str) -> float:
    if gpu.is_apple:
        return ETA_MEM["apple"]
    if engine == "llama.cpp":
        return ETA_MEM["llama.cpp"]
    return ETA_MEM["datacenter"]


def _allreduce_s(gpu: GPU, tp: int, nbytes: float, count: int) -> float:
    if tp <= 1:
        return 0.0
    lat = AR_LATENCY_FAST if gpu.fast_link else AR_LATENCY_PCIE
    return count * (lat + 2 * (tp - 1) / tp * nbytes / gpu.link_bandwidth)


def active_params(spec: ModelSpec, weights: WeightsBreakdown) -> float:
    """Parameters used per token (routed experts counted at top-k of E; embeddings excluded)."""
    p = weights.params
    total = float(sum(v for k, v in p.items() if k not in ("embed", "mtp", "experts", "vision")))
    if spec.moe is not None:
        total += p.get("experts", 0) * spec.moe.top_k / spec.moe.num_experts
    return float(total)


def _split_bytes(spec: ModelSpec, weights: WeightsBreakdown, tp: int) -> tuple[float, float]:
    """(dense bytes per GPU read every step, expert bytes per GPU) — embeddings are gathered, not read."""
    per_gpu = weights.per_gpu_bytes(spec, tp)
    embed = weights.bytes.get("embed", 0) / tp
    vision = weights.bytes.get("vision", 0) / tp
    experts = weights.bytes.get("experts", 0) / tp
    dense = per_gpu - embed - vision - experts
    return max(dense, 0.0), experts


def decode_step(
    spec: ModelSpec,
    weights: WeightsBreakdown,
    specs: list[LayerSpec],
    gpu: GPU,
    *,
    tp: int,
    batch: int,
    context: int,
    engine: str = "vllm",
) -> tuple[float, dict[str, float]]:
    """Seconds for one decode step of ``batch`` sequences at ``context`` tokens, and its parts."""
    dense, experts = _split_bytes(spec, weights, tp)
    if spec.moe is not None:
        k, e = spec.moe.top_k, spec.moe.num_experts
        hit = 1 - (1 - k / e) ** batch
    else:
        hit = 1.0
    w_bytes = dense + experts * hit
    kv = 0.0
    for s in specs:
        if isinstance(s, MambaSpec):
            kv += 2 * s.state_bytes * batch
        elif isinstance(s, SlidingWindowSpec | ChunkedLocalAttentionSpec):
            kv += s.bytes_per_token * min(s.sliding_window, context) * batch
        else:
            kv += s.bytes_per_token * context * batch
    eta = _eta_mem(gpu, engine)
    t_mem = (w_bytes + kv) / (gpu.bandwidth * eta)
    flops = 2 * active_params(spec, weights) / tp * batch
    if spec.attention is not None:
        n_attn = spec.count(LayerKind.FULL) + spec.count(LayerKind.SLIDING) + spec.count(LayerKind.CHUNKED)
        flops += 4 * batch * context * spec.attention.num_heads * spec.attention.head_dim * n_attn / tp
    t_flops = flops / (_peak_flops(gpu, spec.quant.method) * ETA_DECODE_FLOPS)
    ar = _allreduce_s(gpu, tp, batch * spec.hidden_size * 2, 2 * spec.num_layers)
    fixed = (
        LLAMACPP_LAYER_OVERHEAD_S * spec.num_layers
        if engine == "llama.cpp"
        else STEP_OVERHEAD_S.get(engine, 0.5e-3)
    )
    t = max(t_mem, t_flops) + ar + fixed
    return t, {
        "weights_bytes": w_bytes,
        "kv_bytes": kv,
        "t_mem": t_mem,
        "t_flops": t_flops,
        "allreduce": ar,
        "fixed": fixed,
    }


def prefill_time(
    spec: ModelSpec, weights: WeightsBreakdown, gpu: GPU, *, tp: int, prompt_tokens: int
) -> float:
    """Seconds to prefill one prompt (compute-bound roofline with the weight read as a floor)."""
    flops = 2 * active_params(spec, weights) * prompt_tokens
    if spec.attention is not None:
        a = spec.attention
        n_full = spec.count(LayerKind.FULL)
        n_sw = spec.count(LayerKind.SLIDING) + spec.count(LayerKind.CHUNKED)
        flops += 2 * a.num_heads * a.head_dim * prompt_tokens * prompt_tokens * n_full  # causal QK^T + PV
        win = min(a.sliding_window or a.attention_chunk_size or prompt_tokens, prompt_tokens)
        flops += 4 * a.num_heads * a.head_dim * prompt_tokens * win * n_sw
    if spec.mla is not None:
        m = spec.mla
        flops += (
            2
            * m.num_heads
            * (m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim)
            * prompt_tokens**2
            * spec.count(LayerKind.MLA)
            / 2
        )
    t_c = flops / tp / (_peak_flops(gpu, spec.quant.method) * ETA_PREFILL)
    t_m = weights.per_gpu_bytes(spec, tp) / gpu.bandwidth
    ar = _allreduce_s(gpu, tp, prompt_tokens * spec.hidden_size * 2, 2 * spec.num_layers)
    return max(t_c, t_m) + ar


def estimate_performance(
    spec: ModelSpec,
    weights: WeightsBreakdown,
    specs: list[LayerSpec],
    gpu: GPU,
    *,
    tp: int,
    concurrency: int,
    prompt_tokens: int,
    output_tokens: int,
    engine: str,
    max_concurrency: float | None = None,
) -> Performance:
    """Decode tokens/s (per sequence and aggregate) and TTFT at ``concurrency``, plus a concurrency curve."""
    context = prompt_tokens + output_tokens // 2
    t_pre = prefill_time(spec, weights, gpu, tp=tp, prompt_tokens=prompt_tokens)

    def point(b: int) -> tuple[float, float, dict[str, float]]:
        t, parts = decode_step(spec, weights, specs, gpu, tp=tp, batch=b, context=context, engine=engine)
        # continuous batching: the other sequences' prompts are prefilled between decode steps
        interference = (b - 1) / max(output_tokens, 1) * t_pre if b > 1 else 0.0
        ttft = t_pre * (1 + (b - 1) / max(output_tokens, 1))
        return t + interference, ttft, parts

    tpot, ttft, parts = point(concurrency)
    curve = []
    b = 1
    while b <= max(256, concurrency):
        tp_s, tt, _ = point(b)
        curve.append(
            CurvePoint(
                concurrency=b,
                decode_tokens_per_s=1 / tp_s,
                aggregate_tokens_per_s=b / tp_s,
                tpot_s=tp_s,
                ttft_s=tt,
                fits_memory=max_concurrency is None or b <= max_concurrency,
            )
        )
        b *= 2
    bound = "memory bandwidth" if parts["t_mem"] >= parts["t_flops"] else "compute"
    eta = _eta_mem(gpu, engine)
    assumptions = [
        f"η_mem {eta} of {gpu.bandwidth_gbs:.0f} GB/s; η_prefill {ETA_PREFILL} of {_peak_flops(gpu, spec.quant.method) / 1e12:.0f} TFLOPS dense",
        f"average context {context} tokens (prompt {prompt_tokens} + half of {output_tokens} output)",
        "uniform MoE routing: distinct experts per step E·(1−(1−k/E)^B)"
        if spec.moe
        else "dense model: all weights read every step",
        "prefills of other sequences interleave with decode (continuous batching)"
        if concurrency > 1
        else "single stream: no interleaved prefills",
    ]
    if tp > 1:
        assumptions.append(f"2 all-reduces per layer over {gpu.interconnect or 'the interconnect'}")
    return Performance(
        concurrency=concurrency,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        context_tokens=context,
        decode_tokens_per_s=1 / tpot,
        aggregate_decode_tokens_per_s=concurrency / tpot,
        tpot_s=tpot,
        ttft_s=ttft,
        prefill_tokens_per_s=prompt_tokens / t_pre,
        bound=bound,
        weights_bytes_touched_per_step=int(parts["weights_bytes"]),
        kv_bytes_read_per_step=int(parts["kv_bytes"]),
        allreduce_s_per_step=parts["allreduce"],
        eta_mem=eta,
        eta_prefill=ETA_PREFILL,
        assumptions=assumptions,
        curve=curve,
    )
