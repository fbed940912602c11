"""Read a Hugging Face ``config.json`` (or GGUF metadata) into a ``ModelSpec``, naming the field at fault.

Handles wrappers that nest a ``text_config`` (``Qwen3_5ForConditionalGeneration``, Gemma-3), explicit
``layer_types`` lists, ``full_attention_interval`` hybrids (Qwen3-Next), ``sliding_window_pattern``
(Gemma-3), MLA fields (DeepSeek), MoE fields under their several names, Gated DeltaNet and Mamba2 state
shapes, and ``quantization_config`` (fp8, AWQ/GPTQ, MXFP4, NVFP4/modelopt, compressed-tensors,
bitsandbytes). Any missing, mistyped or unknown value raises ``ModelSourceError`` naming the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from clearance.errors import ModelSourceError
from clearance.plan.spec import (
    DTYPE_BYTES,
    AttentionShape,
    LayerKind,
    LinearAttentionShape,
    MLAShape,
    ModelSpec,
    MoEShape,
    QuantSpec,
)

MAX_DIM = 10_000_000
MAX_LAYERS = 10_000

_LAYER_TYPE_ALIASES: dict[str, LayerKind] = {
    "full_attention": LayerKind.FULL,
    "attention": LayerKind.FULL,
    "global_attention": LayerKind.FULL,
    "global": LayerKind.FULL,
    "full": LayerKind.FULL,
    "sliding_attention": LayerKind.SLIDING,
    "sliding_window_attention": LayerKind.SLIDING,
    "local_attention": LayerKind.SLIDING,
    "local": LayerKind.SLIDING,
    "linear_attention": LayerKind.LINEAR,
    "mamba": LayerKind.MAMBA,
    "mamba2": LayerKind.MAMBA,
    "chunked_attention": LayerKind.CHUNKED,
    "mlp": LayerKind.NONE,
    "moe": LayerKind.NONE,
}
_PATTERN_CHARS = {"M": LayerKind.MAMBA, "*": LayerKind.FULL, "-": LayerKind.NONE, "E": LayerKind.NONE}
_IGNORES_SLIDING = {"qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "qwen2_vl", "qwen2_5_vl"}

_TIED_BY_DEFAULT = {"gemma", "gemma2", "gemma3", "gemma3_text"}


class _Cfg:
    """A config dict with typed getters whose errors name the field (with its path)."""

    def __init__(self, data: dict[str, Any], origin: str, prefix: str = "") -> None:
        self.data = data
        self.origin = origin
        self.prefix = prefix

    def fail(self, field: str, msg: str) -> ModelSourceError:
        return ModelSourceError(f"{self.origin}: [{self.prefix}{field}] {msg}")

    def has(self, *names: str) -> bool:
        return any(self.data.get(n) is not None for n in names)

    def int_(
        self,
        *names: str,
        default: int | None = None,
        required: bool = True,
        minimum: int = 1,
        maximum: int = MAX_DIM,
    ) -> int:
        for n in names:
            if n in self.data and self.data[n] is not None:
                v = self.data[n]
                if (
                    isinstance(v, bool)
                    or not isinstance(v, int | float)
                    or (isinstance(v, float) and not v.is_integer())
                ):
                    raise self.fail(n, f"must be an integer, got {v!r}")
                iv = int(v)
                if iv < minimum:
                    raise self.fail(n, f"must be >= {minimum}, got {iv}")
                if iv > maximum:
                    raise self.fail(n, f"implausibly large value {iv} (> {maximum})")
                return iv
        if default is not None or not required:
            return default  # type: ignore[return-value]
        raise self.fail(
            names[0],
            "missing required field" + (f" (also tried {', '.join(names[1:])})" if len(names) > 1 else ""),
        )

    def opt_int(self, *names: str, minimum: int = 1) -> int | None:
        v = self.int_(*names, required=False, minimum=minimum)
        return v

    def str_(self, name: str, default: str) -> str:
        v = self.data.get(name, default)
        if v is None:
            return default
        if not isinstance(v, str):
            raise self.fail(name, f"must be a string, got {v!r}")
        return v


def _rotary_factor(cfg: _Cfg) -> float:
    """``partial_rotary_factor`` (top level or inside ``rope_parameters``), 1.0 when absent; must lie in (0, 1]."""
    rp = cfg.data.get("rope_parameters")
    for where, v in (
        ("partial_rotary_factor", cfg.data.get("partial_rotary_factor")),
        (
            "rope_parameters.partial_rotary_factor",
            rp.get("partial_rotary_factor") if isinstance(rp, dict) else None,
        ),
    ):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 1:
            raise cfg.fail(where, f"must be a number in (0, 1], got {v!r}")
        return float(v)
    return 1.0


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read and parse a ``config.json``; ``ModelSourceError`` naming the file when unreadable or malformed."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelSourceError(f"{p}: cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ModelSourceError(f"{p}: config is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelSourceError(
            f"{p}: malformed or truncated JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise ModelSourceError(f"{p}: config must be a JSON object, got {type(data).__name__}")
    return data


def _vision_params(vc: dict[str, Any], text_hidden: int, origin: str) -> int:
    """Parameter estimate of a ViT vision tower + projector from its ``vision_config`` (estimate)."""
    v = _Cfg(vc, origin, "vision_config.")
    h = v.int_("hidden_size", "embed_dim", default=0, required=False, minimum=0) or 0
    if h <= 0:
        return 0
    layers = v.int_("num_hidden_layers", "depth", default=0, required=False, minimum=0) or 0
    inter = v.int_("intermediate_size", default=4 * h, required=False)
    patch = v.int_("patch_size", default=14, required=False)
    chans = v.int_("num_channels", "in_channels", "in_chans", default=3, required=False)
    tpatch = v.int_("temporal_patch_size", default=1, required=False)
    per_layer = 4 * h * h + 4 * h + 2 * h * inter + inter + h + 4 * h
    patch_embed = chans * patch * patch * tpatch * h + h
    image = v.int_("image_size", default=0, required=False, minimum=0) or 0
    npos = (
        v.int_(
            "num_position_embeddings",
            default=(image // patch) ** 2 if image else 0,
            required=False,
            minimum=0,
        )
        or 0
    )
    merge = v.int_("spatial_merge_size", default=1, required=False)
    proj_in = h * merge * merge
    out = v.int_("out_hidden_size", default=text_hidden, required=False)
    projector = proj_in * proj_in + proj_in * out if merge > 1 else h * out
    return layers * per_layer + patch_embed + npos * h + projector


def _quant(cfg: _Cfg, qc: Any, model_type: str) -> QuantSpec:
    if qc is None:
        return QuantSpec()
    if not isinstance(qc, dict):
        raise cfg.fail("quantization_config", f"must be an object, got {type(qc).__name__}")
    method = str(qc.get("quant_method") or qc.get("quant_algo") or "").lower()
    raw_skip = qc.get("modules_to_not_convert") or qc.get("ignore") or qc.get("exclude_modules") or []
    if not isinstance(raw_skip, list):
        raise cfg.fail("quantization_config.modules_to_not_convert", "must be a list of module names")
    skip = [str(m) for m in raw_skip]
    kv = None
    if str(qc.get("kv_cache_quant_algo") or "").upper().startswith("FP8") or qc.get("kv_cache_scheme"):
        kv = "fp8"
    if method == "fp8":
        return QuantSpec(method="fp8", bits=8, group_size=None, skip_modules=skip, kv_cache_dtype=kv)
    if method in ("awq", "gptq", "awq_marlin", "gptq_marlin", "auto-round", "autoround"):
        q = _Cfg(qc, cfg.origin, "quantization_config.")
        bits = q.int_("bits", "w_bit", default=4, required=False)
        group = q.int_("group_size", "q_group_size", default=128, required=False, minimum=-1)
        return QuantSpec(
            method=method.split("_")[0], bits=bits, group_size=group if group > 0 else None, skip_modules=skip
        )
    if method == "mxfp4":
        scope = (
            "experts"
            if any("self_attn" in s or "attn" in s for s in skip) or model_type == "gpt_oss"
            else "linear"
        )
        return QuantSpec(method="mxfp4", bits=4, group_size=32, scope=scope, skip_modules=skip)
    if method in ("modelopt", "modelopt_fp4", "nvfp4"):
        algo = str(
            qc.get("quant_algo") or (qc.get("quantization") or {}).get("quant_algo") or "NVFP4"
        ).upper()
        if "FP4" in algo:
            return QuantSpec(method="nvfp4", bits=4, group_size=16, skip_modules=skip, kv_cache_dtype=kv)
        return QuantSpec(method="fp8", bits=8, skip_modules=skip, kv_cache_dtype=kv)
    if method == "compressed-tensors":
        groups = qc.get("config_groups") or {}
        bits, gsize, is_float = 8, None, False
        for g in groups.values() if isinstance(groups, dict) else []:
            w = (g or {}).get("weights") or {}
            if not isinstance(w, dict):
                raise cfg.fail("quantization_config.config_groups", "weights must be an object")
            bits = _Cfg(w, cfg.origin, "quantization_config.config_groups.weights.").int_(
                "num_bits", default=bits, required=False
            )
            gsize = w.get("group_size") or gsize
            is_float = str(w.get("type") or "int") == "float"
            break
        fmt = str(qc.get("format") or "")
        if "nvfp4" in fmt or (bits == 4 and is_float):
            return QuantSpec(method="nvfp4", bits=4, group_size=16, skip_modules=skip, kv_cache_dtype=kv)
        name = "fp8" if bits == 8 and is_float else f"int{bits}"
        return QuantSpec(
            method=name,
            bits=bits,
            group_size=gsize
            if isinstance(gsize, int) and not isinstance(gsize, bool) and gsize > 0
            else None,
            skip_modules=skip,
            kv_cache_dtype=kv,
        )
    if method == "bitsandbytes":
        four = bool(qc.get("load_in_4bit"))
        return QuantSpec(
            method="bnb4" if four else "bnb8",
            bits=4 if four else 8,
            group_size=64 if four else None,
            skip_modules=skip,
        )
    raise cfg.fail(
        "quantization_config.quant_method",
        f"unsupported quantization method {method or '(none)'!r}; pass --weights-dtype to size it",
    )


def _layer_kinds(cfg: _Cfg, n: int, model_type: str, is_mla: bool) -> list[LayerKind]:
    d = cfg.data
    lt = d.get("layer_types")
    if lt is None:
        lt = d.get("layers_block_type")
    if lt is not None:
        if not isinstance(lt, list):
            raise cfg.fail("layer_types", f"must be a list, got {type(lt).__name__}")
        if len(lt) != n:
            raise cfg.fail("layer_types", f"has {len(lt)} entries but num_hidden_layers is {n}")
        kinds: list[LayerKind] = []
        for i, t in enumerate(lt):
            kind = _LAYER_TYPE_ALIASES.get(str(t).lower()) if isinstance(t, str) else None
            if kind is None:
                raise cfg.fail(
                    f"layer_types[{i}]",
                    f"unknown layer type {t!r}; known: {', '.join(sorted(_LAYER_TYPE_ALIASES))}",
                )
            kinds.append(kind)
        if is_mla:
            kinds = [LayerKind.MLA if k == LayerKind.FULL else k for k in kinds]
        return kinds
    if is_mla:
        return [LayerKind.MLA] * n
    hp = d.get("hybrid_override_pattern")
    if hp is not None:
        if not isinstance(hp, str) or len(hp) != n:
            raise cfg.fail("hybrid_override_pattern", f"must be a string of {n} characters (one per layer)")
        out = []
        for i, ch in enumerate(hp):
            if ch not in _PATTERN_CHARS:
                raise cfg.fail(
                    f"hybrid_override_pattern[{i}]", f"unknown layer code {ch!r}; known: M, *, -, E"
                )
            out.append(_PATTERN_CHARS[ch])
        return out
    chunk = d.get("attention_chunk_size")
    if chunk:
        nrl = d.get("no_rope_layers")
        if isinstance(nrl, list) and len(nrl) == n:
            return [LayerKind.CHUNKED if x else LayerKind.FULL for x in nrl]
        step = cfg.int_("nope_layer_interval", default=4)
        return [LayerKind.FULL if (i + 1) % step == 0 else LayerKind.CHUNKED for i in range(n)]
    interval = cfg.opt_int("full_attention_interval")
    if interval is not None and cfg.has("linear_num_value_heads", "linear_num_key_heads"):
        return [LayerKind.FULL if (i + 1) % interval == 0 else LayerKind.LINEAR for i in range(n)]
    sw = d.get("sliding_window")
    pattern = d.get("sliding_window_pattern")
    if sw and pattern:
        p = cfg.int_("sliding_window_pattern")
        return [LayerKind.FULL if (i + 1) % p == 0 else LayerKind.SLIDING for i in range(n)]
    if sw and model_type == "gemma2":
        return [LayerKind.SLIDING if i % 2 == 0 else LayerKind.FULL for i in range(n)]
    if sw and d.get("use_sliding_window") is not False and model_type not in _IGNORES_SLIDING:
        return [LayerKind.SLIDING] * n  # one window for every layer (Mistral-7B-v0.1, Phi-3)
    return [LayerKind.FULL] * n


def _hp_dense(cfg: _Cfg, i: int) -> bool:
    """Nemotron-H: '-' layers are dense MLP, 'E' layers MoE."""
    hp = cfg.data.get("hybrid_override_pattern")
    return isinstance(hp, str) and i < len(hp) and hp[i] == "-"


def _spec_from_config(
    data: dict[str, Any], *, name: str | None = None, origin: str = "config.json"
) -> ModelSpec:
    """Build a ``ModelSpec`` from a parsed HF config; ``ModelSourceError`` names any bad field."""
    if not isinstance(data, dict):
        raise ModelSourceError(f"{origin}: config must be a JSON object")
    top = _Cfg(data, origin)
    inner = data
    prefix = ""
    tc = data.get("text_config")
    if isinstance(tc, dict) and (
        data.get("num_hidden_layers") is None or "ForConditionalGeneration" in str(data.get("architectures"))
    ):
        inner = {**{k: v for k, v in data.items() if k not in ("text_config", "vision_config")}, **tc}
        prefix = "text_config."
    elif tc is not None and not isinstance(tc, dict):
        raise top.fail("text_config", f"must be an object, got {type(tc).__name__}")
    cfg = _Cfg(inner, origin, prefix)
    archs = data.get("architectures") or []
    if not isinstance(archs, list):
        raise top.fail("architectures", "must be a list")
    arch = str(archs[0]) if archs else ""
    model_type = str(inner.get("model_type") or data.get("model_type") or "")

    hidden = cfg.int_("hidden_size", "n_embd", "d_model", "dim")
    n_layers = cfg.int_("num_hidden_layers", "n_layer", "num_layers", "n_layers")
    if n_layers > MAX_LAYERS:
        raise cfg.fail("num_hidden_layers", f"implausibly many layers ({n_layers})")
    vocab = cfg.int_("vocab_size", "padded_vocab_size")
    n_heads = cfg.int_("num_attention_heads", "n_head", "n_heads")
    n_kv = cfg.int_("num_key_value_heads", "n_head_kv", "num_kv_heads", default=n_heads)
    if cfg.data.get("multi_query") is True:
        n_kv = 1
    if n_kv > n_heads:
        raise cfg.fail("num_key_value_heads", f"{n_kv} exceeds num_attention_heads {n_heads}")
    head_dim = cfg.int_("head_dim", default=0, required=False, minimum=1) or 0
    if not head_dim:
        if hidden % n_heads:
            raise cfg.fail(
                "head_dim",
                f"missing and hidden_size {hidden} is not divisible by num_attention_heads {n_heads}",
            )
        head_dim = hidden // n_heads
    inter = cfg.int_(
        "intermediate_size_mlp", "intermediate_size", "ffn_hidden_size", "n_inner", default=4 * hidden
    )
    max_pos = cfg.int_(
        "max_position_embeddings", "n_positions", "max_seq_len", "seq_length", default=4096, maximum=1 << 30
    )

    dtype = str(cfg.data.get("torch_dtype") or cfg.data.get("dtype") or data.get("torch_dtype") or "bfloat16")
    if dtype not in DTYPE_BYTES:
        raise cfg.fail("torch_dtype", f"unknown dtype {dtype!r}")

    is_mla = cfg.has("kv_lora_rank")
    mla = None
    if is_mla:
        mla = MLAShape(
            num_heads=n_heads,
            kv_lora_rank=cfg.int_("kv_lora_rank"),
            qk_rope_head_dim=cfg.int_("qk_rope_head_dim", minimum=0),
            qk_nope_head_dim=cfg.int_("qk_nope_head_dim", minimum=0),
            v_head_dim=cfg.int_("v_head_dim"),
            q_lora_rank=cfg.opt_int("q_lora_rank"),
        )
    kinds = _layer_kinds(cfg, n_layers, model_type, is_mla)

    sw_val = cfg.opt_int("sliding_window") if LayerKind.SLIDING in kinds else None
    if LayerKind.SLIDING in kinds and not sw_val:
        raise cfg.fail("sliding_window", "sliding-attention layers declared but no sliding_window size")
    attention = AttentionShape(
        num_heads=n_heads,
        num_kv_heads=n_kv,
        head_dim=head_dim,
        v_head_dim=cfg.opt_int("v_head_dim") if not is_mla else None,
        sliding_window=sw_val,
        attention_chunk_size=cfg.opt_int("attention_chunk_size") if LayerKind.CHUNKED in kinds else None,
        output_gate=bool(cfg.data.get("attn_output_gate", False)),
    )

    linear = None
    if LayerKind.LINEAR in kinds:
        state_dtype = str(cfg.data.get("mamba_ssm_dtype") or dtype)
        if state_dtype not in DTYPE_BYTES:
            raise cfg.fail("mamba_ssm_dtype", f"unknown dtype {state_dtype!r}")
        linear = LinearAttentionShape(
            kind="gated_deltanet",
            num_k_heads=cfg.int_("linear_num_key_heads"),
            num_v_heads=cfg.int_("linear_num_value_heads"),
            head_k_dim=cfg.int_("linear_key_head_dim"),
            head_v_dim=cfg.int_("linear_value_head_dim"),
            conv_kernel=cfg.int_("linear_conv_kernel_dim", default=4),
            state_dtype=state_dtype,
            conv_dtype=dtype,
        )
    elif LayerKind.MAMBA in kinds:
        n_mheads = cfg.int_("mamba_n_heads", "mamba_num_heads")
        d_head = cfg.int_("mamba_d_head", "mamba_head_dim")
        state_dtype = str(cfg.data.get("mamba_ssm_dtype") or dtype)
        linear = LinearAttentionShape(
            kind="mamba2",
            num_k_heads=cfg.int_("mamba_n_groups", "n_groups", default=1),
            num_v_heads=n_mheads,
            head_k_dim=cfg.int_("mamba_d_state", "ssm_state_size", "state_size"),
            head_v_dim=d_head,
            conv_kernel=cfg.int_("mamba_d_conv", "conv_kernel", default=4),
            n_groups=cfg.int_("mamba_n_groups", "n_groups", default=1),
            d_state=cfg.int_("mamba_d_state", "ssm_state_size", "state_size"),
            state_dtype=state_dtype if state_dtype in DTYPE_BYTES else dtype,
            conv_dtype=dtype,
        )

    moe = None
    n_exp = cfg.opt_int("num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts")
    if n_exp and n_exp > 1:
        top_k = cfg.int_("num_experts_per_tok", "experts_per_token", "moe_topk", "num_experts_per_token")
        if top_k > n_exp:
            raise cfg.fail("num_experts_per_tok", f"{top_k} exceeds the number of experts {n_exp}")
        eis = cfg.int_(
            "moe_intermediate_size", "expert_intermediate_size", "intermediate_size", default=inter
        )
        shared = cfg.int_("shared_expert_intermediate_size", default=0, required=False, minimum=0) or 0
        n_shared = (
            cfg.int_("n_shared_experts", "num_shared_experts", default=0, required=False, minimum=0) or 0
        )
        if not shared and n_shared:
            shared = n_shared * eis
        if not shared and model_type in ("llama4_text", "llama4"):
            shared = eis  # Llama-4: one shared expert of the routed size
        dense: list[int] = []
        fk = cfg.int_("first_k_dense_replace", default=0, required=False, minimum=0) or 0
        dense.extend(range(min(fk, n_layers)))
        mlp_only = cfg.data.get("mlp_only_layers") or []
        if not isinstance(mlp_only, list):
            raise cfg.fail("mlp_only_layers", "must be a list of layer indices")
        dense.extend(int(i) for i in mlp_only if isinstance(i, int) and 0 <= i < n_layers)
        step = cfg.int_("decoder_sparse_step", "interleave_moe_layer_step", default=1, required=False) or 1
        if step > 1:
            dense.extend(i for i in range(n_layers) if (i + 1) % step != 0)
        dense.extend(i for i, k in enumerate(kinds) if k == LayerKind.NONE and _hp_dense(cfg, i))
        moe = MoEShape(
            num_experts=n_exp,
            top_k=top_k,
            expert_intermediate_size=eis,
            shared_intermediate_size=shared,
            dense_layers=sorted(set(dense)),
        )

    quant = _quant(cfg, inner.get("quantization_config") or data.get("quantization_config"), model_type)
    tie = inner.get("tie_word_embeddings", data.get("tie_word_embeddings"))
    if tie is None:
        tie = model_type in _TIED_BY_DEFAULT
    vc = data.get("vision_config")
    vision = _vision_params(vc, hidden, origin) if isinstance(vc, dict) else 0
    mtp = (
        cfg.int_(
            "num_nextn_predict_layers",
            "mtp_num_hidden_layers",
            "num_mtp_layers",
            default=0,
            required=False,
            minimum=0,
        )
        or 0
    )

    return ModelSpec(
        name=name or str(data.get("_name_or_path") or arch or model_type or "model"),
        source=origin,
        architecture=arch,
        model_type=model_type,
        hidden_size=hidden,
        vocab_size=vocab,
        intermediate_size=inter,
        max_position_embeddings=max_pos,
        partial_rotary_factor=_rotary_factor(cfg),
        tie_word_embeddings=bool(tie),
        dtype=dtype,
        layers=kinds,
        attention=attention,
        mla=mla,
        linear=linear,
        moe=moe,
        quant=quant,
        vision_params=vision,
        mtp_layers=mtp,
        gated_mlp=str(cfg.data.get("mlp_hidden_act") or cfg.data.get("hidden_act") or "silu")
        not in ("gelu_new", "relu", "gelu", "relu2")
        or model_type.startswith("gemma"),
        mlp_free_layers=[i for i, k in enumerate(kinds) if k != LayerKind.NONE]
        if isinstance(cfg.data.get("hybrid_override_pattern"), str)
        else [],
        attention_bias=bool(
            cfg.data.get("attention_bias", False) or model_type in ("qwen2", "qwen2_moe", "gpt_oss")
        ),
    )


# --------------------------------------------------------------------------------------------- GGUF


def _gguf_get(meta: dict[str, Any], arch: str, key: str) -> Any:
    return meta.get(f"{arch}.{key}")


def _spec_from_gguf_metadata(
    meta: dict[str, Any], *, name: str, origin: str, n_vocab_fallback: int = 0
) -> ModelSpec:
    """Build a ``ModelSpec`` from GGUF metadata (``attention.key_length``, not embedding/heads)."""
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelSourceError(f"{origin}: [general.architecture] missing or not a string")

    def need_int(key: str, default: int | None = None) -> int:
        v = _gguf_get(meta, arch, key)
        if isinstance(v, list):
            vals = [int(x) for x in v if isinstance(x, int)]
            v = max(vals) if vals else None
        if v is None:
            if default is not None:
                return default
            raise ModelSourceError(f"{origin}: [{arch}.{key}] missing required GGUF metadata")
        if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > MAX_DIM:
            raise ModelSourceError(f"{origin}: [{arch}.{key}] must be a non-negative integer, got {v!r}")
        return v

    n_layers = need_int("block_count")
    if n_layers < 1 or n_layers > MAX_LAYERS:
        raise ModelSourceError(f"{origin}: [{arch}.block_count] implausible value {n_layers}")
    hidden = need_int("embedding_length")
    n_heads = need_int("attention.head_count")
    kv_raw = _gguf_get(meta, arch, "attention.head_count_kv")
    kv_per_layer: list[int] | None = None
    if isinstance(kv_raw, list):
        if len(kv_raw) != n_layers:
            raise ModelSourceError(
                f"{origin}: [{arch}.attention.head_count_kv] has {len(kv_raw)} entries for {n_layers} blocks"
            )
        if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in kv_raw):
            raise ModelSourceError(
                f"{origin}: [{arch}.attention.head_count_kv] must hold non-negative integers"
            )
        kv_per_layer = [int(x) for x in kv_raw]
    n_kv = need_int("attention.head_count_kv", default=n_heads)
    key_len = need_int("attention.key_length", default=(hidden // n_heads if n_heads else 0))
    val_len = need_int("attention.value_length", default=key_len)
    inter = need_int("feed_forward_length", default=4 * hidden)
    ctx = need_int("context_length", default=4096)
    vocab = need_int("vocab_size", default=0)
    if not vocab:
        toks = meta.get("tokenizer.ggml.tokens")
        vocab = len(toks) if isinstance(toks, list) else n_vocab_fallback
    if vocab <= 0:
        raise ModelSourceError(f"{origin}: [{arch}.vocab_size] missing and tokenizer.ggml.tokens absent")
    sw = need_int("attention.sliding_window", default=0)
    kv_lora = need_int("attention.kv_lora_rank", default=0)

    kinds: list[LayerKind]
    mla = None
    linear = None
    if kv_lora:
        rope = need_int("rope.dimension_count", default=64)
        mla = MLAShape(
            num_heads=n_heads,
            kv_lora_rank=kv_lora,
            qk_rope_head_dim=rope,
            qk_nope_head_dim=max(key_len - rope, 0) if key_len > kv_lora else 128,
            v_head_dim=val_len if val_len < kv_lora else 128,
            q_lora_rank=need_int("attention.q_lora_rank", default=0) or None,
        )
        kinds = [LayerKind.MLA] * n_layers
    elif arch in ("qwen3next", "qwen35", "qwen35moe") or _gguf_get(meta, arch, "ssm.conv_kernel") is not None:
        interval = need_int("full_attention_interval", default=4)
        if kv_per_layer is not None:
            kinds = [LayerKind.FULL if k > 0 else LayerKind.LINEAR for k in kv_per_layer]
        else:
            kinds = [LayerKind.FULL if (i + 1) % interval == 0 else LayerKind.LINEAR for i in range(n_layers)]
        groups = need_int("ssm.group_count")
        d_state = need_int("ssm.state_size")
        v_heads = need_int("ssm.time_step_rank")
        inner = need_int("ssm.inner_size")
        linear = LinearAttentionShape(
            kind="gated_deltanet",
            num_k_heads=groups,
            num_v_heads=v_heads,
            head_k_dim=d_state,
            head_v_dim=inner // max(v_heads, 1),
            conv_kernel=need_int("ssm.conv_kernel"),
            state_dtype="float32",
            conv_dtype="float32",
        )
    elif sw and arch.startswith("gemma3"):
        kinds = [LayerKind.FULL if (i + 1) % 6 == 0 else LayerKind.SLIDING for i in range(n_layers)]
    elif (sw and arch in ("gpt-oss", "gptoss", "gpt_oss")) or (sw and arch == "gemma2"):
        kinds = [LayerKind.SLIDING if i % 2 == 0 else LayerKind.FULL for i in range(n_layers)]
    else:
        kinds = [LayerKind.FULL] * n_layers

    moe = None
    n_exp = need_int("expert_count", default=0)
    if n_exp > 1:
        eff = need_int("expert_feed_forward_length", default=inter)
        n_shared = need_int("expert_shared_count", default=0)
        shared = need_int("expert_shared_feed_forward_length", default=n_shared * eff)
        lead = need_int("leading_dense_block_count", default=0)
        moe = MoEShape(
            num_experts=n_exp,
            top_k=need_int("expert_used_count"),
            expert_intermediate_size=eff,
            shared_intermediate_size=shared,
            dense_layers=list(range(lead)),
        )
    file_type = meta.get("general.file_type")
    return ModelSpec(
        name=name,
        source=origin,
        architecture=f"gguf:{arch}",
        model_type=arch,
        hidden_size=hidden,
        vocab_size=vocab,
        intermediate_size=inter,
        max_position_embeddings=ctx,
        tie_word_embeddings=False,
        dtype="float16",
        layers=kinds,
        attention=AttentionShape(
            num_heads=n_heads,
            num_kv_heads=max(n_kv, 1),
            head_dim=key_len,
            v_head_dim=val_len,
            sliding_window=sw or None,
        ),
        mla=mla,
        linear=linear,
        moe=moe,
        quant=QuantSpec(method="gguf", bits=16, bits_per_weight=None),
        notes=[f"GGUF general.file_type={file_type}"] if file_type is not None else [],
    )


def _validation_error(origin: str, exc: ValidationError) -> ModelSourceError:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    return ModelSourceError(f"{origin}: [{field}] {err['msg']} (got {err.get('input')!r})")


def spec_from_config(
    data: dict[str, Any], *, name: str | None = None, origin: str = "config.json"
) -> ModelSpec:
    """Build a ``ModelSpec`` from a parsed HF config; ``ModelSourceError`` names any bad field."""
    try:
        return _spec_from_config(data, name=name, origin=origin)
    except ValidationError as exc:
        raise _validation_error(origin, exc) from None


def spec_from_gguf_metadata(
    meta: dict[str, Any], *, name: str, origin: str, n_vocab_fallback: int = 0
) -> ModelSpec:
    """Build a ``ModelSpec`` from GGUF metadata (``attention.key_length``, not embedding/heads)."""
    try:
        return _spec_from_gguf_metadata(meta, name=name, origin=origin, n_vocab_fallback=n_vocab_fallback)
    except ValidationError as exc:
        raise _validation_error(origin, exc) from None
