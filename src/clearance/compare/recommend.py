"""``compare_candidates``: candidates side by side, tested differences, Pareto frontiers and a recommendation.

The rule (stated in every result): **the cheapest candidate that passes the policy and meets the SLO**
(horizon cost at the workload, on the cheapest GPU type that meets it). Where another candidate that
passes is significantly better on a gated metric (paired test on shared samples, Holm-adjusted), the
trade-off is stated in numbers. When no candidate passes the policy, the cheapest that meets the SLO is
named as *provisional* — never as approved. The workload change that would flip the choice (volume, or a
tighter latency SLO) is computed, not guessed.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, Field

from clearance.compare.candidates import Candidate, load_candidate
from clearance.compare.differences import MetricDifference, adjust, compare_runs
from clearance.compare.evidence import RunEvidence
from clearance.compare.sizing import cost_at_volume
from clearance.errors import InputError
from clearance.workload import WorkloadFile

DEFAULT_GPUS = ["H100-SXM", "A100-80G-SXM", "L40S", "L4"]
RULE = "cheapest candidate that passes the policy and meets the SLO"
PROVISIONAL_RULE = (
    "no candidate passes the policy (unmeasured or not approved): provisional choice = cheapest candidate "
    "that meets the SLO; run `clearance vet` on it before deciding"
)


class Recommendation(BaseModel):
    """The choice, the rule that made it, the reasons and what would change it."""

    candidate: str | None
    status: Literal["recommended", "provisional", "none"]
    rule: str
    reasons: list[str] = Field(default_factory=list)
    trade_offs: list[str] = Field(default_factory=list)
    flips: list[str] = Field(default_factory=list)


class PairDifference(BaseModel):
    """A tested difference between two candidates (``b`` − ``a``)."""

    a: str
    b: str
    difference: MetricDifference


class CompareReport(BaseModel):
    """Everything ``clearance compare`` shows; ``--json`` prints it."""

    workload: dict[str, Any]
    workload_summary: str
    assumptions: list[str]
    gpus: list[str]
    policy: str | None
    candidates: list[Candidate]
    differences: list[PairDifference] = Field(default_factory=list)
    incomparable: list[str] = Field(default_factory=list)
    recommendation: Recommendation
    estimate_note: str = (
        "Sizing, latency and cost of candidates without a load test are planner estimates (labelled "
        "'estimated'); quality is only known for dossiers."
    )


def compare_candidates(
    refs: list[str],
    wl: WorkloadFile,
    *,
    policy: Any = None,
    gpus: list[str] | None = None,
    prices_file: str | None = None,
    engine: str = "vllm",
) -> CompareReport:
    """Compare ``refs`` (dossier directories or models) for workload ``wl``; see the module doc."""
    if not refs:
        raise InputError("compare: give at least one candidate (a dossier directory or a model)")
    if len(set(refs)) != len(refs):
        raise InputError("compare: a candidate is named twice")
    from clearance.plan.gpus import get_gpu

    gpu_list = [get_gpu(g).name for g in (gpus or wl.hardware.gpu_types() or DEFAULT_GPUS)]
    book = wl.price_book(prices_file)
    cands: list[Candidate] = []
    runs: dict[str, RunEvidence] = {}
    for ref in refs:
        cand, run = load_candidate(ref, wl, book, gpu_list, policy, engine=engine)
        _unique_name(cand, cands)
        cands.append(cand)
        if run is not None:
            runs[cand.name] = run
    diffs, incomparable = pairwise_differences(cands, runs, policy)
    _frontiers(cands)
    rec = _recommend(cands, diffs, wl, book)
    return CompareReport(
        workload=wl.model_dump(mode="json", exclude={"prices"}),
        workload_summary=wl.summary(),
        assumptions=wl.assumptions(),
        gpus=gpu_list,
        policy=getattr(policy, "name", None) or next((c.policy_name for c in cands if c.policy_name), None),
        candidates=cands,
        differences=diffs,
        incomparable=incomparable,
        recommendation=rec,
    )


def _unique_name(cand: Candidate, others: list[Candidate]) -> None:
    names = {c.name for c in others}
    if cand.name in names:
        i = 2
        while f"{cand.name} ({i})" in names:
            i += 1
        cand.name = f"{cand.name} ({i})"


def pairwise_differences(
    cands: list[Candidate], runs: dict[str, RunEvidence], policy: Any
) -> tuple[list[PairDifference], list[str]]:
    """Paired tests on the gated metrics between every two measured candidates (``runs`` by candidate
    name), Holm over all of them; also the pairs that could not be compared, and why."""
    out: list[PairDifference] = []
    incomparable: list[str] = []
    measured = [c for c in cands if c.name in runs]
    for i, ca in enumerate(measured):
        for cb in measured[i + 1 :]:
            gated = {m.fact for m in ca.gated_metrics} | {m.fact for m in cb.gated_metrics}
            gates = (
                [g.model_dump(mode="json") for g in policy.gates]
                if policy is not None
                else [
                    {"fact": m.fact, "operator": ">=" if m.better == "higher" else "<="}
                    for m in ca.gated_metrics
                    if m.better != "unknown"
                ]
            )
            comp = compare_runs(runs[ca.name], runs[cb.name], policy_gates=gates, only_metrics=gated or None)
            for inc in comp.incomparable:
                incomparable.append(
                    f"{ca.name} vs {cb.name}, {inc.suite}: incomparable — {'; '.join(inc.reasons)}"
                )
            out.extend(PairDifference(a=ca.name, b=cb.name, difference=d) for d in comp.differences)
    adjust([p.difference for p in out])
    return out, incomparable


def _frontiers(cands: list[Candidate]) -> None:
    """Mark candidates not dominated on (quality index up, $/M tokens down) and (quality up, latency down)."""

    def mark(key: str, cost_of: Any) -> None:
        pts: list[tuple[Candidate, float, float]] = []
        for c in cands:
            q, x = c.quality_index(), cost_of(c)
            if q is not None and x is not None:
                pts.append((c, q, x))
        for c, q, x in pts:
            dominated = any((q2 >= q and x2 <= x) and (q2 > q or x2 < x) for c2, q2, x2 in pts if c2 is not c)
            setattr(c, key, not dominated)

    mark("on_frontier_cost", lambda c: c.best.cost_per_mtok if c.best else None)
    mark("on_frontier_latency", lambda c: c.best.e2e_s if c.best else None)


def _recommend(
    cands: list[Candidate], diffs: list[PairDifference], wl: WorkloadFile, book: Any
) -> Recommendation:
    def cost(c: Candidate) -> float:
        return c.best.horizon_cost if c.best and c.best.horizon_cost is not None else math.inf

    eligible = [c for c in cands if c.passes_policy and c.meets_slo and cost(c) < math.inf]
    status: Literal["recommended", "provisional", "none"]
    if eligible:
        pool, rule, status = eligible, RULE, "recommended"
    else:
        pool = [c for c in cands if c.meets_slo and cost(c) < math.inf and c.verified is not False]
        pool = [c for c in pool if c.policy_status != "rejected"]
        rule, status = PROVISIONAL_RULE, "provisional"
    if not pool:
        reasons = [f"{c.name}: {_why_not(c)}" for c in cands]
        return Recommendation(candidate=None, status="none", rule=RULE, reasons=reasons)
    pool.sort(key=cost)
    pick = pool[0]
    b = pick.best
    assert b is not None
    reasons = [
        f"{pick.name}: policy {pick.policy_status}; meets the SLO on {b.gpus_total} × {b.gpu} "
        f"({b.replicas} replica(s) of {b.gpus_per_replica}, {b.latency_source}); "
        f"{wl.horizon_years}-year cost ${b.horizon_cost:,.0f} ({b.cost_option}), ${b.cost_per_mtok:,.3f}/M tokens"
    ]
    for c in cands:
        if c is pick:
            continue
        if c in pool:
            reasons.append(f"{c.name}: also eligible, ${cost(c):,.0f} ({_pct(cost(c), cost(pick))})")
        else:
            reasons.append(f"{c.name}: not eligible — {_why_not(c)}")
    trade = []
    for pd in diffs:
        d = pd.difference
        if not d.significant or d.verdict == "not tested":
            continue
        other = pd.b if pd.a == pick.name else pd.a if pd.b == pick.name else None
        if other is None:
            continue
        # orient as other − pick
        sign = 1.0 if pd.b == other else -1.0
        delta = (d.difference or 0.0) * sign
        lo, hi = sorted(((d.ci_low or 0.0) * sign, (d.ci_high or 0.0) * sign))
        better = (delta > 0) == (d.better == "higher")
        oc = next(c for c in cands if c.name == other)
        if better:
            extra = cost(oc) - cost(pick)
            cost_txt = (
                f"at ${extra:+,.0f} over {wl.horizon_years} years ({_pct(cost(oc), cost(pick))})"
                if math.isfinite(extra)
                else "but it has no costed configuration that meets the SLO"
            )
            trade.append(
                f"{other} is significantly better on {d.fact}: {delta:+.3f} (95% CI [{lo:+.3f}, {hi:+.3f}], "
                f"{d.test.split(' (')[0]} Holm-adjusted p = {d.p_adjusted:.3g}, n = {d.n_shared}) {cost_txt}"
            )
    flips = _flips(pick, pool, wl, book)
    return Recommendation(
        candidate=pick.name, status=status, rule=rule, reasons=reasons, trade_offs=trade, flips=flips
    )


def _flips(pick: Candidate, pool: list[Candidate], wl: WorkloadFile, book: Any) -> list[str]:
    out: list[str] = []
    others = [c for c in pool if c is not pick and c.best is not None]
    base = wl.traffic_workload().daily_requests
    for direction, factors in (
        ("up", [10 ** (k / 10) for k in range(1, 31)]),
        ("down", [10 ** (-k / 10) for k in range(1, 31)]),
    ):
        for f in factors:
            costs = {c.name: cost_at_volume(c.best, wl, book, f) for c in [pick, *others] if c.best}
            valid = {k: v for k, v in costs.items() if v is not None}
            if not valid:
                break
            winner = min(valid, key=lambda k: valid[k])
            if winner != pick.name:
                out.append(
                    f"at {base * f:,.0f} requests/day (×{f:.2g} the workload's volume) {winner} becomes "
                    f"the cheaper eligible candidate"
                )
                break
        else:
            if others:
                out.append(
                    f"volume {'×1000' if direction == 'up' else '÷1000'}: {pick.name} stays the cheapest eligible candidate"
                )
    b = pick.best
    if b is not None and b.min_ttft_s is not None and b.latency_source == "planner estimate":
        nxt = next(
            (c.name for c in others if c.best and (c.best.min_ttft_s or math.inf) < b.min_ttft_s), None
        )
        out.append(
            f"a TTFT p95 SLO below {b.min_ttft_s:.3g} s (its estimated TTFT at concurrency 1 on {b.gpu}) rules "
            f"{pick.name} out on that GPU" + (f"; {nxt} estimates lower" if nxt else "")
        )
    if b is not None and b.min_tpot_s is not None and b.latency_source == "planner estimate":
        out.append(
            f"a TPOT p95 SLO below {b.min_tpot_s * 1000:.3g} ms (estimated at concurrency 1 on {b.gpu}) rules "
            f"{pick.name} out on that GPU"
        )
    return out


def _why_not(c: Candidate) -> str:
    parts = []
    if c.verified is False:
        parts.append("dossier does not verify")
    if not c.passes_policy:
        parts.append(f"policy {c.policy_status}")
    if not c.meets_slo:
        parts.append("meets the SLO on no GPU considered" if c.sizings else "not sized")
    elif c.best is None or c.best.horizon_cost is None:
        parts.append("no costed configuration")
    return ", ".join(parts) or "more expensive"


def _pct(x: float, base: float) -> str:
    if not math.isfinite(x) or base <= 0:
        return "n/a"
    return f"{(x / base - 1) * 100:+.0f} %"
