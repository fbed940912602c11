"""Weight memory: exact bytes from checkpoint headers, else parameter counts × true bits per weight.

Parameters are counted per *category* because categories differ in precision (embeddings and norms stay
bf16 under most quantizations) and in how tensor parallelism splits them (vLLM semantics):

=============  ========================================================  =======================
category       what                                                      per GPU under TP = t
=============  ========================================================  =======================
embed          token embedding (``VocabParallelEmbedding``)              1/t
lm_head        output projection (``ParallelLMHead``)                    1/t (0 when tied)
attn           q/o projections, GDN/Mamba projections, MLA q_b/kv_b/o    1/t
kv             k/v projections                                           max(1/t, 1/kv_heads)
replicated     MLA q_a/kv_a projections and their norms                  1
mlp            dense MLP and shared experts                              1/t
experts        routed experts                                            1/t (TP or EP)
router         MoE gate                                                  1
norm           layer norms, biases, small vectors                        1
vision         vision tower and projector                                1/t
mtp            multi-token-prediction layers (not loaded for serving)    0
=============  ========================================================  =======================
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, Field

from clearance.errors import FormatError, ModelSourceError
from clearance.plan.spec import DTYPE_BYTES, LayerKind, ModelSpec, QuantSpec

CATEGORIES = (
    "embed",
    "lm_head",
    "attn",
    "kv",
    "replicated",
    "mlp",
    "experts",
    "router",
    "norm",
    "vision",
    "mtp",
)
#: Categories a quantization method converts (when its scope is "linear").
LINEAR_CATEGORIES = {"attn", "kv", "replicated", "mlp", "experts"}

#: Whole-file bits per weight of llama.cpp quantization mixes for a Llama-3.1-8B-class model
#: (llama.cpp ``tools/quantize/README.md``, quoted in sizing.md §0) and block-type figures.
GGUF_MIX_BPW: dict[str, float] = {
    "F32": 32.0,
    "F16": 16.0,
    "BF16": 16.0,
    "Q8_0": 8.5,
    "Q6_K": 6.56,
    "Q5_K_M": 5.70,
    "Q5_K_S": 5.57,
    "Q5_0": 5.5,
    "Q5_1": 6.0,
    "Q4_K_M": 4.89,
    "Q4_K_S": 4.67,
    "Q4_0": 4.5,
    "Q4_1": 5.0,
    "Q3_K_L": 4.30,
    "Q3_K_M": 3.91,
    "Q3_K_S": 3.64,
    "Q2_K": 3.16,
    "IQ4_XS": 4.46,
    "IQ4_NL": 4.5,
    "IQ3_XXS": 3.25,
    "IQ3_S": 3.44,
    "IQ2_XXS": 2.38,
    "IQ2_XS": 2.31,
    "IQ2_S": 2.5,
    "IQ1_S": 2.00,
    "IQ1_M": 1.75,
}

#: ``--weights-dtype`` values → a QuantSpec (bits are storage bits before group scales).
WEIGHT_DTYPES: dict[str, QuantSpec] = {
    "bf16": QuantSpec(method="none", bits=16),
    "fp16": QuantSpec(method="none", bits=16),
    "fp32": QuantSpec(method="none", bits=32),
    "fp8": QuantSpec(method="fp8", bits=8),
    "int8": QuantSpec(method="int8", bits=8, group_size=None),
    "w8a8": QuantSpec(method="int8", bits=8, group_size=None),
    "int4": QuantSpec(method="int4", bits=4, group_size=128),
    "awq": QuantSpec(method="awq", bits=4, group_size=128),
    "gptq": QuantSpec(method="gptq", bits=4, group_size=128),
    "gptq-int8": QuantSpec(method="gptq", bits=8, group_size=128),
    "mxfp4": QuantSpec(method="mxfp4", bits=4, group_size=32),
    "nvfp4": QuantSpec(method="nvfp4", bits=4, group_size=16),
}


def quant_for_dtype(name: str) -> QuantSpec:
    """The ``QuantSpec`` for a ``--weights-dtype`` value (also GGUF mixes such as ``Q4_K_M``)."""
    key = name.strip()
    if key.lower() in WEIGHT_DTYPES:
        return WEIGHT_DTYPES[key.lower()].model_copy()
    if key.upper() in GGUF_MIX_BPW:
        bpw = GGUF_MIX_BPW[key.upper()]
        return QuantSpec(method="gguf", bits=bpw, scope="all", bits_per_weight=bpw)
    known = ", ".join([*WEIGHT_DTYPES, *GGUF_MIX_BPW])
    raise ModelSourceError(
        f"[weights_dtype] unknown weights dtype {name!r}; known: {known}", param="weights_dtype"
    )


class WeightsBreakdown(BaseModel):
    """Parameters and bytes by category for the whole model, and how they were obtained."""

    params: dict[str, int] = Field(default_factory=dict)
    bytes: dict[str, int] = Field(default_factory=dict)
    exact: bool = False
    method: str = ""

    @property
    def total_bytes(self) -> int:
        """Bytes of the weights the engine loads (MTP layers excluded)."""
        return sum(v for k, v in self.bytes.items() if k != "mtp")

    @property
    def total_params(self) -> int:
        """Parameters the engine loads (MTP layers excluded)."""
        return sum(v for k, v in self.params.items() if k != "mtp")

    def per_gpu_bytes(self, spec: ModelSpec, tp: int) -> int:
        """Bytes one GPU holds under tensor parallelism ``tp`` (see the module table)."""
        kv_heads = spec.attention.num_kv_heads if spec.attention else tp
        total = 0.0
        for cat, b in self.bytes.items():
            total += b * _tp_share(cat, tp, kv_heads)
        return int(total)


def _tp_share(cat: str, tp: int, kv_heads: int) -> float:
    if cat in ("replicated", "router", "norm"):
        return 1.0
    if cat == "mtp":
        return 0.0
    if cat == "kv":
        return max(1.0 / tp, 1.0 / max(kv_heads, 1))
    return 1.0 / tp


def count_params(spec: ModelSpec) -> dict[str, int]:
    """Parameter counts by category from the architecture shapes (formula; no files needed)."""
    h = spec.hidden_size
    p = dict.fromkeys(CATEGORIES, 0)
    p["embed"] = spec.vocab_size * h
    p["lm_head"] = 0 if spec.tie_word_embeddings else spec.vocab_size * h
    a = spec.attention
    mla = spec.mla
    lin = spec.linear
    for i, kind in enumerate(spec.layers):
        p["norm"] += 2 * h
        if kind in (LayerKind.FULL, LayerKind.SLIDING, LayerKind.CHUNKED) and a is not None:
            qdim = a.num_heads * a.head_dim
            p["attn"] += h * qdim * (2 if a.output_gate else 1) + a.num_heads * a.head_dim_v * h
            p["kv"] += h * a.num_kv_heads * (a.head_dim + a.head_dim_v)
            if spec.attention_bias:
                p["norm"] += qdim + a.num_kv_heads * (a.head_dim + a.head_dim_v) + h
            if spec.model_type.startswith(("qwen3", "gemma3")):
                p["norm"] += 2 * a.head_dim  # q_norm / k_norm
        elif kind == LayerKind.MLA and mla is not None:
            qk = mla.qk_nope_head_dim + mla.qk_rope_head_dim
            if mla.q_lora_rank:
                p["replicated"] += h * mla.q_lora_rank + mla.q_lora_rank
                p["attn"] += mla.q_lora_rank * mla.num_heads * qk
            else:
                p["attn"] += h * mla.num_heads * qk
            p["replicated"] += h * (mla.kv_lora_rank + mla.qk_rope_head_dim) + mla.kv_lora_rank
            p["attn"] += mla.kv_lora_rank * mla.num_heads * (mla.qk_nope_head_dim + mla.v_head_dim)
            p["attn"] += mla.num_heads * mla.v_head_dim * h
        elif kind == LayerKind.LINEAR and lin is not None:
            kd = lin.num_k_heads * lin.head_k_dim
            vd = lin.num_v_heads * lin.head_v_dim
            p["attn"] += h * (2 * kd + 2 * vd) + h * 2 * lin.num_v_heads  # in_proj_qkvz + in_proj_ba
            p["attn"] += lin.conv_dim * lin.conv_kernel + vd * h  # conv1d + out_proj
            p["norm"] += 2 * lin.num_v_heads + lin.head_v_dim  # A_log, dt_bias, gated norm
        elif kind == LayerKind.MAMBA and lin is not None:
            d_inner = lin.num_v_heads * lin.head_v_dim
            p["attn"] += h * (2 * d_inner + 2 * lin.n_groups * lin.d_state + lin.num_v_heads)
            p["attn"] += lin.conv_dim * lin.conv_kernel + d_inner * h
            p["norm"] += 3 * lin.num_v_heads + d_inner
        mlp_mult = 3 if spec.gated_mlp else 2
        moe = spec.moe
        if i in spec.mlp_free_layers:
            p["norm"] -= h  # one norm only: no MLP block in this layer
        elif moe is not None and i not in moe.dense_layers:
            p["experts"] += moe.num_experts * mlp_mult * h * moe.expert_intermediate_size
            p["router"] += h * moe.num_experts
            if moe.shared_intermediate_size:
                p["mlp"] += mlp_mult * h * moe.shared_intermediate_size
                p["router"] += h  # shared-expert gate (Qwen) — tiny
        else:
            p["mlp"] += mlp_mult * h * spec.intermediate_size
    p["norm"] += h
    p["vision"] = spec.vision_params
    return p


def _bits(cat: str, q: QuantSpec, dtype_bits: float) -> float:
    """Storage bits per parameter of one category under quantization ``q`` (incl. group scales)."""
    if q.method in ("none", "gguf") and q.bits_per_weight is None:
        return dtype_bits
    if q.method == "gguf" and q.bits_per_weight is not None:
        return q.bits_per_weight if cat not in ("norm", "router") else 32.0
    if cat in ("norm", "router", "vision", "embed", "lm_head"):
        return dtype_bits
    if q.scope == "experts" and cat != "experts":
        return dtype_bits
    if q.method == "fp8":
        return 8 + 32 / (128 * 128)  # e4m3 with one fp32 scale per 128×128 block
    if q.method == "mxfp4":
        return 4.25  # e2m1 + one e8m0 scale per 32
    if q.method == "nvfp4":
        return 4.5  # e2m1 + one fp8 scale per 16
    if q.method in ("awq", "gptq", "int4", "int8", "autoround", "auto-round"):
        g = q.group_size or 0
        return q.bits + ((16 + q.bits) / g if g else 32 / 4096)  # fp16 scale + packed zero per group
    if q.method == "bnb4":
        return 4.127  # nf4 + double-quantized absmax per 64
    if q.method == "bnb8":
        return 8.0
    return q.bits


def estimate_weights(spec: ModelSpec, quant: QuantSpec | None = None) -> WeightsBreakdown:
    """Weights from parameter counts × true bits per weight (an estimate unless headers were read)."""
    q = quant or spec.quant
    params = count_params(spec)
    dtype_bits = 8 * DTYPE_BYTES.get(spec.dtype, 2)
    if dtype_bits > 16:
        dtype_bits = 16  # engines serve fp32 checkpoints in bf16/fp16
    out = {cat: round(n * _bits(cat, q, dtype_bits) / 8) for cat, n in params.items()}
    out["mtp"] = 0
    label = q.method if q.method != "none" else spec.dtype
    return WeightsBreakdown(
        params=params, bytes=out, exact=False, method=f"parameter count × bits per weight ({label})"
    )


# ------------------------------------------------------------------------------------------ exact

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(^|\.)(mtp|nextn)(\.|_)"), "mtp"),
    (
        re.compile(r"(visual|vision_tower|vision_model|multi_modal_projector|mm_projector|vision_encoder)"),
        "vision",
    ),
    (re.compile(r"(embed_tokens|wte|tok_embeddings|token_embd|word_embeddings)"), "embed"),
    (re.compile(r"(^|\.)(lm_head|output)\.weight$|^output\.|(^|\.)lm_head\."), "lm_head"),
    (re.compile(r"(\.experts\.|_exps)"), "experts"),
    (re.compile(r"(q_a_proj|kv_a_proj|q_a_layernorm|kv_a_layernorm|attn_q_a|attn_kv_a)"), "replicated"),
    (re.compile(r"(norm|ln_|layernorm|\.bias$|A_log|dt_bias|sinks)"), "norm"),
    (re.compile(r"(mlp\.gate\.|\.router\.|ffn_gate_inp|shared_expert_gate|e_score_correction)"), "router"),
    (re.compile(r"(\.k_proj\.|\.v_proj\.|attn_k\.|attn_v\.)"), "kv"),
    (re.compile(r"(mlp|ffn|feed_forward|shared_expert)"), "mlp"),
]
_LAYER_IDX = re.compile(r"(?:layers|blk|h)\.(\d+)\.")


def categorize_tensor(name: str, num_layers: int) -> str:
    """The weight category of a tensor name (HF or GGUF naming); layers past ``num_layers`` are MTP."""
    m = _LAYER_IDX.search(name)
    if m and int(m.group(1)) >= num_layers and "visual" not in name and "vision" not in name:
        return "mtp"
    for rx, cat in _RULES:
        if rx.search(name):
            return cat
    return "attn"


def weights_from_safetensors(spec: ModelSpec, files: list[Path]) -> WeightsBreakdown:
    """Exact bytes (and element counts) from safetensors headers; reads only the headers."""
    from clearance.model.safetensors import DTYPE_BITS, read_safetensors_header

    params = dict.fromkeys(CATEGORIES, 0)
    out = dict.fromkeys(CATEGORIES, 0)
    for f in files:
        header = read_safetensors_header(f)
        for tname, info in header.tensors.items():
            cat = categorize_tensor(tname, spec.num_layers)
            n = 1
            for d in info.shape:
                n *= d
            out[cat] += info.end - info.start
            bits = DTYPE_BITS.get(info.dtype, 16)
            # packed int4/fp4 containers (I32/U8) hold several weights per element
            packed = info.dtype in ("I32", "U32") and spec.quant.bits < 16
            params[cat] += n * (int(32 // spec.quant.bits) if packed else 1)
            if (
                info.dtype in ("U8", "I8")
                and spec.quant.method in ("mxfp4", "nvfp4")
                and bits == 8
                and "scale" not in tname
            ):
                params[cat] += n  # two fp4 values per byte
    return WeightsBreakdown(
        params=params, bytes=out, exact=True, method=f"safetensors headers ({len(files)} file(s))"
    )


def safetensors_files(model_dir: Path) -> list[Path]:
    """The checkpoint shards of a model directory: from ``model.safetensors.index.json`` when present."""
    index = model_dir / "model.safetensors.index.json"
    if index.is_file():
        try:
            data = json.loads(index.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise FormatError(
                f"cannot parse shard index: {exc}", file=str(index), field="weight_map"
            ) from None
        wm = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(wm, dict) or not wm:
            raise FormatError("missing or empty weight_map", file=str(index), field="weight_map")
        names = sorted({str(v) for v in wm.values()})
        files = []
        for n in names:
            p = (model_dir / n).resolve()
            if model_dir.resolve() not in p.parents:
                raise FormatError(
                    f"shard {n!r} points outside the model directory", file=str(index), field="weight_map"
                )
            if not p.is_file():
                raise FormatError(
                    f"shard {n!r} listed in the index is missing", file=str(index), field="weight_map"
                )
            files.append(p)
        return files
    return sorted(model_dir.glob("*.safetensors"))


def weights_from_gguf_tensors(spec: ModelSpec, tensors: list[tuple[str, int, int]]) -> WeightsBreakdown:
    """Exact bytes from GGUF tensor infos given as (name, element count, bytes)."""
    params = dict.fromkeys(CATEGORIES, 0)
    out = dict.fromkeys(CATEGORIES, 0)
    for name, numel, nbytes in tensors:
        cat = categorize_tensor(name, spec.num_layers)
        params[cat] += numel
        out[cat] += nbytes
    return WeightsBreakdown(
        params=params, bytes=out, exact=True, method=f"GGUF tensor infos ({len(tensors)} tensors)"
    )
