"""Shared statistics: Wilson score interval for proportions, percentile bootstrap for other statistics (used by evals and load)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import TypeVar

T = TypeVar("T")

WILSON = "wilson"
BOOTSTRAP = "bootstrap-percentile"


def z_for(confidence: float) -> float:
    """Two-sided standard-normal quantile for a confidence level (0.95 → 1.959964)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; ``(0.0, 1.0)`` when ``n == 0``."""
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    z = z_for(confidence)
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    # Exact bounds at the extremes (avoid -1e-17 style rounding).
    if successes == 0:
        low = 0.0
    if successes == n:
        high = 1.0
    return (low, high)


def bootstrap_interval(
    items: Sequence[T],
    statistic: Callable[[Sequence[T]], float | None],
    *,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic`` over ``items`` (seeded, so reproducible).

    Resamples where the statistic is undefined (returns ``None``) are dropped; ``None`` if nothing is left.
    """
    if not items:
        return None
    rng = random.Random(seed)
    n = len(items)
    values: list[float] = []
    population = list(items)
    for _ in range(n_boot):
        v = statistic(rng.choices(population, k=n))
        if v is not None and not math.isnan(v):
            values.append(v)
    if not values:
        return None
    values.sort()
    alpha = (1.0 - confidence) / 2.0
    lo_i = min(len(values) - 1, max(0, math.floor(alpha * len(values))))
    hi_i = min(len(values) - 1, max(0, math.ceil((1.0 - alpha) * len(values)) - 1))
    return (values[lo_i], values[hi_i])
