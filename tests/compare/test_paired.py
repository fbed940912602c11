"""The paired statistics against values computed by hand or known from the literature."""

from __future__ import annotations

import math

import pytest

from clearance.compare.paired import (
    cohens_h,
    count_pairs,
    holm,
    mcnemar_exact,
    newcombe_interval,
    paired_mean_difference,
)


def test_mcnemar_exact_matches_the_binomial_tail() -> None:
    # 10 discordant pairs all one way: p = 2 × 0.5**10
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)
    # 2 vs 8: P(X <= 2 | n=10) = (1 + 10 + 45) / 1024, doubled
    assert mcnemar_exact(8, 2) == pytest.approx(2 * 56 / 1024)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0  # capped
    # symmetric and stable for thousands of discordant pairs
    assert mcnemar_exact(1000, 1100) == pytest.approx(mcnemar_exact(1100, 1000))
    assert 0.0 < mcnemar_exact(1000, 1100) < 0.05


def test_newcombe_interval_by_hand() -> None:
    # e=36, f=12, g=2, h=0 (n=50): p_b = 0.76, p_a = 0.96; Wilson bounds and phi* = -24/sqrt(48·2·38·12)
    t = count_pairs([True] * 48 + [False] * 2, [True] * 36 + [False] * 12 + [True] * 2)
    lo, hi = newcombe_interval(t)
    assert t.rate_b - t.rate_a == pytest.approx(-0.2)
    assert (lo, hi) == pytest.approx(
        (-0.3397, -0.0570), abs=2e-3
    )  # worked through with 4-digit Wilson bounds


def test_positive_correlation_narrows_the_interval() -> None:
    # same margins, samples agree more: the paired interval is narrower
    agree = count_pairs([True] * 40 + [False] * 60, [True] * 30 + [False] * 70)
    mixed = count_pairs([True] * 40 + [False] * 60, [False] * 40 + [True] * 30 + [False] * 30)
    w1 = newcombe_interval(agree)
    w2 = newcombe_interval(mixed)
    assert (w1[1] - w1[0]) <= (w2[1] - w2[0]) + 1e-12


def test_newcombe_interval_contains_the_difference_and_stays_in_range() -> None:
    t = count_pairs([True] * 50, [True] * 50)
    lo, hi = newcombe_interval(t)
    assert lo < 0 < hi and lo >= -1 and hi <= 1
    t2 = count_pairs([True] * 54, [False] * 35 + [True] * 19)
    lo2, hi2 = newcombe_interval(t2)
    assert lo2 <= t2.rate_b - t2.rate_a <= hi2 and hi2 < 0


def test_holm_adjusts_step_down_and_keeps_order() -> None:
    # m = 4: sorted 0.01, 0.02, 0.03, 0.04 -> 0.04, 0.06, 0.06, 0.06 (monotone)
    assert holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_paired_mean_difference_and_effect_size() -> None:
    a = [0.1 * (i % 5) for i in range(100)]
    b = [x + 0.2 for x in a]
    mean, lo, _hi, p = paired_mean_difference(a, b)
    assert mean == pytest.approx(0.2) and lo == pytest.approx(0.2) and p == 0.0
    mean0, _lo0, _hi0, p0 = paired_mean_difference(a, a)
    assert mean0 == 0 and p0 == 1.0
    assert cohens_h(0.5, 0.5) == 0.0
    assert cohens_h(0.0, 1.0) == pytest.approx(math.pi)
