"""SVG charts of a cost report (``clearance cost --charts`` and the dossier report): cumulative cost by month
with break-even months marked, and a tornado of sensitivities. Drawn with ``clearance.charts``."""

from __future__ import annotations

from clearance.charts import Series, line_chart, tornado_chart
from clearance.tco.report import CostReport


def cumulative_cost_svg(report: CostReport) -> str:
    """Cumulative cash cost per option over the horizon's months, each on-prem break-even month marked."""
    months = range(12 * report.years + 1)
    series = [
        Series(opt.label, [(m, v / 1000) for m, v in zip(months, opt.cumulative_cash, strict=False)])
        for opt in report.options
    ]
    onprem = next((o for o in report.options if o.id == "onprem"), None)
    markers = [
        (be.month, onprem.cumulative_cash[be.month] / 1000, f"month {be.month}: break-even vs {be.b}")
        for be in report.break_even
        if be.a == "onprem" and onprem is not None and be.month is not None and be.month > 0
    ]
    return line_chart(
        series,
        x_label="month",
        y_label="cumulative cost (thousand USD, cash, undiscounted)",
        title=f"Cumulative cost over {report.years} years — estimate ({report.gpu})",
        markers=markers,
    )


def tornado_svg(report: CostReport, top: int = 12) -> str:
    """Tornado chart: the target metric at -X % and +X % of each input, widest bars on top."""
    rows = [r for r in report.sensitivity if r.swing > 0][:top]
    base = report.option(report.sensitivity_option).cost_per_mtok if rows else 0.0
    pct = round(report.sensitivity_pct * 100)
    return tornado_chart(
        [(r.input, r.metric_low, r.metric_high) for r in rows],
        base=base,
        x_label=f"{report.sensitivity_metric}; blue = input -{pct} %, red = input +{pct} %",
        title="Sensitivity (estimate)",
    )
