"""The report embeds the plan and cost boxes' own charts, and groups failing samples per suite."""

from __future__ import annotations

import base64
import re

from dossier_fixtures import make_input

from clearance.dossier import SampleView, render_report


def _box_results() -> dict[str, object]:
    from clearance.plan import PlanOptions, load_spec, plan
    from clearance.tco import CostOptions, Workload, estimate_cost, from_plan

    spec = load_spec("Qwen3.5-9B")
    chosen = plan(spec, PlanOptions(gpu="H100-SXM"))
    workload = Workload(requests_per_day=10_000)
    cost = estimate_cost(
        workload, CostOptions(gpu="H100-SXM", capacity=from_plan("Qwen3.5-9B", "H100-SXM", workload))
    )
    return {
        "plan": {
            "gpu": "H100-SXM",
            "assumptions": ["estimate, not measured"],
            "rows": [],
            "chosen": chosen.model_dump(mode="json"),
        },
        "cost": cost.model_dump(mode="json"),
    }


def _charts(html: str) -> list[str]:
    return [
        base64.b64decode(b).decode("utf-8")
        for b in re.findall(
            r'<img class="chart" alt="[^"]*" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html
        )
    ]


def test_plan_and_cost_charts_are_embedded_as_self_contained_svg() -> None:
    data = make_input()
    data = data.model_copy(update={"results": {**data.results, **_box_results()}})
    html = render_report(data)
    svgs = _charts(html)
    assert len(svgs) == 5, "memory, concurrency and TTFT (plan); cumulative cost and tornado (cost)"
    assert all("<svg" in s for s in svgs)
    assert any("memory per GPU" in s or "GiB per GPU" in s for s in svgs)
    assert "Cumulative cost per option (estimate)" in html and "Cost sensitivity (estimate)" in html
    # The cost section is a table of options in dollars, not a dump of facts.
    assert "Total over 3 years" in html and "(cheapest)" in html
    assert "estimate, not measured. estimate" not in html


def test_unreadable_box_records_leave_a_note_not_a_failed_report() -> None:
    data = make_input()
    broken = {"plan": {"rows": [], "chosen": {"model": "x"}}, "cost": {"gpu": 3}}
    html = render_report(data.model_copy(update={"results": {**data.results, **broken}}))
    assert "rejected" in html and _charts(html) == []
    assert "plan charts not drawn" in html and "cost details not shown" in html


def test_failing_samples_are_grouped_with_the_rest_collapsed_and_the_true_total() -> None:
    data = make_input()
    many = [
        SampleView(suite="safety-refusal", sample_id=f"harm-{i:03d}", prompt=f"p{i}", answer=f"a{i}")
        for i in range(12)
    ]
    results = {**data.results, "evals": {"safety-refusal": {"failing_samples": [f"x{i}" for i in range(40)]}}}
    html = render_report(data.model_copy(update={"failing_samples": many, "results": results}))
    assert "12 shown of 40 failing" in html
    details = html.index("7 more failing safety-refusal samples")
    assert html.index("harm-004") < details < html.index("harm-005")
