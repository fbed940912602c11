"""Choose between candidates and catch regressions: paired tests on shared samples, sizing and cost for
a workload, Pareto frontiers and a recommendation with its rule.

Public surface: ``compare_candidates(refs, workload, ...) -> CompareReport``, ``diff_dossiers(a, b) ->
DiffReport``, ``compare_runs(a, b) -> Comparison`` over ``read_dossier(path) -> RunEvidence``,
``baseline_facts(...)`` for baseline-relative policy gates, and ``render_compare_html(report)``.
Names are imported on first use, so a stage that needs only ``compare.baseline`` does not pay for the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearance.lazy import lazy_names

_WHERE = {
    "RULE": "recommend",
    "Candidate": "candidates",
    "CompareReport": "recommend",
    "Comparison": "differences",
    "DiffReport": "diff",
    "GatedMetric": "candidates",
    "MetricDifference": "differences",
    "Recommendation": "recommend",
    "RunEvidence": "evidence",
    "Sizing": "sizing",
    "compare_candidates": "recommend",
    "compare_runs": "differences",
    "diff_dossiers": "diff",
    "read_dossier": "evidence",
    "render_compare_html": "report",
}

if TYPE_CHECKING:
    from clearance.compare.candidates import Candidate, GatedMetric
    from clearance.compare.diff import DiffReport, diff_dossiers
    from clearance.compare.differences import Comparison, MetricDifference, compare_runs
    from clearance.compare.evidence import RunEvidence, read_dossier
    from clearance.compare.recommend import RULE, CompareReport, Recommendation, compare_candidates
    from clearance.compare.report import render_compare_html
    from clearance.compare.sizing import Sizing


__getattr__ = lazy_names(__name__, _WHERE)


__all__ = [
    "RULE",
    "Candidate",
    "CompareReport",
    "Comparison",
    "DiffReport",
    "GatedMetric",
    "MetricDifference",
    "Recommendation",
    "RunEvidence",
    "Sizing",
    "compare_candidates",
    "compare_runs",
    "diff_dossiers",
    "read_dossier",
    "render_compare_html",
]
