"""Confidence intervals and metrics against known values."""

from __future__ import annotations

import pytest

from clearance.evals.metrics import Outcome, compute_metric, select
from clearance.evals.types import Score
from clearance.stats import bootstrap_interval, wilson_interval, z_for


def test_z_for_95_is_1_96() -> None:
    assert z_for(0.95) == pytest.approx(1.959964, abs=1e-6)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),  # textbook Wilson example
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
        (1, 1000, 0.000177, 0.005641),
    ],
)
def test_wilson_matches_known_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def test_wilson_empty_and_invalid() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(5, 3)


def test_bootstrap_is_reproducible_and_brackets_mean() -> None:
    data = [1.0] * 30 + [0.0] * 70
    a = bootstrap_interval(data, lambda xs: sum(xs) / len(xs), seed=3)
    b = bootstrap_interval(data, lambda xs: sum(xs) / len(xs), seed=3)
    assert a == b and a is not None
    assert a[0] < 0.3 < a[1]
    # close to the Wilson interval for the same proportion
    w = wilson_interval(30, 100)
    assert a[0] == pytest.approx(w[0], abs=0.03) and a[1] == pytest.approx(w[1], abs=0.03)


def _o(i: int, value: float, **md: object) -> Outcome:
    return Outcome(id=str(i), metadata=dict(md), scores={"refusal": Score(value=value, rule="x")})


def test_refusal_and_attack_success_are_complements_with_mirrored_ci() -> None:
    outs = [_o(i, 1.0 if i < 30 else 0.0) for i in range(40)]
    r = compute_metric("r", "refusal_rate", outs, scorer="refusal", where=None, confidence=0.95, params={})
    a = compute_metric(
        "a", "attack_success_rate", outs, scorer="refusal", where=None, confidence=0.95, params={}
    )
    assert r.value == 0.75 and a.value == 0.25 and r.n == a.n == 40
    assert r.method == "wilson"
    assert r.ci_low == pytest.approx(1 - a.ci_high) and r.ci_high == pytest.approx(1 - a.ci_low)


def test_where_filter_selects_metadata() -> None:
    outs = [_o(0, 1, label="safe"), _o(1, 0, label="unsafe"), _o(2, 1, label="unsafe")]
    assert [o.id for o in select(outs, {"label": "unsafe"})] == ["1", "2"]
    assert [o.id for o in select(outs, {"label": ["safe", "unsafe"]})] == ["0", "1", "2"]
    m = compute_metric(
        "x", "refusal_rate", outs, scorer="refusal", where={"label": "unsafe"}, confidence=0.95, params={}
    )
    assert m.value == 0.5 and m.n == 2


def _bbq(i: int, letter: str, cond: str, polarity: str, correct: bool) -> Outcome:
    # option A = stereotyped target group, B = other group, C = unknown
    return Outcome(
        id=str(i),
        metadata={"context_condition": cond, "polarity": polarity, "unknown_index": 2, "target_indices": [0]},
        scores={"choice": Score(value=1.0 if correct else 0.0, answer=letter, rule="x")},
    )


def test_bbq_bias_score_definitions() -> None:
    # disambiguated: 3 biased (neg→A, nonneg→B), 1 anti-biased (neg→B) → s_DIS = 2*3/4 - 1 = 0.5
    dis = [
        _bbq(0, "A", "disambig", "neg", True),
        _bbq(1, "A", "disambig", "neg", False),
        _bbq(2, "B", "disambig", "nonneg", True),
        _bbq(3, "B", "disambig", "neg", True),
        _bbq(4, "C", "disambig", "neg", False),  # unknown answers are excluded from s_DIS
    ]
    m = compute_metric(
        "b",
        "bbq_bias_score",
        dis,
        scorer="choice",
        where=None,
        confidence=0.95,
        params={"condition": "disambig"},
    )
    assert m.value == pytest.approx(0.5)
    assert m.ci_low is not None and m.ci_high is not None and m.ci_low <= m.ci_high
    # ambiguous: 2 of 4 correct (C), non-unknown answers both biased → s_DIS=1 → s_AMB = (1-0.5)*1 = 0.5
    amb = [
        _bbq(0, "C", "ambig", "neg", True),
        _bbq(1, "C", "ambig", "nonneg", True),
        _bbq(2, "A", "ambig", "neg", False),
        _bbq(3, "B", "ambig", "nonneg", False),
    ]
    m2 = compute_metric(
        "b",
        "bbq_bias_score",
        amb,
        scorer="choice",
        where=None,
        confidence=0.95,
        params={"condition": "ambig"},
    )
    assert m2.value == pytest.approx(0.5)
    assert m2.method == "bootstrap-percentile"
