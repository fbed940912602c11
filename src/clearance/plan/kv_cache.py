"""Per-layer serving memory, one spec class per kind of layer memory (vLLM ``kv_cache_interface.py`` style).

Every spec is *per GPU*: heads are already divided by the tensor-parallel degree (and replicated when the
degree exceeds the KV heads). ``page_size_bytes`` is the memory of one block of ``block_size`` tokens of one
layer; ``max_memory_usage_bytes`` is what one request of ``max_model_len`` tokens can pin in that layer.

Formulas (vLLM v1, ``vllm/v1/kv_cache_interface.py``):

- ``FullAttentionSpec``: page = block_size × kv_heads × (head_size + head_size_v) × dtype bytes;
  usage = cdiv(max_model_len, block_size) × page.
- ``SlidingWindowSpec``: same page; usage = (cdiv(min(window − 1 + max_num_batched_tokens, max_model_len),
  block_size) + 1) × page.
- ``MLASpec``: page = block_size × 1 × (kv_lora_rank + qk_rope_head_dim) × dtype bytes (no separate V; the
  latent is not split by TP); ``fp8_ds_mla`` stores 656 bytes per token.
- ``MambaSpec`` (Gated DeltaNet, Mamba2): page = Σ prod(state shape) × dtype, independent of length;
  usage = page × (1 + speculative tokens) in cache mode "none", page × (2 + speculative tokens) in "align"
  (prefix caching on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from clearance.errors import InputError
from clearance.plan.spec import DTYPE_BYTES, LayerKind, ModelSpec


def cdiv(a: int, b: int) -> int:
    """Ceiling division."""
    return -(-a // b)


@dataclass(frozen=True)
class FullAttentionSpec:
    """Full (global) softmax attention: K and V for every token of the sequence."""

    block_size: int
    num_kv_heads: int
    head_size: int
    head_size_v: int
    dtype_bytes: float

    @property
    def bytes_per_token(self) -> float:
        """K+V bytes per token in this layer on one GPU."""
        return self.num_kv_heads * (self.head_size + self.head_size_v) * self.dtype_bytes

    @property
    def page_size_bytes(self) -> int:
        """Bytes of one block (``block_size`` tokens) of this layer."""
        return math.ceil(self.block_size * self.bytes_per_token)

    def max_memory_usage_bytes(self, max_model_len: int, max_num_batched_tokens: int) -> int:
        """Bytes one request of ``max_model_len`` tokens can pin in this layer."""
        return cdiv(max_model_len, self.block_size) * self.page_size_bytes

    def with_block_size(self, block_size: int) -> FullAttentionSpec:
        """The same spec with another block size (vLLM hybrid page alignment)."""
        return replace(self, block_size=block_size)


@dataclass(frozen=True)
class SlidingWindowSpec(FullAttentionSpec):
    """Sliding-window attention: only the last ``sliding_window`` tokens are kept (plus one block)."""

    sliding_window: int = 0

    def max_memory_usage_bytes(self, max_model_len: int, max_num_batched_tokens: int) -> int:
        """vLLM: (cdiv(min(window − 1 + max_num_batched_tokens, max_model_len), block) + 1) × page."""
        tokens = min(self.sliding_window - 1 + max_num_batched_tokens, max_model_len)
        return (cdiv(tokens, self.block_size) + 1) * self.page_size_bytes


@dataclass(frozen=True)
class ChunkedLocalAttentionSpec(FullAttentionSpec):
    """Chunked local attention (Llama-4): tokens attend within their chunk of ``attention_chunk_size``."""

    attention_chunk_size: int = 0

    def max_memory_usage_bytes(self, max_model_len: int, max_num_batched_tokens: int) -> int:
        """vLLM: cdiv(min(chunk + max_num_batched_tokens, max_model_len), block) × page."""
        tokens = min(self.attention_chunk_size + max_num_batched_tokens, max_model_len)
        return cdiv(tokens, self.block_size) * self.page_size_bytes

    @property
    def sliding_window(self) -> int:
        """The span of tokens kept per sequence (for per-sequence sizing)."""
        return self.attention_chunk_size


@dataclass(frozen=True)
class MLASpec(FullAttentionSpec):
    """Multi-head latent attention: one latent (+rope key) per token, replicated on every TP rank."""

    fp8_ds_mla: bool = False

    @property
    def bytes_per_token(self) -> float:
        """Latent bytes per token: (kv_lora_rank + rope dim) × dtype, or 656 bytes for ``fp8_ds_mla``."""
        if self.fp8_ds_mla:
            return 656.0
        return self.num_kv_heads * self.head_size * self.dtype_bytes


@dataclass(frozen=True)
class MambaSpec:
    """Fixed-size recurrent state per sequence (Gated DeltaNet / Mamba2): conv state + SSM state."""

    shapes: tuple[tuple[int, ...], ...]
    dtype_bytes: tuple[float, ...]
    block_size: int = 16
    page_size_padded: int | None = None
    num_speculative_blocks: int = 0
    cache_mode: str = "none"  # "align" when prefix caching is on (vLLM mamba_cache_mode)

    @property
    def state_bytes(self) -> int:
        """Bytes of one sequence's state in this layer (unpadded)."""
        total = 0.0
        for shape, b in zip(self.shapes, self.dtype_bytes, strict=True):
            total += math.prod(shape) * b
        return int(total)

    @property
    def bytes_per_token(self) -> float:
        """State does not grow with tokens."""
        return 0.0

    @property
    def page_size_bytes(self) -> int:
        """One state slot, padded to the attention page when vLLM unified the page sizes."""
        return self.page_size_padded if self.page_size_padded is not None else self.state_bytes

    def max_memory_usage_bytes(self, max_model_len: int, max_num_batched_tokens: int) -> int:
        """One slot per request in mode "none", two in "align" (prefix caching), + one per speculative token."""
        return self.page_size_bytes * ((2 if self.cache_mode == "align" else 1) + self.num_speculative_blocks)

    def with_block_size(self, block_size: int) -> MambaSpec:
        """The same spec with the attention block size recorded."""
        return replace(self, block_size=block_size)


LayerSpec = FullAttentionSpec | MambaSpec


def kv_dtype_bytes(spec: ModelSpec, kv_dtype: str | None) -> tuple[str, float]:
    """Resolve ``--kv-cache-dtype`` (``auto`` = the checkpoint's KV dtype, else the model dtype)."""
    name = (kv_dtype or "auto").lower()
    if name == "auto":
        if spec.quant.kv_cache_dtype:
            name = spec.quant.kv_cache_dtype
        else:
            name = spec.dtype if DTYPE_BYTES.get(spec.dtype, 2) <= 2 else "bfloat16"
    if name == "fp8_ds_mla":
        return name, 1.0
    if name not in DTYPE_BYTES:
        raise InputError(
            f"[kv_dtype] unknown KV cache dtype {kv_dtype!r}; use auto, bf16, fp16, fp8, fp8_e4m3, fp8_e5m2, fp8_ds_mla, q8_0 or q4_0",
            param="kv_dtype",
        )
    return name, DTYPE_BYTES[name]


def kv_heads_per_gpu(num_kv_heads: int, tp: int) -> int:
    """KV heads one GPU holds: heads/TP, but at least one (heads are replicated when TP > KV heads)."""
    return max(1, num_kv_heads // tp) if num_kv_heads >= tp else 1


def layer_specs(
    spec: ModelSpec,
    *,
    tp: int = 1,
    kv_dtype: str | None = None,
    block_size: int = 16,
    state_dtype: str | None = None,
) -> list[LayerSpec]:
    """One per-GPU memory spec per decoder layer, in layer order."""
    kv_name, kv_bytes = kv_dtype_bytes(spec, kv_dtype)
    out: list[LayerSpec] = []
    a, mla, lin = spec.attention, spec.mla, spec.linear
    for i, kind in enumerate(spec.layers):
        if kind == LayerKind.NONE:
            continue
        if kind in (LayerKind.FULL, LayerKind.SLIDING, LayerKind.CHUNKED):
            if a is None:
                raise InputError(f"{spec.name}: layer {i} is attention but the spec has no attention shape")
            heads = kv_heads_per_gpu(a.num_kv_heads, tp)
            if kind == LayerKind.CHUNKED:
                out.append(
                    ChunkedLocalAttentionSpec(
                        block_size,
                        heads,
                        a.head_dim,
                        a.head_dim_v,
                        kv_bytes,
                        attention_chunk_size=a.attention_chunk_size or 0,
                    )
                )
            elif kind == LayerKind.SLIDING:
                out.append(
                    SlidingWindowSpec(
                        block_size,
                        heads,
                        a.head_dim,
                        a.head_dim_v,
                        kv_bytes,
                        sliding_window=a.sliding_window or 0,
                    )
                )
            else:
                out.append(FullAttentionSpec(block_size, heads, a.head_dim, a.head_dim_v, kv_bytes))
        elif kind == LayerKind.MLA:
            if mla is None:
                raise InputError(f"{spec.name}: layer {i} is MLA but the spec has no MLA shape")
            out.append(
                MLASpec(block_size, 1, mla.latent_dim, 0, kv_bytes, fp8_ds_mla=kv_name == "fp8_ds_mla")
            )
        elif kind in (LayerKind.LINEAR, LayerKind.MAMBA):
            if lin is None:
                raise InputError(
                    f"{spec.name}: layer {i} keeps recurrent state but the spec has no state shape"
                )
            sdt = DTYPE_BYTES.get(state_dtype or lin.state_dtype, 4)
            cdt = DTYPE_BYTES.get(lin.conv_dtype, 2)
            if lin.kind == "mamba2":
                heads = max(1, lin.num_v_heads // tp)
                conv = (lin.conv_dim // tp, lin.conv_kernel - 1)
                ssm: tuple[int, ...] = (heads, lin.head_v_dim, lin.d_state)
            else:  # vLLM MambaStateShapeCalculator.gated_delta_net_state_shape
                conv = (lin.conv_dim // tp, lin.conv_kernel - 1)
                ssm = (max(1, lin.num_v_heads // tp), lin.head_k_dim, lin.head_v_dim)
            out.append(MambaSpec(shapes=(conv, ssm), dtype_bytes=(cdt, sdt), block_size=block_size))
        else:  # pragma: no cover - LayerKind is closed
            raise InputError(f"{spec.name}: unknown layer kind {kind!r} at layer {i}")
    return out


def kv_bytes_per_token(specs: list[LayerSpec]) -> float:
    """KV bytes per token per GPU over attention layers (sliding layers counted at full rate)."""
    return sum(s.bytes_per_token for s in specs if not isinstance(s, MambaSpec))


def kv_bytes_per_token_full(specs: list[LayerSpec]) -> float:
    """KV bytes per token per GPU over layers whose cache grows with the whole context (full + MLA)."""
    return sum(
        s.bytes_per_token
        for s in specs
        if not isinstance(s, MambaSpec | SlidingWindowSpec | ChunkedLocalAttentionSpec)
    )


def state_bytes_per_sequence(specs: list[LayerSpec]) -> int:
    """Fixed-size recurrent state per sequence per GPU (0 when the model has no GDN/Mamba layers)."""
    return sum(s.state_bytes for s in specs if isinstance(s, MambaSpec))


def sliding_bytes_per_sequence(specs: list[LayerSpec], max_model_len: int) -> int:
    """Bytes per sequence of sliding-window layers at full length (window-capped, no block rounding)."""
    total = 0.0
    for s in specs:
        if isinstance(s, SlidingWindowSpec | ChunkedLocalAttentionSpec):
            total += min(s.sliding_window, max_model_len) * s.bytes_per_token
    return int(total)
