"""Judge flat facts against a policy's gates and explain every outcome in a sentence a person can read."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from clearance.evidence import utc_now
from clearance.findings import Severity
from clearance.policy.records import Gate, Operator, Policy

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
    point_txt = f" (point estimate {_fmt(point)})" if gate.use != "value" and not _is_missing(point) else ""
    cmp_txt = f"{_OP_WORDS[gate.operator]} {_fmt(gate.threshold)}"
    if ok:
        reason = f"{what} is {_fmt(observed)}{point_txt}, {cmp_txt} as required — passed"
        return GateResult(**base, outcome="passed", action="none", reason=reason)
    verdict = "rejected" if gate.on_fail == "reject" else "needs review"
    detail = problem or f"not {cmp_txt}"
    reason = f"{what} is {_fmt(observed)}{point_txt}, {detail} — {verdict}"
    return GateResult(**base, outcome="failed", action=gate.on_fail, reason=reason)


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
