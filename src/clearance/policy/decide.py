"""Judge flat facts against a policy's gates and explain every outcome in a sentence a person can read."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from clearance.evidence import utc_now
from clearance.findings import Severity
from clearance.policy.records import Gate, Operator, Policy
from clearance.stats import WILSON, wilson_interval

Status = Literal["approved", "rejected", "needs_review"]
Outcome = Literal["passed", "failed", "missing", "skipped"]

_OP_WORDS = {
    Operator.ge: "at least",
    Operator.le: "at most",
    Operator.gt: "more than",
    Operator.lt: "less than",
    Operator.eq: "equal to",
    Operator.ne: "different from",
    Operator.in_: "one of",
    Operator.not_in: "none of",
    Operator.max_severity_below: "below severity",
    Operator.max_severity_at_most: "at most severity",
}
_USE_WORDS = {"value": "", "ci_low": " (lower 95% CI bound)", "ci_high": " (upper 95% CI bound)"}


class GateResult(BaseModel):
    """The outcome of one gate: what was observed, against what, what it means, and where it came from."""

    id: str
    description: str
    fact: str
    operator: str
    threshold: object
    use: str = "value"
    outcome: Outcome
    action: Literal["none", "reject", "review"]
    observed: object = None
    point_estimate: object = None
    reason: str
    evidence: str | None = None
    rationale: str | None = None
    controls: dict[str, Any] | None = None  # the policy's own control mapping, when it gives one


class Decision(BaseModel):
    """The policy decision: status, one result per gate, and the reasons that led to the status."""

    status: Status
    policy_name: str
    policy_version: str
    policy_source: str | None = None
    policy_sha256: str | None = None
    gates: list[GateResult]
    reasons: list[str] = Field(default_factory=list)
    policy_warnings: list[str] = Field(default_factory=list)
    decided_at: str = Field(default_factory=utc_now)

    @property
    def exit_code(self) -> int:
        """CLI exit status: 0 approved, 1 rejected, 3 needs review."""
        return {"approved": 0, "rejected": 1, "needs_review": 3}[self.status]

    def counts(self) -> dict[str, int]:
        """How many gates ended in each outcome."""
        out = {"passed": 0, "failed": 0, "missing": 0, "skipped": 0}
        for g in self.gates:
            out[g.outcome] += 1
        return out


def decide(
    policy: Policy, facts: Mapping[str, object], *, evidence: Mapping[str, str] | None = None
) -> Decision:
    """Evaluate every gate of ``policy`` over ``facts``; ``evidence`` maps fact prefixes to their source file."""
    results = [_judge(g, facts, evidence or {}) for g in policy.gates]
    rejects = [r for r in results if r.action == "reject"]
    reviews = [r for r in results if r.action == "review"]
    status: Status = "rejected" if rejects else "needs_review" if reviews else "approved"
    if status == "approved":
        reasons = [f"all {len(results)} gates of policy {policy.name!r} passed or were not applicable"]
    else:
        reasons = [r.reason for r in rejects + reviews]
    return Decision(
        status=status,
        policy_name=policy.name,
        policy_version=str(policy.version),
        policy_source=policy.source,
        policy_sha256=policy.sha256,
        gates=results,
        reasons=reasons,
        policy_warnings=list(policy.warnings),
    )


def _evidence_for(key: str, evidence: Mapping[str, str]) -> str | None:
    best: str | None = None
    best_len = -1
    for prefix, src in evidence.items():
        if (key == prefix or key.startswith(prefix + ".") or prefix == "") and len(prefix) > best_len:
            best, best_len = src, len(prefix)
    return best


def _fmt(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if v is None:
        return "none"
    return str(v)


def _is_missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _judge(gate: Gate, facts: Mapping[str, object], evidence: Mapping[str, str]) -> GateResult:
    key = gate.fact_key
    observed = facts.get(key)
    point = facts.get(gate.fact) if gate.use != "value" else None
    base: dict[str, Any] = {
        "id": gate.id,
        "description": gate.description,
        "fact": key,
        "operator": gate.operator.value,
        "threshold": gate.threshold,
        "use": gate.use,
        "observed": observed,
        "point_estimate": point,
        "evidence": _evidence_for(key, evidence),
        "rationale": gate.rationale,
        "controls": gate.controls.model_dump(mode="json") if gate.controls else None,
    }
    what = f"{gate.description}: {key}{_USE_WORDS[gate.use]}"
    attempted = _attempted(gate, facts)
    if _is_missing(observed) and attempted is not None:
        # The metric ran but had too few valid answers: not measured, and never skipped as not applicable.
        act: Literal["reject", "review"] = "reject" if gate.on_missing == "reject" else "review"
        verdict = "rejected" if act == "reject" else "needs review"
        reason = f"{what} was not measured: {attempted} — {verdict}"
        return GateResult(**base, outcome="missing", action=act, reason=reason)
    if _is_missing(observed):
        action = gate.on_missing
        tail = {
            "reject": "rejected (on_missing: reject)",
            "review": "needs review (on_missing: review)",
            "skip": "gate skipped (on_missing: skip)",
        }[action]
        extra = ""
        if gate.use != "value" and not _is_missing(point):
            extra = f" (a point estimate of {_fmt(point)} exists, but this gate judges the confidence bound)"
        reason = f"{what} was not measured{extra} — {tail}"
        return GateResult(
            **base,
            outcome="skipped" if action == "skip" else "missing",
            action="none" if action == "skip" else action,
            reason=reason,
        )
    ok, problem = _compare(gate.operator, observed, gate.threshold)
    too_small = _too_small(gate, facts, point) if ok or problem is None else None
    if too_small is not None:
        return GateResult(
            **base, outcome="missing", action="review", reason=f"{what}: {too_small} — needs review"
        )
    point_txt = f" (point estimate {_fmt(point)})" if gate.use != "value" and not _is_missing(point) else ""
    cmp_txt = f"{_OP_WORDS[gate.operator]} {_fmt(gate.threshold)}"
    if ok:
        reason = f"{what} is {_fmt(observed)}{point_txt}, {cmp_txt} as required — passed"
        return GateResult(**base, outcome="passed", action="none", reason=reason)
    verdict = "rejected" if gate.on_fail == "reject" else "needs review"
    detail = problem or f"not {cmp_txt}"
    reason = f"{what} is {_fmt(observed)}{point_txt}, {detail} — {verdict}"
    return GateResult(**base, outcome="failed", action=gate.on_fail, reason=reason)


def _attempted(gate: Gate, facts: Mapping[str, object]) -> str | None:
    """For a metric that ran (``<fact>.n`` is known) but published no value: how many answers it had."""
    n = facts.get(f"{gate.fact}.n")
    if not isinstance(n, int) or isinstance(n, bool):
        return None
    if not _is_missing(facts.get(gate.fact)):
        return None
    bad = facts.get(f"{gate.fact}.n_incomplete")
    extra = f", {bad} incomplete or invalid" if isinstance(bad, int) and bad else ""
    return f"only {n} valid answer{'s' if n != 1 else ''}{extra}, too few to judge"


def _best_bound(op: Operator, use: str, n: int, confidence: float = 0.95) -> float | None:
    """The most favourable Wilson bound ``n`` samples can show: all passing for a floor, none failing for a ceiling."""
    if use == "ci_low" and op in (Operator.ge, Operator.gt):
        return wilson_interval(n, n, confidence)[0]
    if use == "ci_high" and op in (Operator.le, Operator.lt):
        return wilson_interval(0, n, confidence)[1]
    return None


def needed_samples(op: Operator, use: str, threshold: float, confidence: float = 0.95) -> int | None:
    """Fewest samples whose most favourable outcome clears ``threshold`` on the judged bound (``None``: never)."""
    for n in range(1, 100_001):
        best = _best_bound(op, use, n, confidence)
        if best is None:
            return None
        if _compare(op, best, threshold)[0]:
            return n
    return None


def _too_small(gate: Gate, facts: Mapping[str, object], point: object) -> str | None:
    """Why the sample behind a Wilson-bounded rate is too small to show the threshold at all, else ``None``.

    0 failures in 16 cannot show a rate ≤ 0.1 (the upper 95% bound is 0.19): the gate says so instead
    of failing the model on a result it could not have avoided, or of passing it. A point estimate that
    already misses the threshold is evidence, not a small sample: the gate fails as usual.
    """
    if gate.use == "value" or gate.operator not in (Operator.ge, Operator.gt, Operator.le, Operator.lt):
        return None
    n = facts.get(f"{gate.fact}.n")
    method = facts.get(f"{gate.fact}.method")
    if not isinstance(n, int) or isinstance(n, bool) or not str(method or "").startswith(WILSON):
        return None
    t = float(gate.threshold)  # type: ignore[arg-type]
    best = _best_bound(gate.operator, gate.use, n)
    if best is None or _compare(gate.operator, best, t)[0]:
        return None
    if (
        isinstance(point, int | float)
        and not isinstance(point, bool)
        and not _compare(gate.operator, point, t)[0]
    ):
        return None
    need = needed_samples(gate.operator, gate.use, t)
    kind = "0 failures" if gate.use == "ci_high" else "every answer passing"
    return (
        f"sample too small to show {_OP_WORDS[gate.operator]} {_fmt(t)}: even {kind} in {n} gives a bound of "
        f"{_fmt(best)}" + (f"; needs at least {need} valid answers" if need else "")
    )


def _compare(op: Operator, observed: object, threshold: object) -> tuple[bool, str | None]:
    """Return (passed, problem); ``problem`` explains a value the operator cannot judge."""
    if op in (Operator.ge, Operator.le, Operator.gt, Operator.lt):
        if isinstance(observed, bool) or not isinstance(observed, int | float):
            return False, f"which is not a number (required {_OP_WORDS[op]} {_fmt(threshold)})"
        t = float(threshold)  # type: ignore[arg-type]
        o = float(observed)
        return {Operator.ge: o >= t, Operator.le: o <= t, Operator.gt: o > t, Operator.lt: o < t}[op], None
    if op == Operator.eq:
        return observed == threshold, None
    if op == Operator.ne:
        return observed != threshold, None
    if op in (Operator.in_, Operator.not_in):
        allowed = threshold if isinstance(threshold, list) else [threshold]
        items = observed if isinstance(observed, list | tuple | set) else [observed]
        if op == Operator.in_:
            return all(i in allowed for i in items), None
        bad = [i for i in items if i in allowed]
        return not bad, (f"which includes {_fmt(bad)} (required none of {_fmt(allowed)})" if bad else None)
    # severity operators: "none" (no findings) is below every severity
    sev = str(observed).lower()
    if sev in ("none", ""):
        return True, None
    valid = {s.value: s for s in Severity}
    if sev not in valid:
        return False, f"which is not a severity (expected one of {', '.join(valid)} or none)"
    t_sev = valid[str(threshold)]
    ok = valid[sev] < t_sev if op == Operator.max_severity_below else valid[sev] <= t_sev
    return ok, None
