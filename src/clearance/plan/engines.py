"""Serving-engine memory budgets and KV-cache layouts, computed the way each engine computes them.

vLLM (semantics of v0.11–v0.13, V1 engine, ``gpu_worker.determine_available_memory`` and
``v1/core/kv_cache_utils.py``):

- requested = usable GPU memory × ``gpu_memory_utilization`` (per instance);
- KV memory = requested − weights − non-torch memory − peak torch activation of the profiling run
  (a dummy forward of ``max_num_batched_tokens`` tokens plus a dummy sampler run over ``max_num_seqs`` rows);
  CUDA-graph memory is captured *after* the KV cache is allocated and is not subtracted (set
  ``cudagraph_in_budget`` for builds where ``VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS`` is on);
- hybrid GDN/Mamba models: the attention block size is raised so one attention page ≥ one state page
  (alignment 16), the state page is padded to it; layers are split into groups of equal size sharing pools;
  ``num_blocks = available // page // layers_per_group``;
- "Maximum concurrency" = ``num_blocks / Σ_groups cdiv(max_memory_usage(group), page)``;
  "GPU KV cache size: N tokens" = ``int(max_concurrency × max_model_len)`` (current vLLM ``_report_kv_cache_config``;
  releases up to v0.20 printed ``num_blocks // num_groups × block_size``, kept as ``kv_cache_tokens_legacy``;
  the switch shows as a ~10× jump for sliding-window models in v0.21, vllm#43308).
  The two agree for full-attention models; they differ for hybrid and sliding-window models.

The non-torch and activation figures are *estimates* calibrated on vLLM startup logs (see
``docs/planner.md``): Llama-3.1-8B on H100 at 8192 batched tokens logs 1.44 GiB activation peak, at 16384
tokens 1.97 GiB; a 27B hybrid on RTX PRO 6000 logs 2.33 GiB; a 0.6B model on a 24 GB card 0.25 GiB.

SGLang (v0.4/0.5 ``profile_max_num_token``): pool = total × ``mem_fraction_static`` − weights − CUDA context;
tokens = pool // (bytes per token over all layers). llama.cpp (b6xxx, ``llama_params_fit``): a 1 GiB margin,
weights, compute buffer for ``n_ubatch`` = 512, then the context that fits (f16 K/V unless told otherwise).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from clearance.errors import InputError
from clearance.plan.gpus import GIB, GPU
from clearance.plan.kv_cache import (
    ChunkedLocalAttentionSpec,
    FullAttentionSpec,
    LayerSpec,
    MambaSpec,
    MLASpec,
    SlidingWindowSpec,
    cdiv,
)
from clearance.plan.spec import LayerKind, ModelSpec

ENGINES = ("vllm", "sglang", "llama.cpp")
VERSION_SEMANTICS = {
    "vllm": "vLLM V1 engine as of v0.11+ (profiled budget, hybrid KV cache manager with page alignment, per-instance gpu_memory_utilization; CUDA graphs outside the budget)",
    "sglang": "SGLang v0.4/v0.5 (mem_fraction_static of total memory, token pool by cell size)",
    "llama.cpp": "llama.cpp b6000+ (llama_params_fit: 1 GiB margin, f16 KV, n_ubatch 512 compute buffer)",
}

#: Calibrated constants (see module docstring and docs/planner.md).
SAMPLER_FACTOR = 1.79  # × max_num_seqs × vocab × 4 B (fp32 logits and sampler temporaries)
NON_TORCH_TP1 = 0.15 * GIB
NON_TORCH_TP_BASE = 0.55 * GIB  # + 0.05 GiB per rank: NCCL and custom all-reduce buffers (NVLink)
NON_TORCH_TP_PCIE = 0.25 * GIB  # PCIe-only GPUs: vLLM disables custom all-reduce, NCCL buffers only
QUANT_WORKSPACE = 0.75 * GIB  # fp8/AWQ/GPTQ/FP4 kernels: dequantization + GEMM scratch in the profiling run
CUDAGRAPH_PER_LAYER = 6 * 1024 * 1024  # estimate of graph pool per decoder layer (51 capture sizes)


def normalize_engine(name: str) -> str:
    """Canonical engine name (``vllm``, ``sglang``, ``llama.cpp``); ``InputError`` when unknown."""
    key = name.strip().lower().replace("_", ".").replace("-", ".")
    aliases = {
        "vllm": "vllm",
        "sglang": "sglang",
        "llama.cpp": "llama.cpp",
        "llamacpp": "llama.cpp",
        "llama": "llama.cpp",
    }
    if key not in aliases:
        raise InputError(f"[engine] unknown engine {name!r}; use one of {', '.join(ENGINES)}", param="engine")
    return aliases[key]


def vllm_defaults(gpu: GPU, max_model_len: int, mnbt: int | None, max_seqs: int | None) -> tuple[int, int]:
    """vLLM's API-server defaults for ``max_num_batched_tokens`` and ``max_num_seqs`` on this GPU.

    ``EngineArgs.get_batch_defaults``: ≥70 GiB and not A100 → 8192 / 1024 (≥160 GiB → 16384 / 1024);
    otherwise 2048 / 256; then ``mnbt = min(max_num_seqs × max_model_len, mnbt)``, ``seqs = min(seqs, mnbt)``.
    vLLM tells the A100 by its device name; the catalog says it by compute capability 8.0 (the only ≥70 GiB
    SM 8.0 parts are A100s).
    """
    usable_gib = gpu.usable_bytes / GIB
    big = usable_gib >= 70 and gpu.sm != (8, 0)
    d_tokens, d_seqs = (8192, 1024) if big else (2048, 256)
    if usable_gib >= 160 and big:
        d_tokens = 16384
    seqs = max_seqs if max_seqs is not None else d_seqs
    tokens = mnbt if mnbt is not None else min(seqs * max_model_len, d_tokens)
    if max_seqs is None:
        seqs = min(seqs, tokens)
    return tokens, seqs


#: vLLM releases whose default CUDA sampler sorts the whole vocabulary (PyTorch-native top-k/top-p): V1 from
#: v0.8; pip wheels carried no FlashInfer until v0.11.1 (vllm#26443), v0.11.1 turned the FlashInfer sampler off
#: by default (vllm#26859), and the Triton top-k/top-p kernel (vllm#33538, Feb 2026) replaced the sort from
#: about v0.16. Docker images of v0.9–v0.11.0 ship FlashInfer and do not sort (pass ``sampler="kernel"``).
SORT_SAMPLER_RELEASES = ((0, 8), (0, 16))
SAMPLERS = ("sort", "kernel")


def sampler_for_version(version: tuple[int, ...] | None) -> str | None:
    """The sampler implementation a vLLM release uses by default (``"sort"``/``"kernel"``; None when unknown)."""
    if version is None:
        return None
    lo, hi = SORT_SAMPLER_RELEASES
    return "sort" if lo <= version < hi else "kernel"


def sort_sampler_bytes_per_logit(rows: int, logits_dtype_bytes: int = 2) -> int:
    """Peak bytes per logit of vLLM's PyTorch-native top-k/top-p sampler warm-up (the full-vocabulary sort).

    ``_dummy_sampler_run`` (``vllm/v1/worker/gpu_model_runner.py``) samples ``rows`` dummy requests with
    top_p 0.9 and top_k = vocab − 1, so ``apply_top_k_top_p`` (``vllm/v1/sample/ops/topk_topp_sampler.py``)
    sorts every row. Alive at the sort, per logit: the model-dtype logits from ``compute_logits`` (held by the
    caller), the fp32 copy ``Sampler.forward`` makes (``logits.to(torch.float32)``; none when already fp32),
    the sorted values (4 B) and int64 indices (8 B), and PyTorch's sort scratch
    (``aten/src/ATen/native/cuda/Sort.cu``): ≥ 128 rows ``segmented_sort_pairs`` fills int64 reverse indices
    (8 B) and cub's ``DeviceSegmentedRadixSort::SortPairs`` allocates alternate key and value buffers
    (4 + 8 B); 2–127 rows ``segmented_sort_pairs_by_full_sort`` holds two int2 index arrays (8 + 8 B), a keys
    output (4 B) and cub's alternates (4 + 8 B). One row takes the ≥ 128-row path's memory (measured: 32 B
    per logit for the sort alone, like 128 rows and more). Measured on an H200 with PyTorch 2.11 within
    0.6 B per logit at every row count and vocabulary tried (``bench/planner_accuracy/sampler_peak_measured.json``).
    """
    base = (logits_dtype_bytes if logits_dtype_bytes < 4 else 0) + 4 + 4 + 8
    if rows >= 128 or rows == 1:
        return base + 8 + 12
    return base + 8 + 8 + 4 + 12


def sampler_peak_bytes(spec: ModelSpec, max_num_batched_tokens: int, max_num_seqs: int, sampler: str) -> int:
    """Torch memory of vLLM's dummy sampler run over min(max_num_seqs, tokens) rows × vocab logits.

    ``"sort"``: exact per-logit itemisation of the PyTorch-native path (``sort_sampler_bytes_per_logit``);
    ``"kernel"`` (FlashInfer/Triton top-k/top-p, no sort): the calibrated ``SAMPLER_FACTOR`` × 4 B per logit.
    """
    rows = min(max_num_seqs, max_num_batched_tokens)
    if sampler == "sort":
        dtype_bytes = 4 if spec.dtype == "float32" else 2
        return rows * spec.vocab_size * sort_sampler_bytes_per_logit(rows, dtype_bytes)
    return int(SAMPLER_FACTOR * rows * spec.vocab_size * 4)


def activation_peak_bytes(
    spec: ModelSpec, tp: int, max_num_batched_tokens: int, max_num_seqs: int, sampler: str = "kernel"
) -> int:
    """Estimated torch activation peak of vLLM's profiling run (dummy forward + dummy sampler).

    ``sampler="kernel"``: forward + sampler + quantized-kernel scratch, summed as calibrated on logs of
    releases whose sampler does not sort. ``sampler="sort"``: the forward's intermediates are freed before
    ``_dummy_sampler_run``, so the peak is the larger of the forward (+ kernel scratch) and the sort peak plus
    the hidden states the dummy run keeps (``max_num_batched_tokens × hidden × 2 B``).
    """
    if sampler not in SAMPLERS:
        raise InputError(
            f"[sampler] unknown vLLM sampler {sampler!r}; use one of {', '.join(SAMPLERS)}", param="sampler"
        )
    h = spec.hidden_size
    act = 2  # bf16 activations
    has_dense = any(spec.moe is None or i in spec.moe.dense_layers for i in range(spec.num_layers))
    widths = [2 * spec.intermediate_size // tp] if has_dense else []
    if spec.moe is not None:
        m = spec.moe
        ie = m.expert_intermediate_size // tp
        # fused_moe workspaces: cache13 = M·k·max(2·I_e, h) shared by gate_up out and down out, cache2 = M·k·I_e
        widths.append(m.top_k * (max(2 * ie, h) + ie))
        if m.shared_intermediate_size:
            widths.append(2 * m.shared_intermediate_size // tp)
    if spec.attention is not None:
        a = spec.attention
        widths.append((2 * a.num_heads * a.head_dim + 2 * a.num_kv_heads * a.head_dim) // tp)
    per_token = act * (max(widths or [2 * h]) + 2 * h)
    forward = max_num_batched_tokens * per_token
    quantized = spec.quant.method not in ("none", "gguf")
    scratch = QUANT_WORKSPACE if quantized else 0
    peak = sampler_peak_bytes(spec, max_num_batched_tokens, max_num_seqs, sampler)
    if sampler == "sort":
        return int(max(forward + scratch, peak + max_num_batched_tokens * h * act))
    return int(forward + peak + scratch)


def non_torch_bytes(tp: int, nvlink: bool = True) -> int:
    """Estimated non-torch memory (CUDA context growth, NCCL, custom all-reduce buffers) per GPU."""
    if tp <= 1:
        return int(NON_TORCH_TP1)
    if not nvlink:
        return int(NON_TORCH_TP_PCIE)
    return int(NON_TORCH_TP_BASE + 0.05 * GIB * tp)


def sglang_reserved_bytes(tp: int) -> int:
    """Memory SGLang holds outside weights and the KV pool when it sizes the pool (estimate).

    Calibrated on one log: Qwen3-235B-A22B-FP8, 4×H100 TP 4, mem_fraction_static 0.93 →
    "KV Cache is allocated. #tokens: 367404" (vllm-project/vllm#21348).
    """
    return int(0.75 * GIB + 0.3 * GIB * tp)


def rope_cache_bytes(spec: ModelSpec) -> int:
    """RoPE cos/sin cache every GPU holds next to the weights: max_position_embeddings × rotary_dim × 2 B.

    vLLM builds it in ``vllm/model_executor/layers/rotary_embedding`` (``_compute_cos_sin_cache``, cast to the
    model dtype, ``register_buffer("cos_sin_cache", ..., persistent=False)``; ``get_rope`` shares one instance
    per model), so it is counted in "Model loading took X GiB" but is not in the checkpoint. SGLang copies the
    same class. rotary_dim = head_dim × partial_rotary_factor, or qk_rope_head_dim for MLA. Llama-3.1-8B:
    131072 × 128 × 2 B = 32 MiB, the whole gap between its safetensors bytes and vLLM's logged 14.9888 GiB.
    """
    if spec.mla is not None:
        rot = spec.mla.qk_rope_head_dim
    elif spec.attention is not None and any(
        k in (LayerKind.FULL, LayerKind.SLIDING, LayerKind.CHUNKED) for k in spec.layers
    ):
        rot = int(spec.attention.head_dim * spec.partial_rotary_factor)
    else:
        return 0
    return spec.max_position_embeddings * rot * 2


def cudagraph_bytes(spec: ModelSpec, tp: int) -> int:
    """Estimated CUDA-graph pool per GPU (piecewise graphs, default capture sizes)."""
    return int(CUDAGRAPH_PER_LAYER * spec.num_layers / max(1, tp) ** 0.5)


class KVLayout(BaseModel):
    """How the engine lays out its KV/state pool and what it reports at startup."""

    num_groups: int = 0
    layers_per_group: int = 0
    padding_layers: int = 0
    block_size: int = 16
    page_size_bytes: int = 0
    num_blocks: int = 0
    kv_cache_tokens: int = 0
    kv_cache_tokens_legacy: int = 0
    token_capacity: int = 0
    max_concurrency: float = 0.0
    state_slots: int | None = None
    notes: list[str] = Field(default_factory=list)


def _group_size(counts: list[int]) -> int:
    lo, hi = min(counts), max(counts)
    return hi if hi < lo * 1.5 else lo


def vllm_layout(
    specs: list[LayerSpec],
    available: int,
    max_model_len: int,
    max_num_batched_tokens: int,
    align: int = 16,
    mamba_cache_mode: str = "none",
) -> tuple[KVLayout, list[LayerSpec]]:
    """vLLM's KV-cache configuration for these per-layer specs and this much KV memory."""
    notes: list[str] = []
    specs = list(specs)
    attn = [s for s in specs if not isinstance(s, MambaSpec)]
    mamba = [s for s in specs if isinstance(s, MambaSpec)]
    if mamba and attn:
        attn_1 = max(s.with_block_size(1).page_size_bytes for s in attn)
        mamba_page = max(s.state_bytes for s in mamba)
        base = max(align, attn[0].block_size)
        block = base * cdiv(mamba_page, base * attn_1)
        block = max(block, attn[0].block_size)
        padded = block * attn_1
        specs = [
            s.with_block_size(block)
            if not isinstance(s, MambaSpec)
            else MambaSpec(s.shapes, s.dtype_bytes, block, padded, cache_mode=mamba_cache_mode)
            for s in specs
        ]
        notes.append(
            f"hybrid page alignment: attention block size raised to {block} tokens; state page padded "
            f"{(padded - mamba_page) / mamba_page * 100:.2f}% to {padded} B"
        )
    if not specs:
        return KVLayout(notes=["attention-free model: no KV cache"]), specs
    by_spec: dict[LayerSpec, int] = {}
    for s in specs:
        by_spec[s] = by_spec.get(s, 0) + 1
    pages = {s.page_size_bytes for s in by_spec}
    if len(by_spec) == 1:
        ((s, n),) = by_spec.items()
        page = s.page_size_bytes
        num_blocks = max(0, available // page // n)
        groups = [(s, n)]
        group_size, padding = n, 0
    elif all(type(s) is FullAttentionSpec or type(s) is MLASpec for s in by_spec):
        # UniformTypeKVCacheSpecs: one group, per-layer page sizes differ
        page = sum(s.page_size_bytes * n for s, n in by_spec.items())
        num_blocks = max(0, available // page)
        s0 = next(iter(by_spec))
        groups = [(s0, 1)]
        group_size, padding = 1, 0
        page_for_conc = page
        per_req = sum(
            s.max_memory_usage_bytes(max_model_len, max_num_batched_tokens) * n for s, n in by_spec.items()
        )
        conc = num_blocks / cdiv(per_req, page_for_conc) if page_for_conc else 0.0
        legacy = num_blocks * s0.block_size
        tokens = int(conc * max_model_len)
        return KVLayout(
            num_groups=1,
            layers_per_group=len(specs),
            block_size=s0.block_size,
            page_size_bytes=page,
            num_blocks=num_blocks,
            kv_cache_tokens=tokens,
            kv_cache_tokens_legacy=legacy,
            token_capacity=legacy,
            max_concurrency=conc,
            notes=notes,
        ), specs
    else:
        if len(pages) > 1:
            top = max(pages)
            unified: dict[LayerSpec, int] = {}
            for s, n in by_spec.items():
                if s.page_size_bytes != top:
                    if top % s.page_size_bytes:
                        raise InputError(
                            "vLLM cannot unify these layers' page sizes (not divisible); the engine would refuse this model"
                        )
                    s = s.with_block_size(s.block_size * (top // s.page_size_bytes))
                unified[s] = unified.get(s, 0) + n
            by_spec = unified
            notes.append("page sizes unified by enlarging the block size of smaller layers")
        counts = list(by_spec.values())
        group_size = _group_size(counts)
        groups = []
        padding = 0
        for s, n in by_spec.items():
            k = cdiv(n, group_size)
            padding += k * group_size - n
            groups.extend([(s, group_size)] * k)
        page = next(iter(by_spec)).page_size_bytes
        num_blocks = max(0, available // page // group_size)
    min_block = min(s.block_size for s, _ in groups)
    legacy = num_blocks // len(groups) * min_block
    blocks_per_req = sum(
        cdiv(s.max_memory_usage_bytes(max_model_len, max_num_batched_tokens), page) for s, _ in groups
    )
    conc = num_blocks / blocks_per_req if blocks_per_req else 0.0
    tokens = int(conc * max_model_len)
    attn_groups = [s for s, _ in groups if not isinstance(s, MambaSpec)]
    capacity = num_blocks * min_block if attn_groups else 0
    n_state_groups = sum(1 for s, _ in groups if isinstance(s, MambaSpec))
    slots = num_blocks // n_state_groups if n_state_groups else None
    if padding:
        notes.append(
            f"{padding} padding layer(s) added to equalise groups (vLLM warns about wasted KV memory)"
        )
    return KVLayout(
        num_groups=len(groups),
        layers_per_group=group_size,
        padding_layers=padding,
        block_size=min_block,
        page_size_bytes=page,
        num_blocks=num_blocks,
        kv_cache_tokens=tokens,
        kv_cache_tokens_legacy=legacy,
        token_capacity=capacity,
        max_concurrency=conc,
        state_slots=slots,
        notes=notes,
    ), specs


def sglang_layout(specs: list[LayerSpec], available: int, max_model_len: int, concurrency: int) -> KVLayout:
    """SGLang token pool: state slots for ``concurrency`` sequences first, then tokens by cell size."""
    state = sum(s.state_bytes for s in specs if isinstance(s, MambaSpec))
    pool = available - state * max(concurrency, 1) if state else available
    cell = sum(s.bytes_per_token for s in specs if not isinstance(s, MambaSpec))
    tokens = int(max(pool, 0) // cell) if cell else 0
    notes = (
        ["SGLang sizes sliding-window layers like full layers in this estimate (SWA pool ratio not modelled)"]
        if any(isinstance(s, SlidingWindowSpec | ChunkedLocalAttentionSpec) for s in specs)
        else []
    )
    conc = tokens / max_model_len if max_model_len else 0.0
    if state and not cell:
        conc = available / state
    return KVLayout(
        num_groups=1,
        layers_per_group=len(specs),
        block_size=1,
        page_size_bytes=int(cell),
        num_blocks=tokens,
        kv_cache_tokens=tokens,
        token_capacity=tokens,
        max_concurrency=conc,
        state_slots=max(concurrency, 1) if state else None,
        notes=notes,
    )


def llamacpp_layout(
    specs: list[LayerSpec], available: int, max_model_len: int, concurrency: int, n_ubatch: int = 512
) -> KVLayout:
    """llama.cpp: the largest ``n_ctx`` (multiple of 256) whose K/V and recurrent state fit."""
    seqs = max(concurrency, 1)
    state = sum(s.state_bytes for s in specs if isinstance(s, MambaSpec)) * seqs
    swa_fixed = 0.0
    per_token = 0.0
    for s in specs:
        if isinstance(s, SlidingWindowSpec | ChunkedLocalAttentionSpec):
            swa_fixed += s.bytes_per_token * min(s.sliding_window * seqs + n_ubatch, max_model_len * seqs)
        elif not isinstance(s, MambaSpec):
            per_token += s.bytes_per_token
    room = available - state - swa_fixed
    tokens = int(room // per_token) // 256 * 256 if per_token and room > 0 else 0
    conc = tokens / max_model_len if max_model_len else 0.0
    return KVLayout(
        num_groups=1,
        layers_per_group=len(specs),
        block_size=256,
        page_size_bytes=int(per_token * 256),
        num_blocks=tokens // 256,
        kv_cache_tokens=tokens,
        token_capacity=tokens,
        max_concurrency=conc,
        state_slots=seqs if state else None,
        notes=["llama.cpp splits n_ctx evenly across --parallel slots (unified KV off)"],
    )


def llamacpp_compute_buffer(spec: ModelSpec, n_ubatch: int = 512) -> int:
    """Estimated llama.cpp compute buffer (logits for one micro-batch + per-layer scratch)."""
    return int(n_ubatch * 4 * (spec.vocab_size + 8 * spec.hidden_size))
