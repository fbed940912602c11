"""The capacity planner: ``load_spec`` (what is the model) and ``plan`` (what does it need, what will it do)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from clearance.errors import InputError, ModelSourceError
from clearance.plan.budgets import BudgetInputs, EngineBudget, budget_for
from clearance.plan.catalog import find_model
from clearance.plan.config_reader import load_config_file, spec_from_config, spec_from_gguf_metadata
from clearance.plan.engines import (
    SAMPLERS,
    VERSION_SEMANTICS,
    KVLayout,
    normalize_engine,
)
from clearance.plan.gpus import GIB, GPU, get_gpu
from clearance.plan.kv_cache import (
    LayerSpec,
    MambaSpec,
    kv_bytes_per_token,
    kv_bytes_per_token_full,
    kv_dtype_bytes,
    layer_specs,
    sliding_bytes_per_sequence,
    state_bytes_per_sequence,
)
from clearance.plan.performance import Performance, active_params, estimate_performance
from clearance.plan.spec import LayerKind, ModelSpec
from clearance.plan.weights import (
    WeightsBreakdown,
    estimate_weights,
    quant_for_dtype,
    safetensors_files,
    weights_from_gguf_tensors,
    weights_from_safetensors,
)


def _attach_exact(spec: ModelSpec, wb: WeightsBreakdown) -> ModelSpec:
    return spec.model_copy(
        update={"exact_bytes": wb.bytes, "exact_params": sum(wb.params.values()), "exact_source": wb.method}
    )


_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<i>\d{5})-of-(?P<n>\d{5})\.gguf$")


def _from_gguf(path: Path) -> ModelSpec:
    """Spec from one GGUF file, or from every shard of a split GGUF (``name-00001-of-00003.gguf``)."""
    from clearance.model.gguf import read_gguf

    m = _SPLIT.match(path.name)
    shards = [path]
    if m:
        n = int(m.group("n"))
        shards = [path.with_name(f"{m.group('stem')}-{i:05d}-of-{n:05d}.gguf") for i in range(1, n + 1)]
        missing = [s.name for s in shards if not s.is_file()]
        if missing:
            raise ModelSourceError(f"{path}: split GGUF is missing shard(s): {', '.join(missing)}")
    first = read_gguf(shards[0])
    name = m.group("stem") if m else path.stem
    spec = spec_from_gguf_metadata(first.metadata, name=name, origin=str(shards[0]))
    tensors = [(t.name, t.numel, t.nbytes) for t in first.tensors]
    for shard in shards[1:]:
        tensors += [(t.name, t.numel, t.nbytes) for t in read_gguf(shard).tensors]
    return _attach_exact(spec, weights_from_gguf_tensors(spec, tensors))


def load_spec(source: str | Path) -> ModelSpec:
    """A ``ModelSpec`` from a model directory (config.json + safetensors headers), a config.json, a .gguf
    file, or a built-in catalog name; ``ModelSourceError``/``FormatError`` name what is wrong."""
    p = Path(source)
    if p.is_dir():
        cfg = p / "config.json"
        if cfg.is_file():
            spec = spec_from_config(load_config_file(cfg), name=p.name, origin=str(cfg))
            files = safetensors_files(p)
            if files:
                spec = _attach_exact(spec, weights_from_safetensors(spec, files))
            return spec
        ggufs = sorted(p.glob("*.gguf"))
        if len(ggufs) == 1 or (ggufs and all(_SPLIT.match(g.name) for g in ggufs)):
            return _from_gguf(ggufs[0])
        raise ModelSourceError(f"{p}: no config.json (and not exactly one .gguf file) in this directory")
    if p.is_file():
        if p.suffix.lower() == ".gguf":
            return _from_gguf(p)
        return spec_from_config(
            load_config_file(p), name=p.parent.name if p.name == "config.json" else p.stem, origin=str(p)
        )
    entry = find_model(str(source))
    if entry is not None:
        spec = spec_from_config(entry.config, name=entry.name, origin=f"catalog:{entry.name}")
        return spec.model_copy(update={"source": f"catalog:{entry.name} ({entry.source})"})
    from clearance.plan.catalog import list_models

    known = ", ".join(m.name for m in list_models())
    raise ModelSourceError(f"{source}: not a file or directory, and not a catalog model (known: {known})")


class PlanOptions(BaseModel):
    """What to plan for: hardware, engine, precision, context and concurrency (CLI flags map 1:1)."""

    gpu: str = "H100-SXM"
    gpus: int = Field(default=1, ge=1)
    tp: int | None = Field(default=None, ge=1)
    engine: str = "vllm"
    weights_dtype: str | None = None
    kv_dtype: str | None = None
    max_model_len: int | None = Field(default=None, ge=1)
    concurrency: int = Field(default=1, ge=1)
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    max_num_batched_tokens: int | None = Field(default=None, ge=1)
    max_num_seqs: int | None = Field(default=None, ge=1)
    block_size: int | None = Field(default=None, ge=1)
    cudagraph_in_budget: bool = False
    text_only: bool = False
    prefix_caching: bool = False
    engine_version: str | None = None  # e.g. "0.20.1": vLLM ≤ 0.20 reports the legacy KV-size figure
    #: vLLM sampler warm-up: "sort" (PyTorch-native top-k/top-p), "kernel" (FlashInfer/Triton); None: from
    #: ``engine_version``, and when that is not given either, fits must hold under both
    sampler: str | None = None
    prompt_tokens: int = Field(default=1024, ge=1)
    output_tokens: int = Field(default=256, ge=1)


class MemoryBudget(BaseModel):
    """Per-GPU memory as the engine budgets it (bytes); estimates are named in ``estimated``."""

    usable_bytes: int
    requested_bytes: int
    weights_bytes: int
    non_torch_bytes: int
    #: RoPE cos/sin cache buffer (exact; held by every GPU, not in the checkpoint; 0 for llama.cpp)
    rope_cache_bytes: int = 0
    activation_peak_bytes: int
    #: part of the activation peak from the dummy sampler run (rows × vocab logits)
    sampler_peak_bytes: int = 0
    #: sampler implementation assumed: "sort", "kernel" ("" for other engines)
    sampler: str = ""
    #: KV memory if the vLLM release sorts the vocabulary at warm-up (only when the sampler is not known)
    kv_cache_bytes_sort_sampler: int | None = None
    cudagraph_bytes: int
    cudagraph_in_budget: bool
    kv_cache_bytes: int
    estimated: list[str] = Field(default_factory=list)


class PlanResult(BaseModel):
    """Everything ``clearance plan`` reports; field names are a stable interface (see DESIGN.md)."""

    model: str
    model_source: str
    architecture: str
    gpu: str
    gpus: int
    tp: int
    replicas: int
    engine: str
    version_semantics: str
    max_model_len: int
    concurrency: int
    gpu_memory_utilization: float
    weights_dtype: str
    kv_dtype: str
    layers: dict[str, int]
    params_total: int
    params_active: int
    weights_bytes: int
    weights_bytes_per_gpu: int
    weights_exact: bool
    weights_method: str
    weights_by_category: dict[str, int]
    kv_bytes_per_token: int
    kv_bytes_per_token_all_gpus: int
    kv_bytes_per_token_incl_sliding: int
    state_bytes_per_sequence: int
    sliding_bytes_per_sequence: int
    kv_cache_bytes_per_gpu: int
    kv_cache_tokens: int
    kv_cache_tokens_semantics: str
    kv_token_capacity: int
    max_concurrency: float
    max_num_seqs: int
    max_num_batched_tokens: int
    budget: MemoryBudget
    layout: KVLayout
    starts: bool
    fits: bool
    reasons: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    performance: Performance

    def policy_facts(self) -> dict[str, object]:
        """Flat, namespaced facts for policy gates (``plan.*``)."""
        p = self.performance
        return {
            "plan.model": self.model,
            "plan.gpu": self.gpu,
            "plan.gpus": self.gpus,
            "plan.tp": self.tp,
            "plan.engine": self.engine,
            "plan.fits": self.fits,
            "plan.starts": self.starts,
            "plan.max_model_len": self.max_model_len,
            "plan.concurrency": self.concurrency,
            "plan.max_concurrency": round(self.max_concurrency, 2),
            "plan.weights_bytes": self.weights_bytes,
            "plan.weights_bytes_per_gpu": self.weights_bytes_per_gpu,
            "plan.kv_bytes_per_token": self.kv_bytes_per_token,
            "plan.state_bytes_per_sequence": self.state_bytes_per_sequence,
            "plan.kv_cache_bytes_per_gpu": self.kv_cache_bytes_per_gpu,
            "plan.kv_cache_tokens": self.kv_cache_tokens,
            "plan.decode_tokens_per_s": round(p.decode_tokens_per_s, 2),
            "plan.aggregate_decode_tokens_per_s": round(p.aggregate_decode_tokens_per_s, 2),
            "plan.ttft_s": round(p.ttft_s, 4),
            "plan.tpot_s": round(p.tpot_s, 5),
        }


def _version_tuple(v: str | None) -> tuple[int, ...]:
    """``"0.20.1"`` → (0, 20, 1); None or unparsable → a version newer than any release."""
    if not v:
        return (999,)
    parts = []
    for piece in v.lstrip("v").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    if not parts:
        raise InputError(
            f"[engine_version] cannot read version {v!r}; use e.g. 0.20.1", param="engine_version"
        )
    return tuple(parts)


def _tp_problem(spec: ModelSpec, t: int) -> str | None:
    """Why tensor-parallel degree ``t`` is invalid for this model's head counts (None when valid)."""
    heads = (
        spec.mla.num_heads if spec.mla is not None else (spec.attention.num_heads if spec.attention else 1)
    )
    if heads % t:
        return f"{t} does not divide the model's {heads} attention heads"
    if spec.attention is not None and spec.mla is None:
        kv = spec.attention.num_kv_heads
        if kv % t and t % kv:
            return f"{t} and the model's {kv} KV heads do not divide one another"
    if spec.linear is not None and spec.linear.num_v_heads % t:
        return f"{t} does not divide the {spec.linear.num_v_heads} linear-attention value heads"
    return None


def valid_tp(spec: ModelSpec, limit: int = 64) -> list[int]:
    """Tensor-parallel degrees the model's head counts allow (powers of two up to ``limit``)."""
    out = []
    t = 1
    while t <= limit:
        if _tp_problem(spec, t) is None:
            out.append(t)
        t *= 2
    return out


def _resolve_tp(spec: ModelSpec, gpus: int, tp: int | None) -> int:
    if tp is None:
        # default: all GPUs in one TP group, else the largest valid degree that divides --gpus (replicas)
        for t in range(gpus, 0, -1):
            if gpus % t == 0 and _tp_problem(spec, t) is None:
                return t
    t = tp if tp is not None else gpus
    if gpus % t:
        raise InputError(f"[tp] {t} does not divide the {gpus} GPUs (replicas = GPUs / tp)", param="tp")
    problem = _tp_problem(spec, t)
    if problem:
        raise InputError(f"[tp] {problem}; valid: {valid_tp(spec)}", param="tp")
    return t


def _apply_weights_dtype(spec: ModelSpec, weights_dtype: str | None) -> tuple[ModelSpec, str]:
    if not weights_dtype:
        q = spec.quant
        if spec.exact_bytes is not None and q.method == "gguf":
            return spec, "gguf (exact)"
        label = spec.dtype if q.method == "none" else q.method
        return spec, label
    q = quant_for_dtype(weights_dtype)
    if q.method == "none" and weights_dtype.lower() in ("fp16", "bf16", "fp32"):
        dtype = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}[weights_dtype.lower()]
        return spec.model_copy(
            update={"quant": q, "dtype": dtype, "exact_bytes": None}
        ), weights_dtype.lower()
    keep_kv = spec.quant.kv_cache_dtype
    q = q.model_copy(
        update={
            "kv_cache_dtype": keep_kv,
            "scope": "experts" if spec.quant.scope == "experts" and q.method == "mxfp4" else q.scope,
        }
    )
    return spec.model_copy(update={"quant": q, "exact_bytes": None}), weights_dtype


def _weights(spec: ModelSpec) -> WeightsBreakdown:
    if spec.exact_bytes is not None:
        # exact bytes from headers; parameter counts by formula (packed quantized tensors hide element counts)
        est = estimate_weights(spec)
        return WeightsBreakdown(
            params=est.params,
            bytes=dict(spec.exact_bytes),
            exact=True,
            method=spec.exact_source or "checkpoint headers",
        )
    return estimate_weights(spec)


def _parallelism(spec: ModelSpec, o: PlanOptions, notes: _Notes) -> int:
    """The TP degree (all GPUs in one group unless the heads forbid it; the rest become replicas)."""
    tp = _resolve_tp(spec, o.gpus, o.tp)
    if o.tp is None and tp != o.gpus:
        notes.warnings.append(
            f"TP {o.gpus} is not valid for this model's heads; planned TP {tp} × {o.gpus // tp} replicas"
        )
    return tp


def _context_length(spec: ModelSpec, o: PlanOptions, notes: _Notes) -> int:
    """``max_model_len``: the option, else the model's own limit (warned when beyond it)."""
    max_len = o.max_model_len or spec.max_position_embeddings
    if max_len > spec.max_position_embeddings:
        notes.warnings.append(
            f"max_model_len {max_len} exceeds the model's max_position_embeddings {spec.max_position_embeddings}; vLLM refuses this without VLLM_ALLOW_LONG_MAX_MODEL_LEN"
        )
    return max_len


def _check_engine_runs_on(gpu: GPU, engine: str, notes: _Notes) -> None:
    if gpu.is_apple and engine != "llama.cpp":
        notes.warnings.append(
            f"{gpu.name} is Apple silicon: vLLM/SGLang do not run there; use --engine llama.cpp"
        )


def _weights_per_gpu(
    spec: ModelSpec, o: PlanOptions, gpu: GPU, engine: str, tp: int, notes: _Notes
) -> tuple[WeightsBreakdown, int]:
    """The weights breakdown and the bytes each GPU holds (vLLM's MXFP4 MoE padding included)."""
    wb = _weights(spec)
    if o.text_only and (wb.bytes.get("vision") or wb.params.get("vision")):
        wb.bytes["vision"] = 0
        wb.params["vision"] = 0
        notes.assumptions.append("text only: the vision tower is not loaded (vLLM --language-model-only)")
    w_gpu = wb.per_gpu_bytes(spec, tp)
    # vLLM's Triton/Marlin MXFP4 MoE layout (every GPU but SM 10.x, which has native MXFP4 MoE kernels)
    # pads hidden to 256 and the expert intermediate to 128
    native_mxfp4 = gpu.sm is not None and gpu.sm[0] == 10
    if engine == "vllm" and spec.quant.method == "mxfp4" and spec.moe is not None and not native_mxfp4:
        h, ie = spec.hidden_size, spec.moe.expert_intermediate_size // tp
        pad = (-(-h // 256) * 256) * (-(-ie // 128) * 128) / (h * ie)
        if pad > 1.0:
            extra = int(wb.bytes.get("experts", 0) / tp * (pad - 1))
            w_gpu += extra
            notes.warnings.append(
                f"MXFP4 MoE on {gpu.name}: vLLM pads expert weights ×{pad:.3f} (+{extra / GIB:.2f} GiB per GPU)"
            )
    return wb, w_gpu


def _kv_specs(
    spec: ModelSpec, o: PlanOptions, gpu: GPU, engine: str, tp: int
) -> tuple[str, int, list[LayerSpec]]:
    """The KV cache dtype, the block size and one memory spec per layer kind (per GPU)."""
    kv_name, _ = kv_dtype_bytes(spec, o.kv_dtype)
    if kv_name == "fp8_ds_mla" and spec.mla is None:
        raise InputError(
            "[kv_dtype] fp8_ds_mla applies only to MLA models (DeepSeek-V2/V3, Kimi)", param="kv_dtype"
        )
    if engine == "llama.cpp" and (o.kv_dtype or "auto") == "auto":
        kv_name = "float16"
    block = o.block_size or _mla_block_size(spec, gpu)
    return kv_name, block, layer_specs(spec, tp=tp, kv_dtype=kv_name, block_size=block)


def _mla_block_size(spec: ModelSpec, gpu: GPU) -> int:
    """vLLM's default KV block: MLA kernels use 64 on Hopper (SM 9.x) and 128 on SM 10.x; else 16."""
    if spec.mla is not None and gpu.sm is not None and gpu.sm[0] == 9:
        return 64
    if spec.mla is not None and gpu.sm is not None and gpu.sm[0] == 10:
        return 128
    return 16


def _engine_budget(
    spec: ModelSpec,
    o: PlanOptions,
    gpu: GPU,
    engine: str,
    tp: int,
    w_gpu: int,
    specs: list[LayerSpec],
    kv_name: str,
    block: int,
    max_len: int,
) -> EngineBudget:
    if o.sampler is not None and o.sampler not in SAMPLERS:
        raise InputError(
            f"[sampler] unknown vLLM sampler {o.sampler!r}; use one of {', '.join(SAMPLERS)}", param="sampler"
        )
    version = _version_tuple(o.engine_version) if o.engine_version else None
    return budget_for(engine).compute(
        BudgetInputs(
            spec=spec,
            gpu=gpu,
            tp=tp,
            weights_bytes_per_gpu=w_gpu,
            specs=specs,
            kv_dtype=kv_name,
            block_size=block,
            max_model_len=max_len,
            concurrency=o.concurrency,
            gpu_memory_utilization=o.gpu_memory_utilization,
            max_num_batched_tokens=o.max_num_batched_tokens,
            max_num_seqs=o.max_num_seqs,
            cudagraph_in_budget=o.cudagraph_in_budget,
            prefix_caching=o.prefix_caching,
            sampler=o.sampler,
            engine_version=version,
            engine_version_text=o.engine_version,
        )
    )


def _memory_budget(gpu: GPU, o: PlanOptions, engine: str, w_gpu: int, eb: EngineBudget) -> MemoryBudget:
    return MemoryBudget(
        usable_bytes=gpu.usable_bytes,
        requested_bytes=eb.requested,
        weights_bytes=w_gpu,
        non_torch_bytes=eb.non_torch,
        rope_cache_bytes=eb.rope,
        activation_peak_bytes=eb.activation,
        sampler_peak_bytes=eb.sampler_bytes,
        sampler=eb.sampler,
        kv_cache_bytes_sort_sampler=max(eb.kv_sort, 0) if eb.kv_sort is not None else None,
        cudagraph_bytes=eb.cudagraph,
        cudagraph_in_budget=o.cudagraph_in_budget,
        kv_cache_bytes=max(eb.available, 0),
        estimated=eb.estimated,
    )


def _judge_fit(
    gpu: GPU, o: PlanOptions, max_len: int, w_gpu: int, eb: EngineBudget, notes: _Notes
) -> tuple[bool, bool]:
    """Whether the engine starts and whether it holds the requested concurrency (reasons when not)."""
    requested, available, layout = eb.requested, eb.available, eb.layout
    kv_bytes = max(available, 0)
    starts = True
    if w_gpu > requested:
        starts = False
        notes.reasons.append(
            f"weights need {w_gpu / GIB:.2f} GiB per GPU but only {requested / GIB:.2f} GiB is budgeted ({o.gpu_memory_utilization} × {gpu.usable_bytes / GIB:.2f} GiB)"
        )
    elif available <= 0:
        starts = False
        notes.reasons.append(
            f"no memory left for the KV cache after weights and runtime overhead ({(w_gpu + eb.rope + eb.non_torch + eb.activation) / GIB:.2f} GiB of {requested / GIB:.2f} GiB)"
        )
    elif layout.max_concurrency < 1:
        starts = False
        notes.reasons.append(
            f"one request of max_model_len {max_len} needs more KV memory than the {kv_bytes / GIB:.2f} GiB available; lower --max-model-len or add GPUs"
        )
    if eb.refuses_to_start:
        starts = False
    fits = starts and layout.max_concurrency >= o.concurrency
    if starts and not fits:
        notes.reasons.append(
            f"only {layout.max_concurrency:.2f} sequences of {max_len} tokens fit; {o.concurrency} requested"
        )
    if fits and eb.kv_sort is not None and eb.sort_layout is not None:
        need = max(o.concurrency, 1)
        if eb.kv_sort <= 0 or eb.sort_layout.max_concurrency < need:
            fits = False
            notes.reasons.append(
                f"fits only if the vLLM release does not sort the vocabulary at sampler warm-up: with vLLM 0.8–0.15 "
                f"(pip) {max(eb.kv_sort, 0) / GIB:.2f} GiB of KV holds {eb.sort_layout.max_concurrency:.2f} sequences of "
                f"{max_len} tokens ({need} requested); pass --engine-version/--sampler for that release's figure"
            )
    return starts, fits


@dataclass
class _Notes:
    """What a plan says beside its numbers, gathered step by step in report order."""

    warnings: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)


def plan(spec: ModelSpec, options: PlanOptions | None = None) -> PlanResult:
    """Size ``spec`` for ``options``: weights, KV/state, the engine's budget and layout, fit and performance.

    The steps, in order: parallelism → precision → context length → weights per GPU → KV layer specs →
    the engine's memory budget (``budgets.py``) → fit → performance estimate → result.
    """
    o = options or PlanOptions()
    engine = normalize_engine(o.engine)
    gpu: GPU = get_gpu(o.gpu)
    notes = _Notes()
    tp = _parallelism(spec, o, notes)
    spec, wlabel = _apply_weights_dtype(spec, o.weights_dtype)
    notes.assumptions.extend(spec.notes)
    max_len = _context_length(spec, o, notes)
    _check_engine_runs_on(gpu, engine, notes)
    wb, w_gpu = _weights_per_gpu(spec, o, gpu, engine, tp, notes)
    kv_name, block, specs = _kv_specs(spec, o, gpu, engine, tp)
    eb = _engine_budget(spec, o, gpu, engine, tp, w_gpu, specs, kv_name, block, max_len)
    notes.warnings.extend(eb.warnings)
    notes.reasons.extend(eb.reasons)
    notes.assumptions.extend(eb.assumptions)
    budget = _memory_budget(gpu, o, engine, w_gpu, eb)
    starts, fits = _judge_fit(gpu, o, max_len, w_gpu, eb, notes)
    layout, mnbt, max_seqs, semantics, kv_bytes = (
        eb.layout,
        eb.max_num_batched_tokens,
        eb.max_num_seqs,
        eb.semantics,
        budget.kv_cache_bytes,
    )
    specs = eb.specs
    w_total = wb.total_bytes
    warnings, reasons, assumptions = notes.warnings, notes.reasons, notes.assumptions
    specs_now = specs
    perf = estimate_performance(
        spec,
        wb,
        specs_now,
        gpu,
        tp=tp,
        concurrency=o.concurrency,
        prompt_tokens=min(o.prompt_tokens, max_len),
        output_tokens=o.output_tokens,
        engine=engine,
        max_concurrency=layout.max_concurrency,
    )
    kvt = int(kv_bytes_per_token_full(specs_now))
    layer_counts = {k.value: spec.count(k) for k in LayerKind if spec.count(k)}
    if not wb.exact:
        assumptions.append(f"weights estimated: {wb.method}")
    if spec.moe is not None:
        assumptions.append(
            f"MoE: {spec.moe.num_experts} experts, top-{spec.moe.top_k}; experts split across the {tp} TP ranks"
        )
    replicas = o.gpus // tp
    if replicas > 1:
        assumptions.append(
            f"{replicas} data-parallel replicas of TP {tp}; kv_cache_tokens and max_concurrency are per replica"
        )
    return PlanResult(
        model=spec.name,
        model_source=spec.source,
        architecture=spec.architecture,
        gpu=gpu.name,
        gpus=o.gpus,
        tp=tp,
        replicas=replicas,
        engine=engine,
        version_semantics=VERSION_SEMANTICS[engine],
        max_model_len=max_len,
        concurrency=o.concurrency,
        gpu_memory_utilization=o.gpu_memory_utilization,
        weights_dtype=wlabel,
        kv_dtype=kv_name,
        layers=layer_counts,
        params_total=wb.total_params,
        params_active=int(active_params(spec, wb)),
        weights_bytes=w_total,
        weights_bytes_per_gpu=w_gpu,
        weights_exact=wb.exact,
        weights_method=wb.method,
        weights_by_category={k: v for k, v in wb.bytes.items() if v},
        kv_bytes_per_token=kvt,
        kv_bytes_per_token_all_gpus=int(
            kv_bytes_per_token_full(layer_specs(spec, tp=1, kv_dtype=kv_name, block_size=block))
        ),
        kv_bytes_per_token_incl_sliding=int(kv_bytes_per_token(specs_now)),
        state_bytes_per_sequence=state_bytes_per_sequence([s for s in specs_now if isinstance(s, MambaSpec)]),
        sliding_bytes_per_sequence=sliding_bytes_per_sequence(specs_now, max_len),
        kv_cache_bytes_per_gpu=kv_bytes,
        kv_cache_tokens=layout.kv_cache_tokens,
        kv_cache_tokens_semantics=semantics,
        kv_token_capacity=layout.token_capacity,
        max_concurrency=round(layout.max_concurrency, 4),
        max_num_seqs=max_seqs,
        max_num_batched_tokens=mnbt,
        budget=budget,
        layout=layout,
        starts=starts,
        fits=fits,
        reasons=reasons,
        warnings=warnings + layout.notes,
        assumptions=assumptions,
        performance=perf,
    )
