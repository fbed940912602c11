"""The classifiers' measured precision/recall/F1: recomputed from the labelled answers, equal to what ships."""

from __future__ import annotations

import json

from clearance.evals.accuracy import per_class, shipped_accuracy
from evals.measure_classifiers import OUT, measure_all, render


def test_shipped_figures_equal_a_fresh_measurement() -> None:
    assert OUT.read_text(encoding="utf-8") == render()
    assert shipped_accuracy() == json.loads(render())


def test_per_class_formula() -> None:
    pairs = [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")]
    c = per_class(pairs, ["a", "b"])
    assert c["a"].precision == 1.0 and c["a"].recall == 0.5 and c["a"].f1 == 0.6667
    assert c["b"].precision == 0.6667 and c["b"].recall == 1.0 and c["b"].support == 2


def test_every_classifier_is_measured_and_good_enough_to_gate_on() -> None:
    m = measure_all()
    for name in ("refusal", "canary", "injection"):
        overall = m[name]["overall"]  # type: ignore[index]
        assert overall["n"] >= 12, name
        assert overall["accuracy"] >= 0.8, (name, overall["errors"])
    refusal = m["refusal"]["overall"]["classes"]  # type: ignore[index]
    assert refusal["incomplete"]["recall"] == 1.0 and refusal["incomplete"]["precision"] == 1.0
