"""Small statistics helpers for load results: interpolated percentiles and latency distributions."""

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
