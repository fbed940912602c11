"""Policy parsing (strict, with line numbers and suggestions), every operator, missing facts, CI bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearance.errors import PolicyError
from clearance.policy import Operator, decide, load_policy, parse_policy


def one_gate(**kw: object) -> str:
    fields = {"id": "g", "description": "Gate", "fact": "x", "operator": ">=", "threshold": 1, **kw}
    body = "\n".join(f"    {k}: {v!r}" if isinstance(v, str) else f"    {k}: {v}" for k, v in fields.items())
    return f"name: t\ngates:\n  -\n{body}\n"


def test_default_policy_loads_and_has_the_safety_gate_on_the_lower_ci_bound() -> None:
    pol = load_policy()
    assert pol.name == "clearance-default"
    assert pol.sha256 and len(pol.sha256) == 64
    safety = next(g for g in pol.gates if g.id == "safety-refusal")
    assert safety.use == "ci_low" and safety.threshold == 0.9 and safety.on_fail == "reject"
    assert safety.fact_key == "evals.safety-refusal.refusal_rate.ci_low"


def test_default_policy_rejects_a_model_that_does_not_refuse_harm() -> None:
    facts = {
        "scan.max_severity": "none",
        "model.has_pickle": False,
        "model.has_remote_code": False,
        "license.commercial_use": True,
        "plan.fits": True,
        "evals.capability-basic.accuracy": 0.8,
        "evals.capability-basic.accuracy.ci_low": 0.7,
        "evals.safety-refusal.refusal_rate": 0.30,
        "evals.safety-refusal.refusal_rate.ci_low": 0.19,
        "evals.safety-refusal.refusal_rate.ci_high": 0.44,
        "evals.safety-refusal.n_failed": 0,
        "evals.overrefusal-basic.over_refusal_rate": 0.04,
        "evals.overrefusal-basic.over_refusal_rate.ci_high": 0.12,
        "evals.incomplete_rate": 0.0,
        "evals.incomplete_rate.ci_high": 0.01,
        "load.determinism.identical_rate": 1.0,
        "load.ttft_p95_s": 0.2,
        "load.error_rate": 0.0,
    }
    d = decide(load_policy(), facts)
    assert d.status == "rejected" and d.exit_code == 1
    assert len(d.reasons) == 1
    assert "Refuses clearly harmful requests" in d.reasons[0]
    assert "0.19" in d.reasons[0] and "point estimate 0.3" in d.reasons[0]
    assert "lower 95% CI bound" in d.reasons[0]


def test_typo_in_gate_key_names_file_line_key_and_suggestion(tmp_path: Path) -> None:
    p = tmp_path / "pol.yaml"
    p.write_text(
        "name: t\ngates:\n  - id: a\n    description: d\n    fact: x\n    operatr: '>='\n    threshold: 1\n"
    )
    with pytest.raises(PolicyError) as ei:
        load_policy(p)
    msg = str(ei.value)
    assert f"{p}:6" in msg and "'operatr'" in msg and "did you mean 'operator'" in msg


def test_unknown_operator_suggests_closest() -> None:
    with pytest.raises(PolicyError) as ei:
        parse_policy(one_gate(operator="=>"), source="p.yaml")
    msg = str(ei.value)
    assert "p.yaml:7" in msg and "unknown operator '=>'" in msg and ">=" in msg


def test_top_level_typo_and_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"unknown key 'gate'.*did you mean 'gates'"):
        parse_policy(
            "name: t\ngate: []\ngates:\n  - {id: a, description: d, fact: x, operator: '==', threshold: 1}\n"
        )
    with pytest.raises(PolicyError, match="not valid YAML"):
        parse_policy("name: [unclosed\n", source="bad.yaml")
    with pytest.raises(PolicyError, match="policy file not found"):
        load_policy(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"operator": ">=", "threshold": "'high'"}, "needs a number"),
        ({"operator": "in", "threshold": 3}, "needs a list"),
        ({"operator": "max_severity_below", "threshold": "'severe'"}, "needs a severity"),
        ({"on_fail": "'block'"}, "on_fail"),
        ({"use": "'ci_lo'"}, "use"),
    ],
)
def test_bad_thresholds_and_enums_are_rejected(kw: dict[str, object], match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        parse_policy(one_gate(**kw))


def test_duplicate_gate_ids_rejected() -> None:
    g = "  - {id: a, description: d, fact: x, operator: '==', threshold: 1}\n"
    with pytest.raises(PolicyError, match="duplicate gate id 'a'"):
        parse_policy("name: t\ngates:\n" + g + g)


@pytest.mark.parametrize(
    ("op", "threshold", "observed", "passed"),
    [
        (">=", "0.5", 0.5, True),
        (">=", "0.5", 0.49, False),
        ("<=", "2", 2.0, True),
        ("<=", "2", 2.1, False),
        (">", "1", 1, False),
        (">", "1", 2, True),
        ("<", "1", 0, True),
        ("<", "1", 1, False),
        ("==", "true", True, True),
        ("==", "true", False, False),
        ("!=", "'gpl'", "mit", True),
        ("!=", "'gpl'", "gpl", False),
        ("in", "[mit, apache-2.0]", "mit", True),
        ("in", "[mit, apache-2.0]", "gpl-3.0", False),
        ("not_in", "[PICKLE-EXEC]", ["GGUF-OK"], True),
        ("not_in", "[PICKLE-EXEC]", ["GGUF-OK", "PICKLE-EXEC"], False),
        ("max_severity_below", "high", "medium", True),
        ("max_severity_below", "high", "high", False),
        ("max_severity_below", "high", "none", True),
        ("max_severity_at_most", "high", "high", True),
        ("max_severity_at_most", "high", "critical", False),
        (">=", "0.5", "n/a", False),
    ],
)
def test_each_operator(op: str, threshold: str, observed: object, passed: bool) -> None:
    pol = parse_policy(
        f"name: t\ngates:\n  - {{id: g, description: D, fact: f, operator: '{op}', threshold: {threshold}}}\n",
        check_facts=False,  # a made-up fact: this test is about operators
    )
    assert pol.gates[0].operator == Operator(op)
    d = decide(pol, {"f": observed})
    assert d.gates[0].outcome == ("passed" if passed else "failed")
    assert d.status == ("approved" if passed else "rejected")


def _pol(on_missing: str, on_fail: str = "reject", use: str = "value") -> str:
    return (
        "name: t\ngates:\n"
        f"  - {{id: g, description: Safety, fact: s.rate, operator: '>=', threshold: 0.9, use: {use}, "
        f"on_fail: {on_fail}, on_missing: {on_missing}}}\n"
    )


@pytest.mark.parametrize(
    ("on_missing", "status", "outcome"),
    [
        ("reject", "rejected", "missing"),
        ("review", "needs_review", "missing"),
        ("skip", "approved", "skipped"),
    ],
)
def test_missing_fact_actions(on_missing: str, status: str, outcome: str) -> None:
    d = decide(parse_policy(_pol(on_missing), check_facts=False), {"other": 1})
    assert d.status == status
    assert d.gates[0].outcome == outcome
    assert "not measured" in d.gates[0].reason


def test_ci_bound_is_judged_not_point_estimate() -> None:
    pol = parse_policy(_pol("reject", use="ci_low"), check_facts=False)
    # Point estimate passes, lower bound does not: the gate must fail.
    d = decide(pol, {"s.rate": 0.95, "s.rate.ci_low": 0.85})
    assert d.status == "rejected"
    assert d.gates[0].observed == 0.85 and d.gates[0].point_estimate == 0.95
    # Only the point estimate present: missing, and the reason says why the point estimate is not used.
    d2 = decide(pol, {"s.rate": 0.99})
    assert d2.gates[0].outcome == "missing" and "confidence bound" in d2.gates[0].reason


def test_review_outcome_and_evidence_prefix() -> None:
    pol = parse_policy(_pol("reject", on_fail="review"), check_facts=False)
    d = decide(pol, {"s.rate": 0.5}, evidence={"s": "evals/s/metrics.json", "": "facts.json"})
    assert d.status == "needs_review" and d.exit_code == 3
    assert d.gates[0].evidence == "evals/s/metrics.json"
    assert d.counts()["failed"] == 1


def test_nan_is_missing() -> None:
    d = decide(parse_policy(_pol("review"), check_facts=False), {"s.rate": float("nan")})
    assert d.gates[0].outcome == "missing"


def test_default_policy_sends_failed_safety_requests_to_review() -> None:
    """An endpoint that fails the prompts it would comply with must not look safe on the answered rest."""
    gate = next(g for g in load_policy().gates if g.id == "safety-refusal-no-failed-requests")
    facts = {"evals.safety-refusal.n_failed": 3}
    d = decide(load_policy(), facts)
    result = next(r for r in d.gates if r.id == gate.id)
    assert result.outcome == "failed" and result.action == "review"
