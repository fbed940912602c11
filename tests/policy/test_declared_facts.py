"""Declared facts: a misspelt fact in a policy is an error with a suggestion and its line, never 'missing'."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clearance.errors import PolicyError
from clearance.facts import declared_facts
from clearance.policy import default_policy_path, load_policy, parse_policy

POLICY = """\
name: held-out
gates:
  - id: scan-clean
    description: no high findings
    fact: scan.max_severity
    operator: max_severity_below
    threshold: high
  - id: refuses-harm
    description: refuses harmful requests
    fact: {fact}
    operator: ">="
    threshold: 0.9
    use: {use}
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("fact", "suggestion"),
    [
        ("evals.safety-refusal.refusl_rate", "evals.safety-refusal.refusal_rate"),
        ("evals.safty-refusal.refusal_rate", "evals.safety-refusal.refusal_rate"),
        ("evals.capability-basic.acuracy", "evals.capability-basic.accuracy"),
        ("load.ttft_p95", "load.ttft_p95_s"),
        ("plan.fit", "plan.fits"),
        ("load.error-rate", "load.error_rate"),
        (
            "baseline.evals.safety-refusal.refusl_rate.delta",
            "baseline.evals.safety-refusal.refusal_rate.delta",
        ),
    ],
)
def test_misspelt_fact_is_rejected_with_line_and_suggestion(fact: str, suggestion: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(POLICY.format(fact=fact, use="value"), source="p.yaml")
    msg = str(err.value)
    assert msg.startswith("policy p.yaml:10: gate 'refuses-harm': unknown fact")
    assert f"did you mean {suggestion!r}" in msg


def test_unknown_fact_without_any_close_name_still_fails() -> None:
    with pytest.raises(PolicyError, match=r"unknown fact 'quality\.vibes'"):
        parse_policy(POLICY.format(fact="quality.vibes", use="value"), source="p.yaml")


def test_bound_must_exist_for_the_fact() -> None:
    with pytest.raises(
        PolicyError, match=r"p.yaml:13: gate 'refuses-harm': fact 'plan.max_concurrency' has no ci_low"
    ):
        parse_policy(POLICY.format(fact="plan.max_concurrency", use="ci_low"), source="p.yaml")
    pol = parse_policy(POLICY.format(fact="evals.safety-refusal.refusal_rate", use="ci_low"))
    assert pol.gates[1].fact_key == "evals.safety-refusal.refusal_rate.ci_low"


def test_declared_facts_resolve_bounds_placeholders_and_suite_metrics() -> None:
    cat = declared_facts()
    for name in (
        "evals.safety-refusal.refusal_rate.ci_low",
        "evals.xstest.n_failed",
        "scan.findings.critical",
        "tco.api.gpt-4o.cost_per_mtok",
        "tco.break_even.onprem_vs_rental_on_demand.month",
        "load.determinism.identical_rate.ci_high",
    ):
        assert cat.find(name) is not None, name
    for name in ("scan.findings.severe", "evals.no-such-suite.n_failed", "plan.fits.ci_low"):
        assert cat.find(name) is None, name
    assert "Wilson" in (cat.meaning("evals.safety-refusal.refusal_rate") or "")


def test_a_suite_file_declares_its_own_metrics(tmp_path: Path) -> None:
    suite = tmp_path / "mine.yaml"
    suite.write_text(
        "name: mine\ndataset: {loader: jsonl, path: x.jsonl}\nscorers: [match]\nmetrics: [accuracy]\n"
    )
    pol = tmp_path / "p.yaml"
    pol.write_text(POLICY.format(fact="evals.mine.accuracy", use="ci_low"))
    with pytest.raises(PolicyError, match=r"unknown fact 'evals\.mine\.accuracy'"):
        load_policy(pol)
    assert load_policy(pol, suites=[str(suite)]).gates[1].fact == "evals.mine.accuracy"


def test_shipped_and_example_policies_use_declared_facts() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "examples"
    for p in [default_policy_path(), *sorted(docs.glob("policy*.yaml"))]:
        load_policy(p)


def test_policy_check_and_vet_exit_2_on_a_misspelt_fact(tmp_path: Path) -> None:
    pol = tmp_path / "held-out.yaml"
    pol.write_text(POLICY.format(fact="evals.safety-refusal.refusl_rate", use="ci_low"))
    for args in (("policy", "check", str(pol)), ("vet", str(tmp_path), "--policy", str(pol))):
        r = cli(*args)
        assert r.returncode == 2, r.stderr
        lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
        assert len(lines) == 1 and lines[0].startswith("error: policy ") and "Traceback" not in r.stderr
        assert "held-out.yaml:10" in lines[0] and "'evals.safety-refusal.refusal_rate'" in lines[0]
    assert not (tmp_path / "clearance-runs").exists()


def test_policy_facts_lists_the_catalogue_as_json() -> None:
    r = cli("policy", "facts", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    by_name = {f["name"]: f for f in data["facts"]}
    assert by_name["evals.safety-refusal.refusal_rate"]["bounds"] == ["ci_low", "ci_high"]
    assert by_name["plan.ttft_s"]["unit"] == "s" and by_name["plan.fits"]["type"] == "bool"
    assert "safety-refusal" in data["placeholders"]["suite"]["values"]
    assert cli("policy", "check", str(default_policy_path())).returncode == 0
