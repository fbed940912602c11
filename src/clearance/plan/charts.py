"""SVG charts of a plan for the dossier report: memory breakdown per GPU, and speed against concurrency.

matplotlib is imported lazily with the Agg backend; each chart is returned as a self-contained SVG string.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from clearance.inert import visible
from clearance.plan.gpus import GIB

if TYPE_CHECKING:
    from clearance.plan.planner import PlanResult


def _label(text: object) -> str:
    """A model-controlled string as chart text: control characters made visible, ``$`` not mathtext."""
    return visible(text).replace("$", r"\$")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "clearance"  # deterministic element ids
    return plt


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    return buf.getvalue()


def memory_chart(result: PlanResult) -> str:
    """Stacked bar of one GPU's memory: weights, runtime, activations, KV cache, unbudgeted rest (SVG)."""
    plt = _pyplot()
    b = result.budget
    parts = [
        ("weights", b.weights_bytes, "#4c72b0"),
        ("non-torch", b.non_torch_bytes, "#8172b2"),
        ("activation peak", b.activation_peak_bytes, "#dd8452"),
        ("CUDA graphs", b.cudagraph_bytes if b.cudagraph_in_budget else 0, "#937860"),
        ("KV cache / state", b.kv_cache_bytes, "#55a868"),
        ("outside budget", max(b.usable_bytes - b.requested_bytes, 0), "#cccccc"),
    ]
    fig, ax = plt.subplots(figsize=(7, 1.9))
    left = 0.0
    for label, val, color in parts:
        gib = val / GIB
        if gib <= 0:
            continue
        ax.barh([0], [gib], left=left, color=color, label=f"{label} {gib:.1f} GiB")
        left += gib
    ax.set_yticks([])
    ax.set_xlabel("GiB per GPU")
    ax.set_title(
        f"{_label(result.model)} on {result.gpus}× {result.gpu} (TP {result.tp}, {result.engine}): memory per GPU"
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize=8, frameon=False)
    return _svg(fig)


def concurrency_chart(result: PlanResult) -> str:
    """Per-sequence and aggregate decode tokens/s and TTFT against concurrency (estimate, SVG)."""
    plt = _pyplot()
    pts = result.performance.curve
    xs = [p.concurrency for p in pts]
    fig, ax1 = plt.subplots(figsize=(7, 3.2))
    ax1.plot(
        xs, [p.aggregate_tokens_per_s for p in pts], marker="o", color="#4c72b0", label="aggregate tok/s"
    )
    ax1.plot(
        xs, [p.decode_tokens_per_s for p in pts], marker="s", color="#55a868", label="per-sequence tok/s"
    )
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("concurrent sequences")
    ax1.set_ylabel("decode tokens/s (estimate)")
    ax2 = ax1.twinx()
    ax2.plot(xs, [p.ttft_s * 1000 for p in pts], linestyle="--", color="#dd8452", label="TTFT ms")
    ax2.set_ylabel("TTFT ms (estimate)")
    limit = result.max_concurrency
    if 0 < limit < max(xs):
        ax1.axvline(limit, color="#c44e52", linestyle=":", label=f"memory limit {limit:.1f}")
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
    ax1.set_title(f"{_label(result.model)} on {result.gpus}× {result.gpu}: estimated speed vs concurrency")
    return _svg(fig)


def render_charts(result: PlanResult) -> dict[str, str]:
    """Both charts as SVG strings: ``{"memory": ..., "concurrency": ...}``."""
    return {"memory": memory_chart(result), "concurrency": concurrency_chart(result)}
