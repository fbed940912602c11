"""The architecture spec the planner sizes: one entry per layer with its kind, plus head/expert/state shapes.

A ``ModelSpec`` is plain data built from a Hugging Face ``config.json`` (``config_reader``), a GGUF file's
metadata, or a catalog entry. It never holds weights, only shapes, dtypes and (when read from headers) the
exact byte counts of the checkpoint.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class LayerKind(StrEnum):
    """The kind of per-layer memory a decoder layer keeps while serving."""

    FULL = "full_attention"
    SLIDING = "sliding_attention"
    CHUNKED = "chunked_attention"  # chunked local attention (Llama-4 RoPE layers)
    MLA = "mla"
    LINEAR = "linear_attention"  # Gated DeltaNet (Qwen3-Next, Qwen3.5) and similar fixed-state layers
    MAMBA = "mamba"  # Mamba2 SSM layers
    NONE = "mlp_only"  # no token mixer, no cache (Nemotron-H "-" / "E" layers)


#: Bytes per element of the dtypes a config may name.
DTYPE_BYTES: dict[str, float] = {
    "float32": 4,
    "fp32": 4,
    "float": 4,
    "bfloat16": 2,
    "bf16": 2,
    "float16": 2,
    "fp16": 2,
    "half": 2,
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
    "float8_e4m3fn": 1,
    "int8": 1,
    "q8_0": 34 / 32,
    "q5_0": 22 / 32,
    "q5_1": 24 / 32,
    "q4_0": 18 / 32,
    "q4_1": 20 / 32,
    "iq4_nl": 18 / 32,
}


class AttentionShape(BaseModel):
    """Softmax attention shape: query heads, KV heads, head sizes and the sliding window (if any)."""

    num_heads: int = Field(gt=0)
    num_kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    v_head_dim: int | None = None
    sliding_window: int | None = None
    attention_chunk_size: int | None = None
    output_gate: bool = False

    @property
    def head_dim_v(self) -> int:
        """Value head size (equal to ``head_dim`` unless the config says otherwise)."""
        return self.v_head_dim or self.head_dim


class MLAShape(BaseModel):
    """Multi-head latent attention (DeepSeek-V2/V3, Kimi): the cache holds one latent + rope key per token."""

    num_heads: int = Field(gt=0)
    kv_lora_rank: int = Field(gt=0)
    qk_rope_head_dim: int = Field(ge=0)
    qk_nope_head_dim: int = Field(ge=0)
    v_head_dim: int = Field(gt=0)
    q_lora_rank: int | None = None

    @property
    def latent_dim(self) -> int:
        """Cached elements per token per layer: ``kv_lora_rank + qk_rope_head_dim`` (576 for DeepSeek-V3)."""
        return self.kv_lora_rank + self.qk_rope_head_dim


class LinearAttentionShape(BaseModel):
    """Fixed-size recurrent state layers: Gated DeltaNet or Mamba2, O(1) in context length."""

    kind: str = "gated_deltanet"
    num_k_heads: int = Field(gt=0)
    num_v_heads: int = Field(gt=0)
    head_k_dim: int = Field(gt=0)
    head_v_dim: int = Field(gt=0)
    conv_kernel: int = Field(gt=0)
    state_dtype: str = "bfloat16"
    conv_dtype: str = "bfloat16"
    # Mamba2 only
    n_groups: int = 1
    d_state: int = 0

    @property
    def conv_dim(self) -> int:
        """Channels of the short causal convolution (q, k and v projections for GDN; x, B, C for Mamba2)."""
        if self.kind == "mamba2":
            return self.num_v_heads * self.head_v_dim + 2 * self.n_groups * self.d_state
        return 2 * self.num_k_heads * self.head_k_dim + self.num_v_heads * self.head_v_dim


class MoEShape(BaseModel):
    """Mixture-of-experts shape: routed experts, experts per token, shared experts, dense layers."""

    num_experts: int = Field(gt=0)
    top_k: int = Field(gt=0)
    expert_intermediate_size: int = Field(gt=0)
    shared_intermediate_size: int = 0
    dense_layers: list[int] = Field(default_factory=list)
    gated: bool = True


class QuantSpec(BaseModel):
    """Weight quantization as the checkpoint declares it (or as requested with ``--weights-dtype``)."""

    method: str = "none"
    bits: float = 16
    group_size: int | None = None
    scope: str = "linear"  # "linear" (all linear layers), "experts" (MoE experts only), "all"
    skip_modules: list[str] = Field(default_factory=list)
    kv_cache_dtype: str | None = None
    bits_per_weight: float | None = None  # effective, incl. scales, when known (GGUF mixes)


class ModelSpec(BaseModel):
    """Everything the planner needs to size one model; one ``layers`` entry per decoder layer."""

    name: str
    source: str = "config"
    architecture: str = ""
    model_type: str = ""
    hidden_size: int = Field(gt=0)
    vocab_size: int = Field(gt=0)
    intermediate_size: int = 0
    max_position_embeddings: int = 4096
    #: fraction of head_dim that RoPE rotates (``partial_rotary_factor``; 0.25 for Qwen3.5 / Qwen3-Next)
    partial_rotary_factor: float = Field(default=1.0, gt=0, le=1)
    tie_word_embeddings: bool = False
    dtype: str = "bfloat16"
    layers: list[LayerKind]
    attention: AttentionShape | None = None
    mla: MLAShape | None = None
    linear: LinearAttentionShape | None = None
    moe: MoEShape | None = None
    quant: QuantSpec = Field(default_factory=QuantSpec)
    vision_params: int = 0
    mtp_layers: int = 0
    gated_mlp: bool = True
    #: layers with no MLP at all (Nemotron-H mamba/attention layers)
    mlp_free_layers: list[int] = Field(default_factory=list)
    attention_bias: bool = False
    #: Exact checkpoint bytes by category when read from safetensors headers / GGUF tensor infos.
    exact_bytes: dict[str, int] | None = None
    exact_params: int | None = None
    exact_source: str | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def num_layers(self) -> int:
        """Decoder layers (MTP / draft layers excluded)."""
        return len(self.layers)

    def count(self, kind: LayerKind) -> int:
        """How many layers are of this kind."""
        return sum(1 for k in self.layers if k == kind)

    @property
    def is_moe(self) -> bool:
        """True for mixture-of-experts models."""
        return self.moe is not None

    @property
    def is_hybrid_state(self) -> bool:
        """True when some layers keep a fixed-size recurrent state (GDN / Mamba)."""
        return any(k in (LayerKind.LINEAR, LayerKind.MAMBA) for k in self.layers)
