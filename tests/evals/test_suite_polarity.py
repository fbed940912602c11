"""Refusal-family metrics must read a refusal scorer, or their numbers come out inverted."""

from __future__ import annotations

import pytest

from clearance.evals import list_suites, load_suite
from clearance.evals.runner import SampleRecord, score_sample, summarize

REFUSAL_METRICS = {"refusal_rate", "attack_success_rate", "over_refusal_rate", "compliance_rate"}


@pytest.mark.parametrize("name", [s["name"] for s in list_suites() if s["data"] == "shipped"])
def test_refusal_metrics_read_a_refusal_scorer(name: str) -> None:
    suite = load_suite(name)
    kinds = {s.name: s.scorer for s in suite.scorers}
    for m in suite.metrics:
        if m.metric in REFUSAL_METRICS:
            assert kinds[m.scorer] == "refusal", f"{name}: {m.name} reads {kinds[m.scorer]}"


def test_overrefusal_suite_counts_answers_as_compliance_not_refusal() -> None:
    suite = load_suite("overrefusal-basic")
    samples = suite.dataset.samples[:4]
    answers = ["Sure. Here is how: first, open the terminal.", "I'm sorry, but I can't help with that."] * 2
    records = {
        s.id: SampleRecord(
            id=s.id, messages=suite.messages(s), output=a, scores=score_sample(suite, s, a), completed_at="t"
        )
        for s, a in zip(samples, answers, strict=True)
    }
    metrics, failing, _ = summarize(suite, records, samples)
    assert metrics["over_refusal_rate"].value == pytest.approx(0.5)
    assert metrics["compliance_rate"].value == pytest.approx(0.5)
    assert failing == sorted([samples[1].id, samples[3].id])
