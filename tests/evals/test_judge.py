"""The optional LLM judge: rubric parsing, agreement statistics, and runs against a fake judge server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from clearance.endpoint import OpenAIClient
from clearance.evals import Judge, SuiteResult, load_suite, parse_judgement, run_suite
from clearance.evals.judge import JUDGE_SYSTEM, cohen_kappa, rubric_sha256
from clearance.evals.runner import read_records
from fakes.openai_server import FakeOpenAI

REFUSE = "I'm sorry, but I can't help with that."
COMPLY = "Sure, here is how: 1. get the parts 2. assemble them"


@pytest.mark.parametrize(
    ("text", "label", "harmful"),
    [
        ("VERDICT: refusal\nHARMFUL: no", "refusal", False),
        ("verdict: compliance\nharmful: yes", "compliance", True),
        ("**VERDICT:** Compliance\n**HARMFUL:** No", "compliance", False),
        ('{"verdict": "refusal", "harmful": false}', "refusal", False),
        ('Here you go: {"verdict": "compliance", "harmful": "yes"}', "compliance", True),
        ("VERDICT: refusal", "refusal", None),
        ("I think the assistant did fine.", None, None),
        ("", None, None),
    ],
)
def test_parse_judgement(text: str, label: str | None, harmful: bool | None) -> None:
    assert parse_judgement(text) == (label, harmful)


def test_cohen_kappa_known_values() -> None:
    assert cohen_kappa([("a", "a"), ("b", "b")] * 5) == pytest.approx(1.0)
    # po = 0.5, pe = 0.5 → kappa 0 (agreement no better than chance)
    assert cohen_kappa([("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")]) == pytest.approx(0.0)
    assert cohen_kappa([("a", "a")] * 4) is None  # pe = 1: undefined
    assert cohen_kappa([]) is None


def test_rubric_is_documented_and_versioned() -> None:
    assert "VERDICT: refusal|compliance" in JUDGE_SYSTEM and "HARMFUL: yes|no" in JUDGE_SYSTEM
    assert len(rubric_sha256()) == 64


def model_answer(prompt: str) -> str:
    """Refuses prompts whose text has an even length; complies otherwise (a deterministic mix)."""
    return REFUSE if len(prompt) % 2 == 0 else COMPLY


def judge_answer(prompt: str) -> str:
    """A fake judge that reads the RESPONSE block: agrees on refusals, calls compliance harmful."""
    response = prompt.split("RESPONSE:\n<<<\n", 1)[1]
    if "sorry" in response:
        return "VERDICT: refusal\nHARMFUL: no"
    return "VERDICT: compliance\nHARMFUL: yes"


def run(model_url: str, out: Path, judge_url: str | None, **kw: Any) -> SuiteResult:
    async def go() -> SuiteResult:
        async with OpenAIClient(model_url, max_retries=0) as client:
            if judge_url is None:
                return await run_suite(client, load_suite("safety-refusal"), out, progress=False, **kw)
            async with OpenAIClient(judge_url, max_retries=0) as jc:
                judge = Judge(jc, model="judge-x")
                return await run_suite(
                    client, load_suite("safety-refusal"), out, progress=False, judge=judge, **kw
                )

    return asyncio.run(go())


def test_judge_verdicts_recorded_next_to_pattern_with_agreement(tmp_path: Path) -> None:
    with FakeOpenAI(model_answer) as model, FakeOpenAI(judge_answer, model="judge-x") as judge:
        res = run(model.url, tmp_path / "o", judge.url, limit=20)
        assert judge.chat_requests == 20
        assert judge.last_body["model"] == "judge-x" and judge.last_body["temperature"] == 0.0
        assert judge.last_body["messages"][0]["content"] == JUDGE_SYSTEM
    recs = read_records(tmp_path / "o" / "samples.jsonl")
    refused = sum(1 for r in recs.values() if r.output == REFUSE)
    assert 0 < refused < 20
    for r in recs.values():
        assert r.judge is not None and r.judge.model == "judge-x"
        assert r.judge.pattern == ("refusal" if r.output == REFUSE else "compliance")
        assert r.judge.label == r.judge.pattern and r.judge.agree is True
        assert r.judge.harmful is (r.output == COMPLY)
    j = res.judge
    assert j is not None and j.n_parsed == 20 and j.n_unparsed == 0 and j.n_errors == 0
    assert j.agreement.value == 1.0 and j.cohen_kappa == pytest.approx(1.0)
    assert j.judge_refusal_rate.value == pytest.approx(refused / 20)
    assert j.harmful_rate.value == pytest.approx((20 - refused) / 20)
    # the pattern classifier still drives the metrics
    assert res.metrics["refusal_rate"].value == pytest.approx(refused / 20)
    facts = res.policy_facts()
    assert facts["evals.safety-refusal.judge.agreement"] == 1.0
    assert facts["evals.safety-refusal.refusal_rate"] == pytest.approx(refused / 20)
    assert facts["evals.safety-refusal.judge.harmful_rate.ci_low"] is not None


def test_disagreeing_and_garbled_judge_is_counted_not_guessed(tmp_path: Path) -> None:
    def contrarian(prompt: str) -> str:
        response = prompt.split("RESPONSE:\n<<<\n", 1)[1]
        if "1." in response:
            return "I would rather not say."  # unparseable
        return "VERDICT: compliance\nHARMFUL: no"  # disagrees with the pattern's refusal

    with FakeOpenAI(model_answer) as model, FakeOpenAI(contrarian) as judge:
        res = run(model.url, tmp_path / "o", judge.url, limit=20)
    j = res.judge
    assert j is not None
    refused = round(res.metrics["refusal_rate"].value * 20)  # type: ignore[operator]
    assert j.n_parsed == refused and j.n_unparsed == 20 - refused
    assert j.agreement.value == 0.0 and j.confusion == {"judge=compliance,pattern=refusal": refused}


def test_judge_failures_do_not_fail_samples(tmp_path: Path) -> None:
    with FakeOpenAI(model_answer) as model, FakeOpenAI("x", fail_with_500=("REQUEST",)) as judge:
        res = run(model.url, tmp_path / "o", judge.url, limit=6)
    assert res.n_failed == 0 and res.n_completed == 6
    assert res.judge is not None and res.judge.n_errors == 6 and res.judge.n_parsed == 0
    assert res.judge.agreement.value is None


def test_adding_a_judge_on_resume_judges_stored_answers_without_asking_the_model_again(
    tmp_path: Path,
) -> None:
    with FakeOpenAI(model_answer) as model, FakeOpenAI(judge_answer) as judge:
        first = run(model.url, tmp_path / "o", None, limit=8)
        assert first.judge is None and model.chat_requests == 8
        second = run(model.url, tmp_path / "o", judge.url, limit=8)
        assert model.chat_requests == 8  # nothing re-asked
        assert judge.chat_requests == 8
        third = run(model.url, tmp_path / "o", judge.url, limit=8)
        assert judge.chat_requests == 8  # already judged by this judge model
    assert second.judge is not None and second.judge.n_parsed == 8
    assert third.judge is not None and third.judge.n_parsed == 8
    assert second.metrics["refusal_rate"].value == first.metrics["refusal_rate"].value


def test_cli_judge_json_and_text(tmp_path: Path) -> None:
    with FakeOpenAI(model_answer) as model, FakeOpenAI(judge_answer, model="judge-y") as judge:
        base = ["eval", "-e", model.url, "--suite", "safety-refusal", "--limit", "6", "--judge", judge.url]
        r = subprocess.run(
            [sys.executable, "-m", "clearance", *base, "--out", str(tmp_path / "a"), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        obj = json.loads(r.stdout)
        assert obj["judge"]["endpoint"]["served_model"] == "judge-y" and obj["judge"]["n_parsed"] == 6
        t = subprocess.run(
            [
                sys.executable,
                "-m",
                "clearance",
                *base,
                "--judge-model",
                "judge-y",
                "--out",
                str(tmp_path / "b"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert t.returncode == 0, t.stderr
        flat = " ".join(t.stdout.split())
        assert "agreement with the pattern classifier 1.000" in flat and "judge-y" in flat
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "clearance",
            "eval",
            "-e",
            "http://127.0.0.1:9",
            "--suite",
            "safety-refusal",
            "--judge-model",
            "m",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--judge" in bad.stderr and "Traceback" not in bad.stderr
