"""Paired tests on shared samples: exact McNemar, Newcombe's interval for a paired difference of
proportions, a paired mean difference for scores, and Holm's step-down control of the family-wise error.

Two runs are *paired* when they scored the same samples (same dataset bytes, same prompts and generation
settings): each sample is its own control, so only the samples that flipped carry information.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from clearance.stats import wilson_interval, z_for

MCNEMAR = "McNemar exact (two-sided binomial test on discordant pairs)"
NEWCOMBE = "Newcombe paired-difference interval (method 10, Wilson-based)"
PAIRED_MEAN = "paired mean difference (normal approximation)"
HOLM = "Holm step-down"


@dataclass(frozen=True)
class PairedCounts:
    """2×2 table of one binary indicator on shared samples: a = baseline, b = candidate."""

    both: int  # indicator 1 in a and b
    only_a: int  # 1 in a, 0 in b
    only_b: int  # 0 in a, 1 in b
    neither: int

    @property
    def n(self) -> int:
        """Shared samples."""
        return self.both + self.only_a + self.only_b + self.neither

    @property
    def rate_a(self) -> float:
        """Indicator rate in run a."""
        return (self.both + self.only_a) / self.n if self.n else math.nan

    @property
    def rate_b(self) -> float:
        """Indicator rate in run b."""
        return (self.both + self.only_b) / self.n if self.n else math.nan


def count_pairs(a: Sequence[bool], b: Sequence[bool]) -> PairedCounts:
    """The 2×2 table of two aligned indicator sequences."""
    both = only_a = only_b = neither = 0
    for x, y in zip(a, b, strict=True):
        if x and y:
            both += 1
        elif x:
            only_a += 1
        elif y:
            only_b += 1
        else:
            neither += 1
    return PairedCounts(both, only_a, only_b, neither)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: binomial(n = discordant, 1/2) at min(only_a, only_b), doubled."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    # P(X <= k) for X ~ Bin(n, 1/2), in log space so n in the thousands stays exact enough
    log_half_n = -n * math.log(2.0)
    total = 0.0
    log_c = 0.0  # log C(n, 0)
    for i in range(k + 1):
        if i > 0:
            log_c += math.log(n - i + 1) - math.log(i)
        total += math.exp(log_c + log_half_n)
    return min(1.0, 2.0 * total)


def newcombe_interval(t: PairedCounts, confidence: float = 0.95) -> tuple[float, float]:
    """Interval for rate_b − rate_a on paired data (Newcombe 1998, method 10)."""
    n = t.n
    if n == 0:
        return (-1.0, 1.0)
    p1, p2 = t.rate_b, t.rate_a
    l1, u1 = wilson_interval(t.both + t.only_b, n, confidence)
    l2, u2 = wilson_interval(t.both + t.only_a, n, confidence)
    # Newcombe's corrected phi between the two marginals: eh − fg, less n/2 when positive (0 in between)
    e, f, g, h = t.both, t.only_b, t.only_a, t.neither
    den = (e + f) * (g + h) * (e + g) * (f + h)
    b = e * h - f * g
    c = b - n / 2 if b > n / 2 else (b if b < 0 else 0.0)
    phi = c / math.sqrt(den) if den > 0 else 0.0
    d = p1 - p2
    delta = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    eps = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return (max(-1.0, d - delta), min(1.0, d + eps))


def paired_mean_difference(
    a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95
) -> tuple[float, float, float, float]:
    """Mean of b − a over shared samples, its normal-approximation interval and two-sided p-value
    (paired t with a normal reference: fine from ~30 samples; fewer are flagged by the caller)."""
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    n = len(diffs)
    if n == 0:
        return (math.nan, math.nan, math.nan, 1.0)
    mean = sum(diffs) / n
    if n < 2:
        return (mean, -math.inf, math.inf, 1.0)
    var = sum((d - mean) ** 2 for d in diffs) / (n - 1)
    se = math.sqrt(var / n)
    z = z_for(confidence)
    if se == 0:
        return (mean, mean, mean, 1.0 if mean == 0 else 0.0)
    p = 2.0 * (1.0 - NormalDist().cdf(abs(mean) / se))
    return (mean, mean - z * se, mean + z * se, min(1.0, p))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (same order as given): p_(i) × (m − i + 1), made monotone, capped at 1."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def cohens_h(p1: float, p2: float) -> float:
    """Cohen's h effect size between two proportions: 2·asin(√p2) − 2·asin(√p1)."""
    return 2.0 * math.asin(math.sqrt(min(1.0, max(0.0, p2)))) - 2.0 * math.asin(
        math.sqrt(min(1.0, max(0.0, p1)))
    )
