"""One memory budget per serving engine: how much of each GPU the engine gives the KV cache.

Each engine's budget sits beside its layout (``engines.py``: ``vllm_layout``, ``sglang_layout``,
``llamacpp_layout``), the way ``kv_cache.py`` keeps one spec class per layer kind: ``VllmBudget``,
``SGLangBudget`` and ``LlamaCppBudget`` each turn a ``BudgetInputs`` into an ``EngineBudget`` (what is
requested, what the runtime keeps, what is left for the KV cache, the resulting layout, and the notes the
planner reports). ``budget_for(engine)`` picks one; a new engine is one class here plus its layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from clearance.plan.engines import (
    KVLayout,
    activation_peak_bytes,
    cudagraph_bytes,
    llamacpp_compute_buffer,
    llamacpp_layout,
    non_torch_bytes,
    rope_cache_bytes,
    sampler_for_version,
    sampler_peak_bytes,
    sglang_layout,
    sglang_reserved_bytes,
    vllm_defaults,
    vllm_layout,
)
from clearance.plan.gpus import GIB, GPU
from clearance.plan.kv_cache import LayerSpec, layer_specs
from clearance.plan.spec import ModelSpec


@dataclass(frozen=True)
class BudgetInputs:
    """What every engine budget sees: the model, the GPU, the parallelism and the engine options."""

    spec: ModelSpec
    gpu: GPU
    tp: int
    weights_bytes_per_gpu: int
    specs: list[LayerSpec]
    kv_dtype: str
    block_size: int
    max_model_len: int
    concurrency: int
    gpu_memory_utilization: float
    max_num_batched_tokens: int | None
    max_num_seqs: int | None
    cudagraph_in_budget: bool
    prefix_caching: bool
    sampler: str | None  # "sort" / "kernel" when given; None = from the engine version, else unknown
    engine_version: tuple[int, ...] | None  # parsed; None when not given
    engine_version_text: str | None = None  # as the user wrote it (shown in the semantics line)


@dataclass
class EngineBudget:
    """One engine's budget for one GPU: bytes, the KV layout it yields, and what the planner reports."""

    requested: int
    non_torch: int
    rope: int
    activation: int
    available: int
    layout: KVLayout
    specs: list[LayerSpec]
    semantics: str
    max_num_seqs: int
    max_num_batched_tokens: int
    sampler: str = ""
    sampler_bytes: int = 0
    cudagraph: int = 0
    #: KV memory and layout if the vLLM release sorts the vocabulary at warm-up (sampler unknown)
    kv_sort: int | None = None
    sort_layout: KVLayout | None = None
    #: the engine refuses to start with these settings (beyond memory)
    refuses_to_start: bool = False
    estimated: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)


class Budget(Protocol):
    """An engine's memory budget (see the module doc)."""

    def compute(self, x: BudgetInputs) -> EngineBudget: ...


def _legacy_kv_size(version: tuple[int, ...] | None) -> bool:
    """vLLM up to v0.20 reported 'GPU KV cache size' as num_blocks // groups × block_size (None: newest)."""
    return version is not None and version < (0, 21)


class VllmBudget:
    """vLLM: ``gpu_memory_utilization`` × usable memory, less weights, RoPE cache, non-torch memory and the
    profiled activation peak (sampler warm-up included); CUDA graphs are captured after the KV cache."""

    def compute(self, x: BudgetInputs) -> EngineBudget:
        spec, gpu, tp = x.spec, x.gpu, x.tp
        mnbt, max_seqs = vllm_defaults(gpu, x.max_model_len, x.max_num_batched_tokens, x.max_num_seqs)
        cg = cudagraph_bytes(spec, tp)
        mamba_mode = "align" if x.prefix_caching else "none"
        known_sampler = x.sampler or sampler_for_version(x.engine_version)
        sampler = known_sampler or "kernel"
        out_warnings: list[str] = []
        reasons: list[str] = []
        assumptions: list[str] = []
        refuses = False
        requested = int(gpu.usable_bytes * x.gpu_memory_utilization)
        nt = non_torch_bytes(tp, nvlink=gpu.gpu_link)
        act = activation_peak_bytes(spec, tp, mnbt, max_seqs, sampler)
        rope = rope_cache_bytes(spec)
        graphs = cg if x.cudagraph_in_budget else 0
        available = requested - x.weights_bytes_per_gpu - rope - nt - act - graphs

        def layout_for(kv_bytes: int) -> tuple[KVLayout, list[LayerSpec]]:
            fresh = layer_specs(spec, tp=tp, kv_dtype=x.kv_dtype, block_size=x.block_size)
            return vllm_layout(fresh, max(kv_bytes, 0), x.max_model_len, mnbt, mamba_cache_mode=mamba_mode)

        layout, specs = vllm_layout(
            x.specs, max(available, 0), x.max_model_len, mnbt, mamba_cache_mode=mamba_mode
        )
        state_short = spec.is_hybrid_state and bool(layout.num_blocks) and max_seqs > layout.num_blocks
        if state_short and x.max_num_seqs is None:
            capped = max(1, layout.num_blocks)
            out_warnings.append(
                f"vLLM's default max_num_seqs {max_seqs} exceeds the {layout.num_blocks} state (Mamba) cache blocks and would refuse to start; planned with --max-num-seqs {capped}"
            )
            max_seqs = capped
            act = activation_peak_bytes(spec, tp, mnbt, max_seqs, sampler)
            available = requested - x.weights_bytes_per_gpu - rope - nt - act - graphs
            layout, specs = layout_for(available)
        elif state_short:
            refuses = True
            reasons.append(
                f"max_num_seqs {max_seqs} exceeds the {layout.num_blocks} available state (Mamba) cache blocks: vLLM refuses to start"
            )
        semantics = "vLLM 'GPU KV cache size' = int(max_concurrency × max_model_len) (vLLM v0.21+; up to v0.20 num_blocks // groups × block_size, in layout.kv_cache_tokens_legacy)"
        if _legacy_kv_size(x.engine_version):
            layout = layout.model_copy(update={"kv_cache_tokens": layout.kv_cache_tokens_legacy})
            semantics = f"vLLM {x.engine_version_text} 'GPU KV cache size' = num_blocks // num_kv_cache_groups × block_size (releases up to v0.20)"
        sampler_bytes = sampler_peak_bytes(spec, mnbt, max_seqs, sampler)
        rows = min(max_seqs, mnbt)
        kv_sort: int | None = None
        sort_layout: KVLayout | None = None
        if known_sampler is None:
            # the release is unknown: vLLM 0.8–0.15 (pip) sorts rows × vocab logits at warm-up; fits must hold then too
            delta = activation_peak_bytes(spec, tp, mnbt, max_seqs, "sort") - act
            if delta > 0:
                kv_sort = available - delta
                sort_layout, _ = layout_for(kv_sort)
                if delta >= GIB or delta >= 0.05 * max(available, 1):
                    out_warnings.append(
                        f"sampler warm-up: vLLM 0.8–0.15 (pip installs) sorts {rows} × {spec.vocab_size:,} logits "
                        f"while profiling ({sampler_peak_bytes(spec, mnbt, max_seqs, 'sort') / GIB:.2f} GiB), leaving "
                        f"{max(kv_sort, 0) / GIB:.2f} GiB for KV instead of {max(available, 0) / GIB:.2f} GiB "
                        f"({sort_layout.max_concurrency:.2f} sequences); pass --engine-version or --sampler, "
                        "or lower --max-num-seqs"
                    )
        assumptions.append(
            f"sampler warm-up over {rows} rows × {spec.vocab_size:,} vocab: "
            + (
                "PyTorch-native full-vocabulary sort (vLLM 0.8–0.15 pip installs; exact per-logit bytes)"
                if sampler == "sort"
                else "FlashInfer/Triton top-k/top-p kernel, no sort (vLLM 0.16+ or FlashInfer present; calibrated)"
            )
        )
        if not x.cudagraph_in_budget:
            assumptions.append(
                f"CUDA graphs (~{cg / GIB:.2f} GiB/GPU, estimate) are captured after the KV cache and use memory beyond gpu_memory_utilization"
            )
        return EngineBudget(
            requested=requested,
            non_torch=nt,
            rope=rope,
            activation=act,
            available=available,
            layout=layout,
            specs=specs,
            semantics=semantics,
            max_num_seqs=max_seqs,
            max_num_batched_tokens=mnbt,
            sampler=sampler,
            sampler_bytes=sampler_bytes,
            cudagraph=cg,
            kv_sort=kv_sort,
            sort_layout=sort_layout,
            refuses_to_start=refuses,
            estimated=["non_torch_bytes", "activation_peak_bytes", "cudagraph_bytes"],
            warnings=out_warnings,
            reasons=reasons,
            assumptions=assumptions,
        )


class SGLangBudget:
    """SGLang: ``mem_fraction_static`` × usable memory holds weights and the KV pool; activations and CUDA
    graphs live in the rest."""

    def compute(self, x: BudgetInputs) -> EngineBudget:
        requested = int(x.gpu.usable_bytes * x.gpu_memory_utilization)
        nt = sglang_reserved_bytes(x.tp)  # CUDA context, NCCL, all-reduce buffers at load (estimate)
        rope = rope_cache_bytes(x.spec)
        available = requested - x.weights_bytes_per_gpu - rope - nt
        mnbt, max_seqs = vllm_defaults(x.gpu, x.max_model_len, x.max_num_batched_tokens, x.max_num_seqs)
        return EngineBudget(
            requested=requested,
            non_torch=nt,
            rope=rope,
            activation=0,
            available=available,
            layout=sglang_layout(x.specs, max(available, 0), x.max_model_len, x.concurrency),
            specs=x.specs,
            semantics="SGLang 'KV Cache is allocated. #tokens' = pool // cell size (mem_fraction_static = --gpu-memory-utilization)",
            max_num_seqs=x.max_num_seqs or max_seqs,
            max_num_batched_tokens=mnbt,
            estimated=["non_torch_bytes"],
            assumptions=["SGLang reserves activations and CUDA graphs inside 1 − mem_fraction_static"],
        )


class LlamaCppBudget:
    """llama.cpp: all memory but 1 GiB, less weights and the compute buffer; one context shared by the
    ``--parallel`` slots."""

    def compute(self, x: BudgetInputs) -> EngineBudget:
        requested = x.gpu.usable_bytes - GIB
        act = llamacpp_compute_buffer(x.spec)
        available = requested - x.weights_bytes_per_gpu - act
        return EngineBudget(
            requested=requested,
            non_torch=0,
            rope=0,
            activation=act,
            available=available,
            layout=llamacpp_layout(x.specs, max(available, 0), x.max_model_len, x.concurrency),
            specs=x.specs,
            semantics="llama.cpp n_ctx that fits (multiple of 256), shared by --parallel slots",
            max_num_seqs=x.concurrency,
            max_num_batched_tokens=512,
            estimated=["activation_peak_bytes (compute buffer)"],
        )


BUDGETS: dict[str, Budget] = {"vllm": VllmBudget(), "sglang": SGLangBudget(), "llama.cpp": LlamaCppBudget()}


def budget_for(engine: str) -> Budget:
    """The budget of a normalised engine name (``vllm``, ``sglang``, ``llama.cpp``)."""
    return BUDGETS[engine]
