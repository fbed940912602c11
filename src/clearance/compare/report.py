"""The self-contained comparison report (``compare.html``): inline CSS and SVG, no scripts, no external
resources — the same chart technology as the dossier report (``clearance.charts``)."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from clearance.charts import PALETTE, Bar, bar_chart
from clearance.compare.recommend import CompareReport
from clearance.inert import strip_control


def _clean(text: Any) -> str:
    """Text without control, bidi-override or invisible characters (names and reasons may come from a
    model or a file); HTML escaping is Jinja's."""
    return strip_control("" if text is None else str(text))


def _num(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}g}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _usd(v: Any) -> str:
    if not isinstance(v, int | float) or not math.isfinite(v):
        return "—"
    return f"${v:,.0f}" if abs(v) >= 100 else f"${v:,.3f}"


def scatter_chart(
    points: list[tuple[str, float, float, bool]], *, x_label: str, y_label: str, title: str
) -> str:
    """Candidates as labelled points (x lower is better, y higher is better); frontier points filled
    and joined by a line."""
    if not points:
        return ""
    w, h, left, top, bottom, right = 620, 300, 60, 28, 40, 150
    xs = [p[1] for p in points]
    ys = [p[2] for p in points]
    x0, x1 = 0.0, max(xs) * 1.15 or 1.0
    y0, y1 = max(0.0, min(ys) - 0.1), min(1.0, max(ys) + 0.05) if max(ys) <= 1 else max(ys) * 1.1
    if y1 <= y0:
        y1 = y0 + 0.1

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (w - left - right)

    def sy(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * (h - top - bottom)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
        f'aria-label="{escape(title)}" font-family="sans-serif" font-size="12">',
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="#a0aec0"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#a0aec0"/>',
        f'<text x="{(left + w - right) / 2:.0f}" y="{h - 6}" text-anchor="middle" fill="#4a5568">{escape(x_label)}</text>',
        f'<text x="12" y="{(top + h - bottom) / 2:.0f}" transform="rotate(-90 12 {(top + h - bottom) / 2:.0f})" '
        f'text-anchor="middle" fill="#4a5568">{escape(y_label)}</text>',
    ]
    for frac in (0.0, 0.5, 1.0):
        xv = x0 + (x1 - x0) * frac
        yv = y0 + (y1 - y0) * frac
        out.append(
            f'<text x="{sx(xv):.1f}" y="{h - bottom + 14}" text-anchor="middle" font-size="10">{xv:.3g}</text>'
        )
        out.append(
            f'<text x="{left - 4}" y="{sy(yv) + 4:.1f}" text-anchor="end" font-size="10">{yv:.3g}</text>'
        )
    front = sorted((p for p in points if p[3]), key=lambda p: p[1])
    if len(front) > 1:
        path = " ".join(f"{sx(p[1]):.1f},{sy(p[2]):.1f}" for p in front)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{PALETTE[2]}" stroke-width="2" stroke-dasharray="4,3"/>'
        )
    used: list[tuple[float, float]] = []
    for i, (label, x, y, on) in enumerate(points):
        color = PALETTE[i % len(PALETTE)]
        fill = color if on else "white"
        px, py = sx(x), sy(y)
        out.append(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="6" fill="{fill}" stroke="{color}" stroke-width="2"/>'
        )
        ly = py + 4
        while any(abs(ly - uy) < 13 and abs(px - ux) < 120 for ux, uy in used):
            ly += 14  # candidates at the same point: labels stacked, not overprinted
        used.append((px, ly))
        out.append(f'<text x="{px + 9:.1f}" y="{ly:.1f}" fill="{color}">{escape(_clean(label)[:28])}</text>')
    out.append("</svg>")
    return "".join(out)


def charts(report: CompareReport) -> dict[str, str]:
    """The report's SVG charts: cost per candidate, and the two Pareto views (when quality is measured)."""
    out: dict[str, str] = {}
    bars = [
        Bar(
            label=f"{_clean(c.name)} ({c.best.gpus_total}×{c.best.gpu})",
            value=c.best.cost_per_mtok or 0.0,
            bad=not c.meets_slo,
        )
        for c in report.candidates
        if c.best is not None and c.best.cost_per_mtok is not None
    ]
    if bars:
        out["cost"] = bar_chart(
            bars, unit=" $/Mtok", title="Cost per million tokens at the workload (red: SLO not met)"
        )
    qc = [
        (c.name, c.best.cost_per_mtok, c.quality_index(), c.on_frontier_cost)
        for c in report.candidates
        if c.best is not None and c.best.cost_per_mtok is not None and c.quality_index() is not None
    ]
    if qc:
        out["pareto_cost"] = scatter_chart(
            [(n, float(x), float(q), f) for n, x, q, f in qc if x is not None and q is not None],
            x_label="$ per million tokens",
            y_label="quality index",
            title="Quality against cost (filled: Pareto frontier)",
        )
    ql = [
        (c.name, c.best.e2e_s, c.quality_index(), c.on_frontier_latency)
        for c in report.candidates
        if c.best is not None and c.best.e2e_s is not None and c.quality_index() is not None
    ]
    if ql:
        out["pareto_latency"] = scatter_chart(
            [(n, float(x), float(q), f) for n, x, q, f in ql if x is not None and q is not None],
            x_label="end-to-end latency, s",
            y_label="quality index",
            title="Quality against latency (filled: Pareto frontier)",
        )
    return out


def render_compare_html(report: CompareReport) -> str:
    """The comparison report as one HTML document."""
    env = Environment(
        loader=PackageLoader("clearance.compare", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clean"] = _clean
    env.filters["num"] = _num
    env.filters["usd"] = _usd
    svg = {k: Markup(v) for k, v in charts(report).items()}
    facts: list[str] = []
    for c in report.candidates:
        facts += [m.fact for m in c.gated_metrics if m.fact not in facts]
    return env.get_template("compare.html.j2").render(r=report, charts=svg, gated_facts=facts)
