"""SLO search: the highest concurrency whose p95 TTFT / ITL meet their targets, in few steps."""

from __future__ import annotations

from pydantic import BaseModel, Field

from clearance.endpoint.pool import Endpoint
from clearance.errors import InputError
from clearance.load.generator import run_loadtest
from clearance.load.records import LoadConfig, LoadResult


class SLOStep(BaseModel):
    """One measured concurrency level and whether it met every target."""

    concurrency: int
    ttft_p95_s: float | None
    itl_p95_s: float | None
    error_rate: float
    requests_per_s: float
    output_tokens_per_s: float
    passed: bool
    reasons: list[str] = Field(default_factory=list)


class SLOSearchResult(BaseModel):
    """Highest passing concurrency (0 when even the first level fails) and every step measured."""

    kind: str = "slo_search"
    ttft_p95_target_s: float | None
    itl_p95_target_s: float | None
    max_error_rate: float
    max_concurrency: int
    steps: list[SLOStep]
    edge_found: bool = False
    lowest_failing: int | None = None
    highest_tried: int = 0
    conclusion: str = ""
    measured_how: str = "closed-loop load tests at doubling concurrency, then bisection between pass and fail"

    def policy_facts(self) -> dict[str, object]:
        """Flat ``load.slo.*`` facts (``max_concurrency`` is a lower bound when ``edge_found`` is false)."""
        facts: dict[str, object] = {
            "load.slo.max_concurrency": self.max_concurrency,
            "load.slo.edge_found": self.edge_found,
        }
        if self.ttft_p95_target_s is not None:
            facts["load.slo.ttft_p95_target_s"] = self.ttft_p95_target_s
        if self.itl_p95_target_s is not None:
            facts["load.slo.itl_p95_target_s"] = self.itl_p95_target_s
        return facts


def _judge(c: int, res: LoadResult, ttft: float | None, itl: float | None, max_err: float) -> SLOStep:
    reasons = []
    t = res.ttft.p95 if res.ttft else None
    i = res.itl.p95 if res.itl else None
    if ttft is not None and (t is None or t > ttft):
        reasons.append(f"TTFT p95 {t if t is None else round(t, 4)} s > {ttft} s")
    if itl is not None and (i is None or i > itl):
        reasons.append(f"ITL p95 {i if i is None else round(i, 4)} s > {itl} s")
    if res.error_rate > max_err:
        reasons.append(f"error rate {res.error_rate:.3f} > {max_err}")
    return SLOStep(
        concurrency=c,
        ttft_p95_s=t,
        itl_p95_s=i,
        error_rate=res.error_rate,
        requests_per_s=res.request_throughput,
        output_tokens_per_s=res.output_tokens_per_s,
        passed=not reasons,
        reasons=reasons,
    )


async def slo_search(
    client: Endpoint,
    base: LoadConfig,
    *,
    ttft_p95_s: float | None = None,
    itl_p95_s: float | None = None,
    max_error_rate: float = 0.01,
    start: int = 1,
    limit: int = 256,
    max_steps: int = 8,
    requests_per_level: int | None = None,
) -> SLOSearchResult:
    """Double concurrency from ``start`` until a level fails, then bisect; at most ``max_steps`` runs.

    Each level runs ``requests_per_level`` requests (default: ``max(base.requests, 4 × concurrency)``).
    """
    if ttft_p95_s is None and itl_p95_s is None:
        raise InputError("SLO search needs a TTFT and/or ITL p95 target")
    steps: list[SLOStep] = []

    async def measure(c: int) -> bool:
        n = requests_per_level or max(base.requests, 4 * c)
        cfg = base.model_copy(update={"concurrency": c, "rate": None, "requests": n, "out_dir": None})
        res = await run_loadtest(client, cfg)
        step = _judge(c, res, ttft_p95_s, itl_p95_s, max_error_rate)
        steps.append(step)
        return step.passed

    good, bad = 0, None
    c = max(1, start)
    while len(steps) < max_steps and c <= limit:
        if await measure(c):
            good = c
            c *= 2
        else:
            bad = c
            break
    while bad is not None and bad - good > 1 and len(steps) < max_steps:
        mid = (good + bad) // 2
        if await measure(mid):
            good = mid
        else:
            bad = mid
    tried = max((st.concurrency for st in steps), default=0)
    if bad is None:
        why = "the step limit" if len(steps) >= max_steps else f"the concurrency limit {limit}"
        conclusion = (
            f"every level tried met the SLO: the edge lies beyond concurrency {tried} (stopped by {why}); "
            f"the maximum is at least {good}"
        )
    elif good == 0:
        conclusion = f"even concurrency {bad} missed the SLO: the edge lies below the range tried"
    elif bad - good == 1:
        conclusion = f"the edge lies between concurrency {good} (meets the SLO) and {bad} (misses it)"
    else:
        conclusion = (
            f"the edge lies between concurrency {good} (meets the SLO) and {bad} (misses it); "
            f"not narrowed further within {max_steps} steps"
        )
    return SLOSearchResult(
        ttft_p95_target_s=ttft_p95_s,
        itl_p95_target_s=itl_p95_s,
        max_error_rate=max_error_rate,
        max_concurrency=good,
        steps=steps,
        edge_found=bad is not None and good > 0,
        lowest_failing=bad,
        highest_tried=tried,
        conclusion=conclusion,
    )
