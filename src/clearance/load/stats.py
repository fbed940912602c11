"""Small statistics helpers for load results: interpolated percentiles and Wilson intervals."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel

PERCENTILES = (50, 90, 95, 99)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


class Distribution(BaseModel):
    """Summary of one latency distribution in seconds (percentiles linearly interpolated)."""

    n: int
    mean: float
    min: float
    max: float
    p50: float
    p90: float
    p95: float
    p99: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution | None:
        """Summarise ``values``; ``None`` when there are none."""
        if not values:
            return None
        return cls(
            n=len(values),
            mean=sum(values) / len(values),
            min=min(values),
            max=max(values),
            **{f"p{q}": percentile(values, q) for q in PERCENTILES},
        )


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval (95 % by default) for a proportion ``successes / n``; (0, 1) when n == 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi
