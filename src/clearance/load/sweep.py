"""Sweeps: latency against throughput over a list of concurrencies or rates, or synchronous → saturation.

- ``concurrencies=[1, 2, 4, 8]``: one closed-loop run per level;
- ``rates=[1, 2, 4]``: one open-loop run per arrival rate;
- neither (``auto``): a synchronous run (one request at a time) gives the lowest rate, a run at
  ``saturation_concurrency`` gives the highest the server sustains, and ``steps`` open-loop runs at rates
  evenly spaced between them fill the curve (GuideLLM's sweep profile).

Each point keeps throughput, goodput (when SLOs are given) and latency percentiles; :meth:`SweepResult.chart_svg`
draws p95 TTFT and p95 E2E latency against achieved throughput.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from clearance.endpoint.pool import Endpoint
from clearance.errors import InputError
from clearance.load.generator import run_loadtest
from clearance.load.records import LoadConfig, LoadResult


class SweepPoint(BaseModel):
    """One run of a sweep, summarised."""

    label: str
    concurrency: int | None = None
    rate: float | None = None
    completed: int
    error_rate: float
    requests_per_s: float
    output_tokens_per_s: float
    goodput: float | None = None
    ttft_p50_s: float | None = None
    ttft_p95_s: float | None = None
    tpot_p95_s: float | None = None
    e2e_p50_s: float | None = None
    e2e_p95_s: float | None = None

    @classmethod
    def of(cls, label: str, res: LoadResult) -> SweepPoint:
        return cls(
            label=label,
            concurrency=res.config.concurrency,
            rate=res.config.rate,
            completed=res.completed,
            error_rate=res.error_rate,
            requests_per_s=res.request_throughput,
            output_tokens_per_s=res.output_tokens_per_s,
            goodput=res.goodput,
            ttft_p50_s=res.ttft.p50 if res.ttft else None,
            ttft_p95_s=res.ttft.p95 if res.ttft else None,
            tpot_p95_s=res.tpot.p95 if res.tpot else None,
            e2e_p50_s=res.e2e.p50 if res.e2e else None,
            e2e_p95_s=res.e2e.p95 if res.e2e else None,
        )


class SweepResult(BaseModel):
    """Every point of a sweep, the synchronous and saturation rates, and the SLOs used for goodput."""

    kind: str = "sweep"
    mode: str
    points: list[SweepPoint]
    synchronous_requests_per_s: float | None = None
    saturation_requests_per_s: float | None = None
    slo: dict[str, float] = Field(default_factory=dict)
    measured_how: str = (
        "one load test per point (closed loop per concurrency, open loop per rate); "
        "auto: synchronous, then saturation, then rates evenly spaced between them"
    )

    def policy_facts(self) -> dict[str, object]:
        """``load.sweep.*``: the best throughput and goodput seen across the points."""
        facts: dict[str, object] = {
            "load.sweep.max_requests_per_s": max((p.requests_per_s for p in self.points), default=0.0)
        }
        good = [p.goodput for p in self.points if p.goodput is not None]
        if good:
            facts["load.sweep.max_goodput_requests_per_s"] = max(good)
        return facts

    def chart_svg(self) -> str:
        """p95 TTFT and p95 E2E latency (s) against achieved throughput (requests/s)."""
        from clearance.charts import Series, line_chart

        pts = sorted(self.points, key=lambda p: p.requests_per_s)
        ttft = Series("TTFT p95", [(p.requests_per_s, p.ttft_p95_s) for p in pts if p.ttft_p95_s is not None])
        e2e = Series("E2E p95", [(p.requests_per_s, p.e2e_p95_s) for p in pts if p.e2e_p95_s is not None])
        return line_chart(
            [ttft, e2e],
            x_label="throughput (requests/s)",
            y_label="latency (s)",
            title="Latency against throughput (sweep)",
            y_limit=self.slo.get("ttft"),
        )


async def sweep(
    client: Endpoint,
    base: LoadConfig,
    *,
    concurrencies: list[int] | None = None,
    rates: list[float] | None = None,
    steps: int = 4,
    saturation_concurrency: int = 64,
    progress: bool = False,
) -> SweepResult:
    """Run the sweep described in the module docstring; ``base`` gives requests, tokens, SLOs and seed."""
    if concurrencies and rates:
        raise InputError("sweep over concurrencies or over rates, not both")
    points: list[SweepPoint] = []

    async def closed(c: int, label: str) -> LoadResult:
        cfg = base.model_copy(update={"concurrency": c, "rate": None, "out_dir": None})
        res = await run_loadtest(client, cfg, progress=progress)
        points.append(SweepPoint.of(label, res))
        return res

    async def opened(r: float, label: str) -> LoadResult:
        cfg = base.model_copy(update={"concurrency": None, "rate": r, "out_dir": None})
        res = await run_loadtest(client, cfg, progress=progress)
        points.append(SweepPoint.of(label, res))
        return res

    if concurrencies:
        if any(c < 1 for c in concurrencies):
            raise InputError(f"sweep concurrencies must be >= 1, got {concurrencies}")
        for c in concurrencies:
            await closed(c, f"c={c}")
        return SweepResult(mode="concurrency", points=points, slo=base.slo)
    if rates:
        if any(not r > 0 for r in rates):
            raise InputError(f"sweep rates must be > 0, got {rates}")
        for r in rates:
            await opened(r, f"{r:g} req/s")
        return SweepResult(mode="rate", points=points, slo=base.slo)
    if steps < 0:
        raise InputError(f"sweep steps must be >= 0, got {steps}")
    sync = await closed(1, "synchronous")
    sat = await closed(saturation_concurrency, f"saturation (c={saturation_concurrency})")
    lo, hi = sync.request_throughput, sat.request_throughput
    if lo > 0 and hi > lo:
        for k in range(1, steps + 1):
            r = lo + (hi - lo) * k / (steps + 1)
            await opened(round(r, 3), f"{r:.3g} req/s")
    return SweepResult(
        mode="auto",
        points=points,
        synchronous_requests_per_s=lo,
        saturation_requests_per_s=hi,
        slo=base.slo,
    )


__all__ = ["SweepPoint", "SweepResult", "sweep"]
