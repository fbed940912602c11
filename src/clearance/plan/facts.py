"""Facts the planner publishes (``PlanResult.policy_facts``): ``plan.*``, all estimates."""

from __future__ import annotations

from clearance.facts import FactSpec

FACTS = (
    FactSpec("plan.model", "text", "the planned model's name"),
    FactSpec("plan.gpu", "text", "the GPU the plan is for"),
    FactSpec("plan.gpus", "integer", "GPUs in the deployment", "GPUs"),
    FactSpec("plan.tp", "integer", "tensor-parallel degree", "GPUs"),
    FactSpec(
        "plan.engine", "text", "the serving engine whose memory budget is modelled (vllm, sglang, llama.cpp)"
    ),
    FactSpec(
        "plan.fits",
        "bool",
        "the engine starts and holds the requested concurrency at max_model_len (estimate)",
    ),
    FactSpec("plan.starts", "bool", "the engine starts: weights and fixed overheads fit (estimate)"),
    FactSpec("plan.max_model_len", "integer", "context length planned for", "tokens"),
    FactSpec("plan.concurrency", "integer", "concurrent sequences requested", "sequences"),
    FactSpec(
        "plan.max_concurrency",
        "number",
        "sequences of max_model_len that fit in the KV cache (estimate)",
        "sequences",
    ),
    FactSpec("plan.weights_bytes", "integer", "weights of the whole model", "bytes"),
    FactSpec("plan.weights_bytes_per_gpu", "integer", "weights held by each GPU", "bytes"),
    FactSpec("plan.kv_bytes_per_token", "integer", "KV cache per token per GPU (attention layers)", "bytes"),
    FactSpec(
        "plan.state_bytes_per_sequence",
        "integer",
        "fixed-size state per sequence per GPU (linear attention / SSM)",
        "bytes",
    ),
    FactSpec(
        "plan.kv_cache_bytes_per_gpu",
        "integer",
        "memory left for the KV cache on each GPU (estimate)",
        "bytes",
    ),
    FactSpec(
        "plan.kv_cache_tokens",
        "integer",
        "tokens the KV cache holds, the engine's own figure (estimate)",
        "tokens",
    ),
    FactSpec(
        "plan.decode_tokens_per_s",
        "number",
        "decode speed per sequence at the planned concurrency (estimate)",
        "tokens/s",
    ),
    FactSpec(
        "plan.aggregate_decode_tokens_per_s",
        "number",
        "decode speed of all sequences together (estimate)",
        "tokens/s",
    ),
    FactSpec("plan.ttft_s", "number", "time to first token (estimate)", "s"),
    FactSpec("plan.tpot_s", "number", "time per output token (estimate)", "s"),
)
