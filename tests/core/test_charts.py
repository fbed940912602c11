"""The forest plot of differences: points at their values, whiskers over their intervals, a zero line,
colours by verdict, and labels kept as text."""

from __future__ import annotations

import re

from clearance.charts import Estimate, forest_chart


def test_forest_chart_places_points_and_intervals_around_zero() -> None:
    svg = forest_chart(
        [
            Estimate("accuracy", -0.2, -0.3, -0.1, "bad"),
            Estimate("refusal <b>rate</b>", 0.1, -0.05, 0.25, "neutral"),
        ],
        x_label="Δ",
    )
    circles = re.findall(r'<circle cx="([0-9.]+)" cy="[0-9.]+" r="4" fill="(#[0-9a-f]+)"', svg)
    assert [c for _, c in circles] == ["#c53030", "#4a5568"]
    zero = float(re.search(r'<line x1="([0-9.]+)" y1="\d+" x2="\1"', svg).group(1))  # type: ignore[union-attr]
    assert float(circles[0][0]) < zero < float(circles[1][0])  # -0.2 left of zero, +0.1 right of it
    assert "refusal &lt;b&gt;rate&lt;/b&gt;" in svg and "<b>" not in svg


def test_forest_chart_of_nothing_is_empty() -> None:
    assert forest_chart([]) == ""
