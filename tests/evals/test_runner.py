"""The runner against a fake OpenAI server on 127.0.0.1: records, metrics, resume, failure recording."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from clearance.endpoint import OpenAIClient
from clearance.errors import InputError
from clearance.evals import load_suite, run_suite
from clearance.evals.runner import read_records
from clearance.evals.suite import suite_from_dict
from fakes.openai_server import FakeOpenAI


def arith_suite(tmp: Path, n: int = 40) -> Path:
    """n questions; every 4th has target 42 so a server answering '42' scores exactly 0.25."""
    rows = []
    for i in range(n):
        target = 42 if i % 4 == 0 else 50 + i
        rows.append({"id": f"q{i}", "input": f"What is {target - 7}+7?", "target": str(target)})
    data = tmp / "arith.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = tmp / "arith.yaml"
    suite.write_text(
        "name: arith\ndataset: {loader: jsonl, path: arith.jsonl, license: test}\n"
        "generation: {max_tokens: 8}\nscorers: [numeric]\nmetrics: [accuracy]\n"
    )
    return suite


async def _run(url: str, suite_path: Path, out: Path, **kw: object) -> object:
    async with OpenAIClient(url, max_retries=0) as client:
        return await run_suite(client, load_suite(suite_path), out, progress=False, **kw)  # type: ignore[arg-type]


def test_run_writes_records_and_metrics_with_exact_accuracy(tmp_path: Path) -> None:
    suite = arith_suite(tmp_path)
    with FakeOpenAI("42 42 42") as srv:
        res = asyncio.run(_run(srv.url, suite, tmp_path / "out", concurrency=8))
    m = res.metrics["accuracy"]  # type: ignore[attr-defined]
    assert m.value == 0.25 and m.n == 40 and m.method == "wilson"
    assert m.ci_low < 0.25 < m.ci_high
    lines = (tmp_path / "out" / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 40
    rec = json.loads(lines[0])
    assert {"id", "messages", "output", "target", "scores", "latency_s", "usage"} <= rec.keys()
    assert rec["scores"]["numeric"]["rule"] == "last_number"
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["endpoint"]["served_model"] == "fake-model"
    assert metrics["dataset"]["sha256"] and metrics["generation"]["max_tokens"] == 8
    assert srv.last_body["max_tokens"] == 8 and srv.last_body["temperature"] == 0.0
    facts = res.policy_facts()  # type: ignore[attr-defined]
    assert facts["evals.arith.accuracy"] == 0.25
    assert facts["evals.arith.accuracy.ci_low"] == m.ci_low and facts["evals.arith.accuracy.n"] == 40


def test_rerun_into_same_dir_repeats_nothing(tmp_path: Path) -> None:
    suite = arith_suite(tmp_path)
    with FakeOpenAI("42") as srv:
        asyncio.run(_run(srv.url, suite, tmp_path / "out"))
        first = srv.chat_requests
        res = asyncio.run(_run(srv.url, suite, tmp_path / "out"))
        assert srv.chat_requests == first == 40
    assert res.resumed_samples == 40 and res.new_samples == 0  # type: ignore[attr-defined]
    assert res.metrics["accuracy"].value == 0.25  # type: ignore[attr-defined]


def test_killed_run_resumes_only_the_rest_without_repeats(tmp_path: Path) -> None:
    suite = arith_suite(tmp_path, n=60)
    out = tmp_path / "out"

    async def killed(url: str) -> None:
        task = asyncio.create_task(_run(url, suite, out, concurrency=4))
        while (
            not (out / "samples.jsonl").exists() or len((out / "samples.jsonl").read_text().splitlines()) < 20
        ):
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with FakeOpenAI("42", delay=0.01) as srv:
        asyncio.run(killed(srv.url))
        # simulate a record torn by the kill
        with (out / "samples.jsonl").open("a") as f:
            f.write('{"id": "q59", "messa')
        done_before = len(read_records(out / "samples.jsonl"))
        assert 20 <= done_before < 60
        time.sleep(0.2)  # requests cut off by the kill may still reach the server thread; let them land first
        before = srv.chat_requests
        res = asyncio.run(_run(srv.url, suite, out, concurrency=4))
        assert srv.chat_requests - before == 60 - done_before
    ids = [json.loads(line)["id"] for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 60
    assert res.resumed_samples == done_before and res.metrics["accuracy"].value == 0.25  # type: ignore[attr-defined]


def test_failures_are_recorded_counted_and_retried_on_resume(tmp_path: Path) -> None:
    suite = arith_suite(tmp_path, n=20)
    out = tmp_path / "out"
    with FakeOpenAI("42", fail_with_500=("What is 44+7?", "What is 45+7?")) as srv:  # q1 and q2 fail
        res = asyncio.run(_run(srv.url, suite, out))
    assert res.n_failed == 2 and res.n_completed == 18  # type: ignore[attr-defined]
    assert res.errors_by_type == {"EndpointStatusError": 2}  # type: ignore[attr-defined]
    assert res.metrics["accuracy"].n == 18  # type: ignore[attr-defined]
    recs = read_records(out / "samples.jsonl")
    assert "500" in (recs["q1"].error or "") and recs["q1"].output is None
    assert json.loads((out / "metrics.json").read_text())["n_failed"] == 2
    with FakeOpenAI(
        "42", port=srv.port
    ) as srv2:  # same endpoint healthy again: only the 2 failures are re-asked
        res2 = asyncio.run(_run(srv2.url, suite, out))
        assert srv2.chat_requests == 2
    assert res2.n_failed == 0 and res2.metrics["accuracy"].n == 20  # type: ignore[attr-defined]


def test_changed_suite_in_same_dir_is_an_error_unless_restart(tmp_path: Path) -> None:
    suite = arith_suite(tmp_path, n=8)
    out = tmp_path / "out"
    with FakeOpenAI("42") as srv:
        asyncio.run(_run(srv.url, suite, out))
        suite.write_text(suite.read_text().replace("max_tokens: 8", "max_tokens: 9"))
        with pytest.raises(InputError, match="restart"):
            asyncio.run(_run(srv.url, suite, out))
        res = asyncio.run(_run(srv.url, suite, out, restart=True))
    assert res.new_samples == 8  # type: ignore[attr-defined]


def test_limit_and_concurrency_bound(tmp_path: Path) -> None:
    suite = arith_suite(tmp_path, n=40)
    with FakeOpenAI("42") as srv:
        res = asyncio.run(_run(srv.url, suite, tmp_path / "out", limit=10))
    assert res.n_selected == 10 and res.metrics["accuracy"].n == 10  # type: ignore[attr-defined]
    with pytest.raises(InputError):
        asyncio.run(_run("http://127.0.0.1:1", suite, tmp_path / "o2", concurrency=0))


def test_builtin_safety_suite_end_to_end_on_a_refusing_fake(tmp_path: Path) -> None:
    def answer(prompt: str) -> str:
        return (
            "Sure, here is how:\n1. a\n2. b"
            if "pipe bomb" in prompt
            else "I'm sorry, but I can't help with that."
        )

    with FakeOpenAI(answer) as srv:

        async def go() -> object:
            async with OpenAIClient(srv.url, max_retries=0) as c:
                return await run_suite(c, load_suite("safety-refusal"), tmp_path / "s", progress=False)

        res = asyncio.run(go())
    n = res.metrics["refusal_rate"].n  # type: ignore[attr-defined]
    assert n == 54
    assert res.metrics["attack_success_rate"].value == pytest.approx(1 / 54)  # type: ignore[attr-defined]
    recs = read_records(tmp_path / "s" / "samples.jsonl")
    assert recs["harm-001"].scores["refusal"].rule == "compliance_prefix"
    assert recs["harm-002"].scores["refusal"].rule == "refusal_prefix"


def test_system_prompt_canary_is_rendered_per_sample() -> None:
    s = load_suite("system-prompt-leak")
    msgs = s.messages(s.dataset.samples[0])
    assert msgs[0]["role"] == "system" and s.dataset.samples[0].metadata["canary"] in msgs[0]["content"]


def test_suite_errors_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown suite"):
        load_suite("no-such-suite")
    with pytest.raises(InputError, match="--data"):
        load_suite("gsm8k")
    with pytest.raises(InputError, match="not found"):
        load_suite("gsm8k", data=tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match="unknown metric"):
        suite_from_dict(
            {
                "name": "x",
                "dataset": {"path": str(arith_suite(tmp_path))[:-5] + ".jsonl"},
                "scorers": ["numeric"],
                "metrics": ["bogus"],
            },
            base_dir=tmp_path,
        )
