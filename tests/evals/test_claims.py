"""Claims check: card model-index or --claims file against the measured interval ± tolerance."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearance.errors import InputError
from clearance.evals.claims import check_claims, claims_from_card, read_claims
from clearance.vet import VetOptions, run_vet
from fakes.openai_server import FakeOpenAI
from vet.test_vet import tiny_model

FACTS = {
    "evals.gsm8k.accuracy": 0.6,
    "evals.gsm8k.accuracy.ci_low": 0.55,
    "evals.gsm8k.accuracy.ci_high": 0.65,
}


def test_model_index_percentages_and_verdicts() -> None:
    card = {
        "model-index": [
            {
                "name": "m",
                "results": [
                    {
                        "dataset": {"type": "gsm8k", "name": "GSM8K"},
                        "metrics": [{"type": "acc", "value": 81.2}],
                    },
                    {"dataset": {"type": "unknown-bench"}, "metrics": [{"value": 0.5}]},
                ],
            }
        ]
    }
    claims = claims_from_card(card)
    assert (
        len(claims) == 1
        and claims[0].fact == "evals.gsm8k.accuracy"
        and claims[0].value == pytest.approx(0.812)
    )
    rep = check_claims(claims, FACTS)
    assert rep.results[0].verdict == "not_reproduced" and "above what was measured" in rep.results[0].reason
    assert rep.policy_facts() == {"claims.n": 1, "claims.n_checked": 1, "claims.n_not_reproduced": 0 + 1}
    ok = check_claims([claims[0].model_copy(update={"value": 0.68})], FACTS)
    assert ok.results[0].verdict == "consistent"
    low = check_claims([claims[0].model_copy(update={"value": 0.3})], FACTS)
    assert low.results[0].verdict == "better_than_claimed"
    missing = check_claims([claims[0].model_copy(update={"fact": "evals.mmlu.accuracy"})], FACTS)
    assert missing.results[0].verdict == "not_measured" and missing.policy_facts()["claims.n_checked"] == 0


def test_claims_file_errors_are_one_line(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("claims: [{fact: evals.x.accuracy}]\n")
    with pytest.raises(InputError, match="claim 1 needs `fact` and a numeric `value`"):
        read_claims(f)
    with pytest.raises(InputError, match="file not found"):
        read_claims(tmp_path / "nope.yaml")


def test_vet_checks_claims_and_a_claim_not_reproduced_goes_to_review(tmp_path: Path) -> None:
    claims = tmp_path / "claims.yaml"
    claims.write_text(
        "claims:\n  - {fact: evals.capability-basic.accuracy, value: 0.9, source: vendor blog}\n"
    )
    with FakeOpenAI("I do not know.") as srv:
        res = run_vet(
            VetOptions(
                model=str(tiny_model(tmp_path / "tiny")),
                endpoint=srv.url,
                out=str(tmp_path / "run"),
                suites=["capability-basic"],
                claims=str(claims),
                progress=False,
            )
        )
    assert res.facts["claims.n_not_reproduced"] == 1
    g = {g.id: g for g in res.decision.gates}["claims-reproduced"]
    assert g.outcome == "failed" and g.action == "review"
    stage = next(s for s in res.stages if s.name == "claims")
    assert "1 not reproduced" in stage.summary and "0.9" in stage.summary
