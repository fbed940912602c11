"""Fit search: the smallest GPU count and TP degree that serves a workload, and cheaper alternatives.

A deployment *serves* a workload when the engine starts and each replica holds its share of the concurrent
sequences of ``max_model_len`` tokens with ``headroom`` to spare. Alternatives: the same GPU at another
precision (fp8 weights, int4 AWQ, fp8 KV cache) and every other catalog GPU at its smallest count.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from clearance.errors import InputError
from clearance.plan.gpus import get_gpu, list_gpus
from clearance.plan.planner import PlanOptions, PlanResult, plan, valid_tp
from clearance.plan.spec import ModelSpec

GPU_COUNTS = (1, 2, 4, 8)


class ServingTarget(BaseModel):
    """What the fit search must serve: context length, concurrent sequences, engine and precision.

    Not a traffic workload (requests per day, token lengths, SLOs): that is ``clearance.tco.Workload``.
    """

    max_model_len: int = Field(default=8192, ge=1)
    concurrency: int = Field(default=1, ge=1)
    engine: str = "vllm"
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    weights_dtype: str | None = None
    kv_dtype: str | None = None
    headroom: float = Field(default=0.1, ge=0)
    prompt_tokens: int = 1024
    output_tokens: int = 256


class FitOption(BaseModel):
    """One deployment that was checked, with whether it serves the workload and its estimated speed."""

    kind: str  # "primary", "precision", "gpu"
    gpu: str
    gpus: int
    tp: int
    replicas: int
    weights_dtype: str
    kv_dtype: str
    serves: bool
    max_concurrency: float
    kv_cache_tokens: int
    weights_bytes_per_gpu: int
    decode_tokens_per_s: float
    aggregate_decode_tokens_per_s: float
    ttft_s: float
    total_memory_gib: float
    total_tdp_watts: float
    note: str = ""


def _option(kind: str, r: PlanResult, w: ServingTarget, note: str = "") -> FitOption:
    need = math.ceil(w.concurrency / r.replicas) * (1 + w.headroom)
    g = get_gpu(r.gpu)
    return FitOption(
        kind=kind,
        gpu=r.gpu,
        gpus=r.gpus,
        tp=r.tp,
        replicas=r.replicas,
        weights_dtype=r.weights_dtype,
        kv_dtype=r.kv_dtype,
        serves=r.starts and r.max_concurrency >= need,
        max_concurrency=r.max_concurrency,
        kv_cache_tokens=r.kv_cache_tokens,
        weights_bytes_per_gpu=r.weights_bytes_per_gpu,
        decode_tokens_per_s=r.performance.decode_tokens_per_s,
        aggregate_decode_tokens_per_s=r.performance.aggregate_decode_tokens_per_s * r.replicas,
        ttft_s=r.performance.ttft_s,
        total_memory_gib=g.memory_gib * r.gpus,
        total_tdp_watts=g.tdp_watts * r.gpus,
        note=note,
    )


def smallest_fit(
    spec: ModelSpec,
    w: ServingTarget,
    gpu: str,
    *,
    weights_dtype: str | None = None,
    kv_dtype: str | None = None,
    kind: str = "primary",
    counts: tuple[int, ...] = GPU_COUNTS,
) -> FitOption | None:
    """The smallest GPU count (and best TP for it) on ``gpu`` that serves ``w``; None when none up to 8 does."""
    tps = valid_tp(spec, limit=max(counts))
    for n in counts:
        best: FitOption | None = None
        for t in sorted((t for t in tps if t <= n and n % t == 0), reverse=True):
            replicas = n // t
            opts = PlanOptions(
                gpu=gpu,
                gpus=n,
                tp=t,
                engine=w.engine,
                weights_dtype=weights_dtype or w.weights_dtype,
                kv_dtype=kv_dtype or w.kv_dtype,
                max_model_len=w.max_model_len,
                concurrency=max(1, math.ceil(w.concurrency / replicas)),
                gpu_memory_utilization=w.gpu_memory_utilization,
                prompt_tokens=w.prompt_tokens,
                output_tokens=w.output_tokens,
            )
            try:
                r = plan(spec, opts)
            except InputError:
                continue
            opt = _option(kind, r, w)
            if opt.serves and (
                best is None or opt.aggregate_decode_tokens_per_s > best.aggregate_decode_tokens_per_s
            ):
                best = opt
        if best is not None:
            return best
    return None


def fit_search(
    spec: ModelSpec, workload: ServingTarget, *, gpu: str = "H100-SXM", alternatives: bool = True
) -> list[FitOption]:
    """Primary fit on ``gpu`` first, then cheaper/other alternatives (other precisions, other catalog GPUs)."""
    out: list[FitOption] = []
    primary = smallest_fit(spec, workload, gpu)
    if primary is not None:
        out.append(primary)
    if not alternatives:
        return out
    quantized = spec.quant.method not in ("none",) or workload.weights_dtype
    precisions: list[tuple[str | None, str | None, str]] = [(None, "fp8", "fp8 KV")]
    if not quantized:
        precisions += [
            ("fp8", None, "fp8 W"),
            ("awq", None, "int4 AWQ"),
            ("fp8", "fp8", "fp8 W+KV"),
        ]
    for wd, kd, note in precisions:
        if kd == "fp8" and spec.mla is not None:
            continue
        o = smallest_fit(spec, workload, gpu, weights_dtype=wd, kv_dtype=kd, kind="precision")
        if o is not None:
            o.note = note
            out.append(o)
    for g in list_gpus():
        if g.name == get_gpu(gpu).name or (g.is_apple and workload.engine != "llama.cpp"):
            continue
        o = smallest_fit(spec, workload, g.name, kind="gpu")
        if o is not None:
            out.append(o)
    head, rest = out[:1] if primary else [], out[1:] if primary else out
    rest.sort(key=lambda x: (x.gpus, x.total_memory_gib, -x.aggregate_decode_tokens_per_s))
    return head + rest
