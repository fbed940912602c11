"""Soak: steady load for a duration, and how latency and errors drift over time.

The run is one load test (closed or open loop) limited by ``duration_s``; its raw records are cut
into ``windows`` equal windows by send time. Drift compares the last third of the windows with the
first third: the ratio of the median window p95 (E2E and TTFT), and the difference of error rates.
A ratio above 1 means latency grew while the load stayed the same (leaks, fragmentation, thermal
throttling, growing queues); :meth:`SoakResult.chart_svg` draws the windows over time.
"""

from __future__ import annotations

import statistics

from pydantic import BaseModel

from clearance.endpoint.pool import Endpoint
from clearance.errors import InputError
from clearance.load.generator import run_loadtest
from clearance.load.records import LoadConfig, LoadResult, RequestRecord
from clearance.load.stats import percentile


class SoakWindow(BaseModel):
    """One time window of a soak (by send time)."""

    start_s: float
    end_s: float
    requests: int
    errors: int
    error_rate: float
    ttft_p95_s: float | None = None
    e2e_p50_s: float | None = None
    e2e_p95_s: float | None = None


class SoakResult(BaseModel):
    """A soak: the whole run's result, its windows and the drift between the first and last third."""

    kind: str = "soak"
    duration_s: float
    windows: list[SoakWindow]
    load: LoadResult
    e2e_p95_drift_ratio: float | None = None
    ttft_p95_drift_ratio: float | None = None
    error_rate_drift: float | None = None
    measured_how: str = (
        "one load test for the duration, records cut into equal windows by send time; drift = median "
        "window p95 of the last third / of the first third; error-rate drift = last third − first third"
    )

    def policy_facts(self) -> dict[str, object]:
        """``load.soak.*`` facts."""
        facts: dict[str, object] = {
            "load.soak.duration_s": self.duration_s,
            "load.soak.error_rate": self.load.error_rate,
            "load.soak.error_rate.ci_high": self.load.error_rate_ci[1],
        }
        if self.e2e_p95_drift_ratio is not None:
            facts["load.soak.e2e_p95_drift_ratio"] = self.e2e_p95_drift_ratio
        if self.ttft_p95_drift_ratio is not None:
            facts["load.soak.ttft_p95_drift_ratio"] = self.ttft_p95_drift_ratio
        if self.error_rate_drift is not None:
            facts["load.soak.error_rate_drift"] = self.error_rate_drift
        return facts

    def chart_svg(self) -> str:
        """p95 E2E and TTFT per window (s) over time (s from the start)."""
        from clearance.charts import Series, line_chart

        mid = [((w.start_s + w.end_s) / 2, w) for w in self.windows]
        return line_chart(
            [
                Series("E2E p95", [(t, w.e2e_p95_s) for t, w in mid if w.e2e_p95_s is not None]),
                Series("TTFT p95", [(t, w.ttft_p95_s) for t, w in mid if w.ttft_p95_s is not None]),
            ],
            x_label="time since start (s)",
            y_label="latency (s)",
            title="Soak: latency over time",
        )


def windows_of(records: list[RequestRecord], duration_s: float, n: int) -> list[SoakWindow]:
    """Cut records into ``n`` equal windows by send time."""
    width = duration_s / n
    out = []
    for k in range(n):
        lo, hi = k * width, (k + 1) * width
        mine = [r for r in records if lo <= r.start_s < hi and not r.cancelled]
        ok = [r for r in mine if r.ok]
        e2e = [r.e2e_s for r in ok if r.e2e_s is not None]
        ttft = [r.ttft_s for r in ok if r.ttft_s is not None]
        errors = sum(1 for r in mine if r.error is not None)
        out.append(
            SoakWindow(
                start_s=round(lo, 3),
                end_s=round(hi, 3),
                requests=len(mine),
                errors=errors,
                error_rate=errors / len(mine) if mine else 0.0,
                ttft_p95_s=percentile(ttft, 95) if ttft else None,
                e2e_p50_s=percentile(e2e, 50) if e2e else None,
                e2e_p95_s=percentile(e2e, 95) if e2e else None,
            )
        )
    return out


def _drift(windows: list[SoakWindow], attr: str) -> float | None:
    third = max(1, len(windows) // 3)
    first = [getattr(w, attr) for w in windows[:third] if getattr(w, attr) is not None]
    last = [getattr(w, attr) for w in windows[-third:] if getattr(w, attr) is not None]
    if not first or not last:
        return None
    base = statistics.median(first)
    return statistics.median(last) / base if base > 0 else None


def drift_of(windows: list[SoakWindow]) -> tuple[float | None, float | None, float | None]:
    """(E2E p95 ratio, TTFT p95 ratio, error-rate difference) of the last third against the first."""
    third = max(1, len(windows) // 3)
    first = [w for w in windows[:third] if w.requests]
    last = [w for w in windows[-third:] if w.requests]
    err = None
    if first and last:
        rate = lambda ws: sum(w.errors for w in ws) / sum(w.requests for w in ws)  # noqa: E731
        err = rate(last) - rate(first)
    return _drift(windows, "e2e_p95_s"), _drift(windows, "ttft_p95_s"), err


async def soak(
    client: Endpoint, base: LoadConfig, duration_s: float, *, windows: int = 12, progress: bool = False
) -> SoakResult:
    """Steady load (``base``'s concurrency or rate) for ``duration_s``; windows and drift."""
    if not duration_s > 0:
        raise InputError(f"--soak duration must be > 0 s, got {duration_s}")
    if windows < 3:
        raise InputError(f"a soak needs at least 3 windows, got {windows}")
    n = 10**9 if base.rate is None else int(base.rate * duration_s) + 1
    cfg = base.model_copy(update={"duration_s": duration_s, "requests": n})
    records: list[RequestRecord] = []
    res = await run_loadtest(client, cfg, progress=progress, on_record=records.append)
    wins = windows_of(records, duration_s, windows)
    e2e, ttft, err = drift_of(wins)
    return SoakResult(
        duration_s=duration_s,
        windows=wins,
        load=res,
        e2e_p95_drift_ratio=e2e,
        ttft_p95_drift_ratio=ttft,
        error_rate_drift=err,
    )


__all__ = ["SoakResult", "SoakWindow", "drift_of", "soak", "windows_of"]
