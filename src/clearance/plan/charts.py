"""SVG charts of a plan (``clearance plan --charts`` and the dossier report): memory per GPU, and estimated
speed against concurrency. Drawn with the project's one chart technology, ``clearance.charts``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearance.charts import Series, Stack, line_chart, stacked_chart
from clearance.inert import visible
from clearance.plan.gpus import GIB

if TYPE_CHECKING:
    from clearance.plan.planner import PlanResult


def _title(result: PlanResult, what: str) -> str:
    return f"{visible(result.model)} on {result.gpus}× {result.gpu} (TP {result.tp}, {result.engine}): {what}"


def memory_chart(result: PlanResult) -> str:
    """Stacked bar of one GPU's memory: weights, runtime, activations, KV cache, unbudgeted rest (SVG)."""
    b = result.budget
    parts = [
        ("weights", b.weights_bytes),
        ("non-torch", b.non_torch_bytes),
        ("activation peak", b.activation_peak_bytes),
        ("CUDA graphs", b.cudagraph_bytes if b.cudagraph_in_budget else 0),
        ("KV cache / state", b.kv_cache_bytes),
        ("outside budget", max(b.usable_bytes - b.requested_bytes, 0)),
    ]
    stack = Stack(
        label=f"1× {result.gpu}",
        segments=[(name, v / GIB) for name, v in parts if v > 0],
        capacity=b.usable_bytes / GIB,
    )
    return stacked_chart([stack], unit="GiB", title=_title(result, "memory per GPU (GiB)"))


def concurrency_chart(result: PlanResult) -> str:
    """Aggregate and per-sequence decode tokens/s against concurrency, the memory limit marked (estimate)."""
    pts = result.performance.curve
    limit = result.max_concurrency
    return line_chart(
        [
            Series("aggregate tok/s", [(p.concurrency, p.aggregate_tokens_per_s) for p in pts]),
            Series("per-seq tok/s", [(p.concurrency, p.decode_tokens_per_s) for p in pts]),
        ],
        x_label="concurrent sequences",
        y_label="decode tokens/s (estimate)",
        title=_title(result, "estimated speed vs concurrency"),
        x_limit=(limit, f"memory limit {limit:.1f}") if limit > 0 else None,
    )


def ttft_chart(result: PlanResult) -> str:
    """Estimated time to first token against concurrency."""
    pts = result.performance.curve
    return line_chart(
        [Series("TTFT ms", [(p.concurrency, p.ttft_s * 1000) for p in pts])],
        x_label="concurrent sequences",
        y_label="TTFT ms (estimate)",
        title=_title(result, "estimated TTFT vs concurrency"),
    )


def render_charts(result: PlanResult) -> dict[str, str]:
    """The charts as SVG strings: ``{"memory": ..., "concurrency": ..., "ttft": ...}``."""
    return {
        "memory": memory_chart(result),
        "concurrency": concurrency_chart(result),
        "ttft": ttft_chart(result),
    }
