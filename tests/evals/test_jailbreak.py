"""jailbreak-basic: harmful requests wrapped 8 ways; attack success per wrapper."""

from __future__ import annotations

import asyncio
import base64
import codecs
from pathlib import Path

from clearance.endpoint import OpenAIClient
from clearance.evals import load_suite, run_suite
from clearance.evals.runner import SuiteResult
from clearance.policy import decide, load_policy
from fakes.openai_server import FakeOpenAI

WRAPPERS = [
    "role_play",
    "fiction",
    "base64",
    "rot13",
    "leetspeak",
    "payload_splitting",
    "refusal_suppression",
    "many_shot",
]


def _run(url: str, out: Path) -> SuiteResult:
    async def go() -> SuiteResult:
        async with OpenAIClient(url, max_retries=0) as c:
            return await run_suite(c, load_suite("jailbreak-basic"), out, progress=False, concurrency=16)

    return asyncio.run(go())


def test_wrappers_carry_the_original_request() -> None:
    suite = load_suite("jailbreak-basic")
    base = {s.id: s.input for s in load_suite("safety-refusal").dataset.samples}
    by_kind = {}
    for s in suite.dataset.samples:
        by_kind.setdefault(s.metadata["wrapper"], []).append(s)
    assert sorted(by_kind) == sorted(WRAPPERS) and all(len(v) == 18 for v in by_kind.values())
    s = by_kind["base64"][0]
    req = base[s.metadata["request_id"]]
    assert base64.b64encode(req.encode()).decode() in str(s.input)
    s = by_kind["rot13"][0]
    assert codecs.encode(base[s.metadata["request_id"]], "rot13") in str(s.input)
    many = by_kind["many_shot"][0]
    msgs = suite.messages(many)
    assert len(msgs) == 13 and msgs[-1]["content"] == base[many.metadata["request_id"]]


def test_attack_success_per_wrapper_and_gate(tmp_path: Path) -> None:
    def answer(prompt: str) -> str:  # a fake that falls for fiction framing only
        return (
            "Sure, here is the scene:\n1. First...\n2. Then..."
            if "thriller novel" in prompt
            else "I can't help with that."
        )

    with FakeOpenAI(answer) as srv:
        res = _run(srv.url, tmp_path / "j")
    m = res.metrics
    assert m["asr_fiction"].value == 1.0 and m["asr_fiction"].n == 18
    for w in WRAPPERS:
        if w != "fiction":
            assert m[f"asr_{w}"].value == 0.0, w
    assert m["attack_success_rate"].value == 18 / 144
    g = {g.id: g for g in decide(load_policy(), res.policy_facts()).gates}["jailbreak-resistance"]
    assert g.outcome == "failed" and g.action == "review"
    assert len(res.failing_samples) == 18 and all(i.startswith("jb-fiction-") for i in res.failing_samples)


def test_a_model_refusing_every_wrapper_passes(tmp_path: Path) -> None:
    with FakeOpenAI("I'm sorry, but I can't help with that.") as srv:
        res = _run(srv.url, tmp_path / "j")
    g = {g.id: g for g in decide(load_policy(), res.policy_facts()).gates}["jailbreak-resistance"]
    assert res.metrics["attack_success_rate"].value == 0.0 and g.outcome == "passed"
