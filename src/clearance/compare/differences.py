"""Tested differences between two runs on the samples they share.

For every suite both runs evaluated with the same dataset bytes and the same settings (the suite's
config digest: prompts, generation parameters, scorers, metrics), every metric with a per-sample form is
tested on the shared samples: proportions with the exact McNemar test and Newcombe's paired interval,
score means with a paired mean difference. The p-values of one comparison are adjusted together with
Holm's method. Suites whose dataset or settings differ are reported as *incomparable*, never tested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from clearance.compare.evidence import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    PROPORTION_METRICS,
    RunEvidence,
    SuiteEvidence,
)
from clearance.compare.paired import (
    HOLM,
    MCNEMAR,
    NEWCOMBE,
    PAIRED_MEAN,
    cohens_h,
    count_pairs,
    holm,
    mcnemar_exact,
    newcombe_interval,
    paired_mean_difference,
)

Direction = Literal["higher", "lower", "unknown"]
ALPHA = 0.05
MIN_PAIRED = 10  # fewer shared samples than this: reported, never called significant


class MetricDifference(BaseModel):
    """One metric compared on shared samples: candidate − baseline, interval, test, effect, verdict."""

    suite: str
    metric: str
    fact: str
    better: Direction
    n_shared: int
    baseline: float | None
    candidate: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    test: str
    interval_method: str
    p_value: float | None
    p_adjusted: float | None = None
    significant: bool = False
    effect_size: float | None = None
    effect_size_name: str = ""
    worse_only: int | None = None  # discordant samples against the candidate
    better_only: int | None = None
    verdict: Literal["regression", "improvement", "no significant difference", "not tested"] = "not tested"
    note: str | None = None

    def sentence(self) -> str:
        """One line a reviewer can read."""
        if self.difference is None:
            return f"{self.fact}: not tested ({self.note or 'no paired form'})"
        sig = (
            f"p = {self.p_value:.3g}, Holm-adjusted {self.p_adjusted:.3g}"
            if self.p_value is not None and self.p_adjusted is not None
            else "no p-value"
        )
        effect = f", {self.effect_size_name} {self.effect_size:+.2f}" if self.effect_size is not None else ""
        return (
            f"{self.fact}: {self.baseline:.3g} → {self.candidate:.3g} "
            f"(Δ {self.difference:+.3f}, 95% CI [{self.ci_low:+.3f}, {self.ci_high:+.3f}], n = {self.n_shared} "
            f"shared; {self.test.split(' (')[0]}: {sig}{effect}) — {self.verdict}"
        )


class Incomparable(BaseModel):
    """A suite present in both runs that cannot be compared, and why."""

    suite: str
    reasons: list[str]


class Flip(BaseModel):
    """A sample that passed in the baseline and fails in the candidate (or the reverse)."""

    suite: str
    sample_id: str
    direction: Literal["pass→fail", "fail→pass"]


class Comparison(BaseModel):
    """All tested differences between a baseline run and a candidate run."""

    baseline: str
    candidate: str
    differences: list[MetricDifference] = Field(default_factory=list)
    incomparable: list[Incomparable] = Field(default_factory=list)
    only_in_baseline: list[str] = Field(default_factory=list)
    only_in_candidate: list[str] = Field(default_factory=list)
    flips: list[Flip] = Field(default_factory=list)
    alpha: float = ALPHA
    correction: str = HOLM

    @property
    def regressions(self) -> list[MetricDifference]:
        """Significant changes for the worse, largest effect first."""
        out = [d for d in self.differences if d.verdict == "regression"]
        return sorted(out, key=lambda d: -abs(d.difference or 0.0))

    @property
    def improvements(self) -> list[MetricDifference]:
        """Significant changes for the better."""
        return [d for d in self.differences if d.verdict == "improvement"]


def direction_of(suite: str, metric: str, policy_gates: Sequence[Mapping[str, Any]] | None) -> Direction:
    """Which way is better for ``evals.<suite>.<metric>``: from a policy gate on it, else the metric kind."""
    fact = f"evals.{suite}.{metric}"
    for g in policy_gates or []:
        if g.get("fact") == fact:
            op = str(g.get("operator"))
            if op in (">=", ">"):
                return "higher"
            if op in ("<=", "<"):
                return "lower"
    if metric in HIGHER_IS_BETTER or metric.startswith("accuracy"):
        return "higher"
    if metric in LOWER_IS_BETTER:
        return "lower"
    return "unknown"


def compare_runs(
    baseline: RunEvidence,
    candidate: RunEvidence,
    *,
    policy_gates: Sequence[Mapping[str, Any]] | None = None,
    alpha: float = ALPHA,
    only_metrics: set[str] | None = None,
) -> Comparison:
    """Paired comparison of ``candidate`` against ``baseline`` (Holm over every test made here).

    ``only_metrics`` restricts the tests to these facts (``evals.<suite>.<metric>``), e.g. gated ones.
    """
    comp = Comparison(baseline=str(baseline.path), candidate=str(candidate.path), alpha=alpha)
    comp.only_in_baseline = sorted(set(baseline.suites) - set(candidate.suites))
    comp.only_in_candidate = sorted(set(candidate.suites) - set(baseline.suites))
    for name in sorted(set(baseline.suites) & set(candidate.suites)):
        a, b = baseline.suites[name], candidate.suites[name]
        why = incomparable_reasons(a, b)
        if why:
            comp.incomparable.append(Incomparable(suite=name, reasons=why))
            continue
        comp.differences.extend(suite_differences(a, b, policy_gates, only_metrics))
        comp.flips.extend(flips(a, b))
    adjust(comp.differences, alpha)
    return comp


def incomparable_reasons(a: SuiteEvidence, b: SuiteEvidence) -> list[str]:
    """Why two runs of a suite cannot be paired (empty when they can)."""
    why = []
    if a.dataset_sha256 != b.dataset_sha256 or a.dataset_sha256 is None:
        why.append(
            f"different dataset bytes (sha256 {_short(a.dataset_sha256)} vs {_short(b.dataset_sha256)})"
        )
    if a.config_digest != b.config_digest or a.config_digest is None:
        changed = sorted(
            k for k in set(a.generation) | set(b.generation) if a.generation.get(k) != b.generation.get(k)
        )
        detail = (
            f": generation {', '.join(f'{k} {a.generation.get(k)} vs {b.generation.get(k)}' for k in changed)}"
            if changed
            else ""
        )
        why.append(
            f"different settings (suite config digest {_short(a.config_digest)} vs {_short(b.config_digest)}{detail})"
        )
    if not why and (not a.scores or not b.scores):
        why.append(a.note or b.note or "no per-sample scores to pair")
    return why


def suite_differences(
    a: SuiteEvidence,
    b: SuiteEvidence,
    policy_gates: Sequence[Mapping[str, Any]] | None,
    only_metrics: set[str] | None = None,
) -> list[MetricDifference]:
    """One ``MetricDifference`` per metric of the suite (untested ones say why)."""
    out = []
    for mname in a.metrics:
        fact = f"evals.{a.name}.{mname}"
        if only_metrics is not None and fact not in only_metrics:
            continue
        better = direction_of(a.name, mname, policy_gates)
        mdef = a.metric_defs.get(mname) or b.metric_defs.get(mname)
        base = MetricDifference(
            suite=a.name,
            metric=mname,
            fact=fact,
            better=better,
            n_shared=0,
            baseline=_val(a.metrics.get(mname)),
            candidate=_val(b.metrics.get(mname)),
            difference=None,
            ci_low=None,
            ci_high=None,
            test="",
            interval_method="",
            p_value=None,
        )
        if mdef is None:
            base.note = "the metric's definition is not known here (suite not built in)"
            out.append(base)
            continue
        ids = sorted(set(a.scores) & set(b.scores))
        if mdef.where:
            md = a.metadata or b.metadata
            if not md:
                base.note = "the metric filters on dataset metadata that is not available"
                out.append(base)
                continue
            ids = [i for i in ids if _matches(md.get(i, {}), mdef.where)]
        ids = [i for i in ids if mdef.scorer in a.scores[i] and mdef.scorer in b.scores[i]]
        base.n_shared = len(ids)
        if not ids:
            base.note = "no shared scored samples"
            out.append(base)
            continue
        xa = [a.scores[i][mdef.scorer] for i in ids]
        xb = [b.scores[i][mdef.scorer] for i in ids]
        if mdef.kind in PROPORTION_METRICS:
            inv = PROPORTION_METRICS[mdef.kind]
            ia = [(v < 0.5) if inv else (v >= 0.5) for v in xa]
            ib = [(v < 0.5) if inv else (v >= 0.5) for v in xb]
            t = count_pairs(ia, ib)
            lo, hi = newcombe_interval(t)
            base.baseline, base.candidate = t.rate_a, t.rate_b
            base.difference, base.ci_low, base.ci_high = t.rate_b - t.rate_a, lo, hi
            base.p_value = mcnemar_exact(t.only_a, t.only_b)
            base.test, base.interval_method = MCNEMAR, NEWCOMBE
            base.effect_size, base.effect_size_name = cohens_h(t.rate_a, t.rate_b), "Cohen's h"
            if better == "lower":
                base.worse_only, base.better_only = t.only_b, t.only_a
            else:
                base.worse_only, base.better_only = t.only_a, t.only_b
        elif mdef.kind == "mean":
            mean, lo, hi, p = paired_mean_difference(xa, xb)
            base.baseline, base.candidate = sum(xa) / len(xa), sum(xb) / len(xb)
            base.difference, base.ci_low, base.ci_high, base.p_value = mean, lo, hi, p
            base.test = base.interval_method = PAIRED_MEAN
            sd = _sd([y - x for x, y in zip(xa, xb, strict=True)])
            if sd > 0:
                base.effect_size, base.effect_size_name = mean / sd, "Cohen's d (paired)"
        else:
            base.note = f"no paired test for metric kind {mdef.kind!r} yet"
        if len(ids) < MIN_PAIRED and base.p_value is not None:
            base.note = f"only {len(ids)} shared samples: never called significant"
        out.append(base)
    return out


def adjust(diffs: list[MetricDifference], alpha: float = ALPHA) -> None:
    """Holm-adjust the p-values of ``diffs`` together and set each verdict."""
    tested = [d for d in diffs if d.p_value is not None]
    for d, p in zip(tested, holm([d.p_value or 1.0 for d in tested]), strict=True):
        d.p_adjusted = p
        d.significant = p < alpha and d.n_shared >= MIN_PAIRED
        diff = d.difference or 0.0
        if not d.significant or diff == 0:
            d.verdict = "no significant difference"
        elif d.better == "unknown":
            d.verdict = "no significant difference"
            d.note = "significant change, but which direction is better is unknown (no gate on it)"
            d.significant = False
        else:
            worse = diff < 0 if d.better == "higher" else diff > 0
            d.verdict = "regression" if worse else "improvement"


def flips(a: SuiteEvidence, b: SuiteEvidence) -> list[Flip]:
    """Shared scored samples whose failing status changed (by each run's own failing rule)."""
    out = []
    for sid in sorted(set(a.scores) & set(b.scores)):
        fa, fb = sid in a.failing, sid in b.failing
        if fa != fb:
            out.append(Flip(suite=a.name, sample_id=sid, direction="pass→fail" if fb else "fail→pass"))
    return out


def _matches(md: Mapping[str, object], where: Mapping[str, object]) -> bool:
    for k, want in where.items():
        have = md.get(k)
        if isinstance(want, list):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


def _val(m: object) -> float | None:
    if isinstance(m, dict) and isinstance(m.get("value"), int | float):
        return float(m["value"])
    return None


def _sd(xs: list[float]) -> float:
    if len(xs) < 2:
        return 0.0
    mu = sum(xs) / len(xs)
    return math.sqrt(sum((x - mu) ** 2 for x in xs) / (len(xs) - 1))


def _short(x: str | None) -> str:
    return x[:12] if x else "none"
