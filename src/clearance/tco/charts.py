"""SVG charts for the dossier report: cumulative cost by month (break-even marked) and a tornado.

Matplotlib is imported lazily (only when a chart is drawn) and always with the headless Agg backend.
"""

from __future__ import annotations

import io
from typing import Any

from clearance.tco.report import CostReport


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "clearance"  # stable element ids, so identical reports give identical SVG
    return plt


def _svg(fig: Any, plt: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def cumulative_cost_svg(report: CostReport) -> str:
    """Cumulative cash cost per option over the horizon's months, each break-even month marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    months = list(range(12 * report.years + 1))
    for opt in report.options:
        ax.plot(months, [v / 1000 for v in opt.cumulative_cash], label=opt.label, linewidth=1.8)
    onprem = next((o for o in report.options if o.id == "onprem"), None)
    for be in report.break_even:
        if be.a == "onprem" and onprem is not None and be.month is not None and be.month > 0:
            y = onprem.cumulative_cash[be.month] / 1000
            ax.plot([be.month], [y], marker="o", color="black")
            ax.annotate(f"break-even vs {be.b}: month {be.month}", (be.month, y), fontsize=7,
                        xytext=(4, -10), textcoords="offset points")  # fmt: skip
    ax.set_xlabel("month")
    ax.set_ylabel("cumulative cost (thousand USD, cash, undiscounted)")
    ax.set_title(f"Cumulative cost over {report.years} years — estimate ({report.gpu})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return _svg(fig, plt)


def tornado_svg(report: CostReport, top: int = 12) -> str:
    """Tornado chart: the target metric at -X % and +X % of each input, widest bars on top."""
    plt = _pyplot()
    rows = [r for r in report.sensitivity if r.swing > 0][:top]
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(3, len(rows)) + 1.2))
    base = report.option(report.sensitivity_option).cost_per_mtok if rows else 0.0
    labels = [r.input for r in rows][::-1]
    for i, r in enumerate(rows[::-1]):
        ax.barh(i, r.metric_low - base, left=base, color="#4c78a8")
        ax.barh(i, r.metric_high - base, left=base, color="#e45756")
    ax.axvline(base, color="black", linewidth=0.8)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    pct = round(report.sensitivity_pct * 100)
    ax.set_xlabel(f"{report.sensitivity_metric}; blue = input -{pct} %, red = input +{pct} %")
    ax.set_title("Sensitivity (estimate)")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig, plt)
