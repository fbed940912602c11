"""Small inline SVG charts, the one chart technology of every box and report (no JavaScript, no external resources, no plotting library)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096"]


@dataclass
class Bar:
    """One horizontal bar, optionally with a confidence interval and a threshold marker."""

    label: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    threshold: float | None = None
    bad: bool = False


@dataclass
class Stack:
    """One stacked bar: named segments against a capacity (e.g. bytes of GPU memory)."""

    label: str
    segments: list[tuple[str, float]] = field(default_factory=list)
    capacity: float | None = None


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _tick(v: float) -> str:
    """An axis tick: thousands with separators, not in exponent form."""
    return f"{v:,.0f}" if abs(v) >= 1000 else _fmt(v)


def bar_chart(bars: list[Bar], *, vmax: float | None = None, unit: str = "", title: str = "") -> str:
    """Horizontal bars with CI whiskers and dashed threshold lines; ``vmax`` fixes the scale (e.g. 1.0)."""
    if not bars:
        return ""
    label_w, plot_w, row_h, top = 330, 380, 26, 28 if title else 8
    top_val = vmax or max(max(b.value, b.ci_high or 0.0, b.threshold or 0.0) for b in bars) * 1.1 or 1.0
    height = top + row_h * len(bars) + 24
    x0 = label_w
    sx = plot_w / top_val
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 70}" height="{height}" '
        f'role="img" aria-label="{escape(title or "bar chart")}" font-family="sans-serif" font-size="12">'
    ]
    if title:
        out.append(f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>')
    for i, b in enumerate(bars):
        y = top + i * row_h
        color = "#c53030" if b.bad else PALETTE[0]
        w = max(0.0, min(b.value, top_val)) * sx
        out.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(b.label[:52])}</text>')
        out.append(f'<rect x="{x0}" y="{y + 4}" width="{w:.1f}" height="14" fill="{color}" opacity="0.85"/>')
        if b.ci_low is not None and b.ci_high is not None:
            lo, hi = x0 + b.ci_low * sx, x0 + min(b.ci_high, top_val) * sx
            out.append(
                f'<line x1="{lo:.1f}" y1="{y + 11}" x2="{hi:.1f}" y2="{y + 11}" stroke="#1a202c" stroke-width="1.5"/>'
            )
            for xx in (lo, hi):
                out.append(
                    f'<line x1="{xx:.1f}" y1="{y + 6}" x2="{xx:.1f}" y2="{y + 16}" stroke="#1a202c" stroke-width="1.5"/>'
                )
        if b.threshold is not None:
            tx = x0 + min(b.threshold, top_val) * sx
            out.append(
                f'<line x1="{tx:.1f}" y1="{y + 1}" x2="{tx:.1f}" y2="{y + 21}" stroke="#c53030" stroke-dasharray="3,2" stroke-width="2"/>'
            )
        out.append(f'<text x="{x0 + plot_w + 6}" y="{y + 15}">{_fmt(b.value)}{escape(unit)}</text>')
    axis_y = top + row_h * len(bars) + 4
    out.append(f'<line x1="{x0}" y1="{axis_y}" x2="{x0 + plot_w}" y2="{axis_y}" stroke="#a0aec0"/>')
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        xx = x0 + plot_w * frac
        out.append(
            f'<text x="{xx:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#4a5568" font-size="10">{_fmt(top_val * frac)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def stacked_chart(stacks: list[Stack], *, unit_div: float = 1.0, unit: str = "", title: str = "") -> str:
    """Horizontal stacked bars with a capacity marker per row and a legend of segment names."""
    if not stacks:
        return ""
    label_w, plot_w, row_h, top = 150, 420, 26, 28 if title else 8
    vmax = max(max(s.capacity or 0.0, sum(v for _, v in s.segments)) for s in stacks) or 1.0
    sx = plot_w / vmax
    names: list[str] = []
    for s in stacks:
        for n, _ in s.segments:
            if n not in names:
                names.append(n)
    color = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}
    height = top + row_h * len(stacks) + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 110}" height="{height}" '
        f'role="img" aria-label="{escape(title or "stacked chart")}" font-family="sans-serif" font-size="12">'
    ]
    if title:
        out.append(f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>')
    for i, s in enumerate(stacks):
        y = top + i * row_h
        out.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(s.label[:22])}</text>')
        x = float(label_w)
        for n, v in s.segments:
            w = max(0.0, v) * sx
            out.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="14" fill="{color[n]}"/>')
            x += w
        total = sum(v for _, v in s.segments)
        if s.capacity:
            cx = label_w + s.capacity * sx
            out.append(
                f'<line x1="{cx:.1f}" y1="{y + 1}" x2="{cx:.1f}" y2="{y + 21}" stroke="#1a202c" stroke-width="2"/>'
            )
        cap = f" / {_fmt(s.capacity / unit_div)}" if s.capacity else ""
        out.append(
            f'<text x="{label_w + plot_w + 6}" y="{y + 15}">{_fmt(total / unit_div)}{cap} {escape(unit)}</text>'
        )
    ly = top + row_h * len(stacks) + 18
    lx = float(label_w)
    for n in names:
        out.append(f'<rect x="{lx:.1f}" y="{ly - 10}" width="10" height="10" fill="{color[n]}"/>')
        out.append(f'<text x="{lx + 14:.1f}" y="{ly}">{escape(n)}</text>')
        lx += 24 + 7 * len(n)
    out.append(
        f'<line x1="{lx + 4:.1f}" y1="{ly - 11}" x2="{lx + 4:.1f}" y2="{ly + 1}" stroke="#1a202c" stroke-width="2"/>'
    )
    out.append(f'<text x="{lx + 10:.1f}" y="{ly}">capacity</text>')
    out.append("</svg>")
    return "".join(out)


@dataclass
class Series:
    """One line of a line chart: named ``(x, y)`` points, drawn in order."""

    name: str
    points: list[tuple[float, float]] = field(default_factory=list)


def line_chart(
    series: list[Series],
    *,
    x_label: str = "",
    y_label: str = "",
    title: str = "",
    y_limit: float | None = None,
    x_limit: tuple[float, str] | None = None,
    markers: Sequence[tuple[float, float, str]] = (),
) -> str:
    """Lines with dots over linear axes (latency against throughput, latency over time); ``y_limit`` a dashed
    SLO, ``x_limit`` a dashed vertical limit with its label, ``markers`` labelled points (break-even months)."""
    pts = [p for s in series for p in s.points]
    if not pts:
        return ""
    left, plot_w, plot_h, top = 64, 460, 220, 30 if title else 10
    xmax = max(x for x, _ in pts) * 1.05 or 1.0
    ymax = max([y for _, y in pts] + ([y_limit] if y_limit else [])) * 1.1 or 1.0
    sx, sy = plot_w / xmax, plot_h / ymax
    width, height = left + plot_w + 230, top + plot_h + 44

    def px(x: float, y: float) -> str:
        return f"{left + x * sx:.1f},{top + plot_h - y * sy:.1f}"

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title or "line chart")}" font-family="sans-serif" font-size="12">'
    ]
    if title:
        out.append(f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>')
    out.append(
        f'<polyline points="{left},{top} {left},{top + plot_h} {left + plot_w},{top + plot_h}" '
        'fill="none" stroke="#1a202c"/>'
    )
    for k in range(5):
        xv, yv = xmax * k / 4, ymax * k / 4
        out.append(
            f'<text x="{left + xv * sx:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{_tick(xv)}</text>'
        )
        out.append(
            f'<text x="{left - 6}" y="{top + plot_h - yv * sy + 4:.1f}" text-anchor="end">{_tick(yv)}</text>'
        )
    out.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{top + plot_h + 36}" text-anchor="middle">{escape(x_label)}</text>'
    )
    out.append(f'<text x="{left + 4}" y="{top + 12}">{escape(y_label)}</text>')
    if y_limit:
        y = top + plot_h - y_limit * sy
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#c53030" stroke-dasharray="4 3"/>'
        )
        out.append(f'<text x="{left + plot_w + 4}" y="{y + 4:.1f}" fill="#c53030">SLO</text>')
    if x_limit is not None and 0 < x_limit[0] <= xmax:
        x = left + x_limit[0] * sx
        out.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#c53030" stroke-dasharray="2 3"/>'
        )
        out.append(f'<text x="{x + 3:.1f}" y="{top + plot_h - 8}" fill="#c53030">{escape(x_limit[1])}</text>')
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        if len(s.points) > 1:
            line = " ".join(px(x, y) for x, y in s.points)
            out.append(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in s.points if len(s.points) <= 40 else ():  # dense series (months) read better as lines
            cx, cy = px(x, y).split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{color}"/>')
        out.append(
            f'<rect x="{left + plot_w + 24}" y="{top + 8 + i * 18}" width="10" height="10" fill="{color}"/>'
        )
        out.append(f'<text x="{left + plot_w + 38}" y="{top + 17 + i * 18}">{escape(s.name[:30])}</text>')
    # markers: a numbered dot on the line, its label listed under the legend (near dots never overprint)
    for k, (x, y, label) in enumerate(markers, start=1):
        cx, cy = px(x, y).split(",")
        out.append(f'<circle cx="{cx}" cy="{cy}" r="4" fill="#1a202c"/>')
        out.append(f'<text x="{float(cx) - 3:.1f}" y="{float(cy) - 7:.1f}" font-size="10">{k}</text>')
        ly = top + 17 + (len(series) + k) * 16
        out.append(f'<text x="{left + plot_w + 24}" y="{ly}" font-size="10">{k}: {escape(label[:48])}</text>')
    out.append("</svg>")
    return "".join(out)


def tornado_chart(
    rows: list[tuple[str, float, float]], *, base: float, x_label: str = "", title: str = ""
) -> str:
    """Sensitivity: per input, the metric at its low (blue) and high (red) value around ``base``, widest first."""
    if not rows:
        return ""
    label_w, plot_w, row_h, top = 230, 420, 22, 28 if title else 8
    lo = min([base] + [min(a, b) for _, a, b in rows])
    hi = max([base] + [max(a, b) for _, a, b in rows])
    span = (hi - lo) or 1.0
    sx = plot_w / span
    bx = label_w + (base - lo) * sx
    height = top + row_h * len(rows) + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 70}" height="{height}" '
        f'role="img" aria-label="{escape(title or "tornado chart")}" font-family="sans-serif" font-size="12">'
    ]
    if title:
        out.append(f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>')
    for i, (name, low, high) in enumerate(rows):
        y = top + i * row_h
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(name[:34])}</text>')
        for value, color in ((low, "#2b6cb0"), (high, "#c53030")):
            x = label_w + (value - lo) * sx
            out.append(
                f'<rect x="{min(x, bx):.1f}" y="{y + 3}" width="{abs(x - bx):.1f}" height="14" fill="{color}" '
                'opacity="0.85"/>'
            )
    axis_y = top + row_h * len(rows) + 4
    out.append(f'<line x1="{bx:.1f}" y1="{top}" x2="{bx:.1f}" y2="{axis_y}" stroke="#1a202c"/>')
    for frac in (0.0, 0.5, 1.0):
        out.append(
            f'<text x="{label_w + plot_w * frac:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#4a5568" '
            f'font-size="10">{_fmt(lo + span * frac)}</text>'
        )
    out.append(f'<text x="{label_w}" y="{axis_y + 30}">{escape(x_label)}</text>')
    out.append("</svg>")
    return "".join(out)


@dataclass
class Estimate:
    """One difference with its interval (a row of a forest plot); ``tone`` colours it."""

    label: str
    value: float
    ci_low: float
    ci_high: float
    tone: str = "neutral"  # "bad" (red), "good" (green) or "neutral" (grey)


_TONES = {"bad": "#c53030", "good": "#2f855a", "neutral": "#4a5568"}


def forest_chart(rows: list[Estimate], *, x_label: str = "", title: str = "") -> str:
    """Differences as points with interval whiskers around a zero line (a forest plot), one row each."""
    if not rows:
        return ""
    label_w, plot_w, row_h, top = 300, 400, 24, 28 if title else 8
    lo = min([0.0] + [r.ci_low for r in rows] + [r.value for r in rows])
    hi = max([0.0] + [r.ci_high for r in rows] + [r.value for r in rows])
    pad = (hi - lo) * 0.05 or 0.05
    lo, hi = lo - pad, hi + pad
    sx = plot_w / (hi - lo)

    def x(v: float) -> float:
        return label_w + (v - lo) * sx

    height = top + row_h * len(rows) + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 80}" height="{height}" '
        f'role="img" aria-label="{escape(title or "differences with intervals")}" font-family="sans-serif" '
        'font-size="12">'
    ]
    if title:
        out.append(f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>')
    axis_y = top + row_h * len(rows) + 4
    out.append(f'<line x1="{x(0.0):.1f}" y1="{top}" x2="{x(0.0):.1f}" y2="{axis_y}" stroke="#a0aec0"/>')
    for i, r in enumerate(rows):
        y = top + i * row_h + 12
        color = _TONES.get(r.tone, _TONES["neutral"])
        out.append(f'<text x="{label_w - 8}" y="{y + 4}" text-anchor="end">{escape(r.label[:46])}</text>')
        out.append(
            f'<line x1="{x(r.ci_low):.1f}" y1="{y}" x2="{x(r.ci_high):.1f}" y2="{y}" stroke="{color}" '
            'stroke-width="2"/>'
        )
        out.append(f'<circle cx="{x(r.value):.1f}" cy="{y}" r="4" fill="{color}"/>')
        out.append(f'<text x="{label_w + plot_w + 6}" y="{y + 4}">{r.value:+.3g}</text>')
    for frac in (0.0, 0.5, 1.0):
        out.append(
            f'<text x="{label_w + plot_w * frac:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#4a5568" '
            f'font-size="10">{lo + (hi - lo) * frac:+.3g}</text>'
        )
    out.append(f'<text x="{label_w}" y="{axis_y + 30}">{escape(x_label)}</text>')
    out.append("</svg>")
    return "".join(out)
