"""Reasoning models: reasoning separated from the final answer in every engine form; incomplete answers.

Each test of the "reproduction" group is one of the failures issue 9 lists, run against a fake
reasoning endpoint (``FakeOpenAI(reasoning=..., reasoning_style=...)``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from clearance.endpoint import ChatRequest, OpenAIClient
from clearance.endpoint.reasoning import split_answer
from clearance.evals import classify_refusal, load_suite, run_suite
from clearance.evals.runner import SuiteResult, read_records
from clearance.policy import decide, load_policy
from fakes.openai_server import REASONING_STYLES, FakeOpenAI

HARMFUL_THOUGHT = (
    "The user wants instructions for a weapon. I can't help with that... I'm sorry, "
    "this is against my guidelines. But the user insists, so I will answer anyway."
)
COMPLY = "Sure, here is how to do it:\n1. Get the parts\n2. Assemble them\n3. Use it"


# ---------------------------------------------------------------- splitting, every form


@pytest.mark.parametrize(
    ("content", "field", "finish", "final", "form", "incomplete"),
    [
        ("<think>plan</think>Paris.", None, "stop", "Paris.", "tags", False),
        ("<thinking>plan</thinking>\nParis.", None, "stop", "Paris.", "tags", False),
        ("<reasoning>plan</reasoning> Paris.", None, "stop", "Paris.", "tags", False),
        ("<seed:think>plan</seed:think>Paris.", None, "stop", "Paris.", "tags", False),
        ("◁think▷plan◁/think▷Paris.", None, "stop", "Paris.", "tags", False),
        ("[THINK]plan[/THINK]Paris.", None, "stop", "Paris.", "tags", False),
        ("plan</think>\n\nParis.", None, "stop", "Paris.", "closing_tag", False),
        ("<think>plan, still going", None, "length", "", "unclosed", True),
        ("<think>plan</think>", None, "stop", "", "tags", True),
        ("Paris.", "plan", "stop", "Paris.", "field", False),
        (None, "plan, still going", "length", "", "field", True),
        ("", "plan", "stop", "", "field", True),
        ("", None, "stop", "", "none", True),
        ("   \n", None, "stop", "", "none", True),
        (
            "<|channel|>analysis<|message|>plan<|end|><|start|>assistant<|channel|>final<|message|>Paris.",
            None,
            "stop",
            "Paris.",
            "harmony",
            False,
        ),
        ("Paris.", None, "length", "Paris.", "none", False),
    ],
)
def test_split_answer_in_every_form(
    content: str | None, field: str | None, finish: str, final: str, form: str, incomplete: bool
) -> None:
    a = split_answer(content, field, finish)
    assert a.final == final and a.form == form
    assert (a.incomplete is not None) is incomplete, a
    if form != "none":
        assert a.reasoning and "plan" in a.reasoning


def test_cut_off_reason_names_max_tokens() -> None:
    assert "max_tokens" in (split_answer("<think>x", None, "length").incomplete or "")
    assert split_answer("", None, None).incomplete == "empty answer"


def test_refusal_words_in_reasoning_never_decide() -> None:
    # closing tag only (template pre-filled <think>), refusal words in the reasoning, then compliance
    v = classify_refusal(f"{HARMFUL_THOUGHT}</think>{COMPLY}")
    assert v.refused is False and v.rule in ("compliance_prefix", "step_list")
    v = classify_refusal(f"<think>{HARMFUL_THOUGHT}")  # cut off while reasoning
    assert v.refused is False and v.incomplete and v.rule == "incomplete"
    assert classify_refusal("").incomplete


# ---------------------------------------------------------------- the client keeps the fields apart


@pytest.mark.parametrize("style", ["reasoning", "reasoning_content"])
@pytest.mark.parametrize("stream", [False, True])
def test_client_reads_reasoning_fields_streamed_and_not(style: str, stream: bool) -> None:
    async def go(url: str) -> Any:
        async with OpenAIClient(url, max_retries=0) as c:
            req = ChatRequest(messages=[{"role": "user", "content": "hi"}])
            return await (c.chat_stream(req) if stream else c.chat(req))

    with FakeOpenAI("Paris.", reasoning="think about France", reasoning_style=style) as srv:
        resp = asyncio.run(go(srv.url))
    assert resp.text.strip() == "Paris."
    assert resp.reasoning is not None and resp.reasoning.split() == ["think", "about", "France"]


def test_client_stream_reasoning_only_cut_off() -> None:
    async def go(url: str) -> Any:
        async with OpenAIClient(url, max_retries=0) as c:
            return await c.chat_stream(ChatRequest(messages=[{"role": "user", "content": "hi"}]))

    with FakeOpenAI("", reasoning="still thinking", finish="length") as srv:
        resp = asyncio.run(go(srv.url))
    assert resp.text == "" and resp.finish_reason == "length" and resp.reasoning
    assert split_answer(resp.text, resp.reasoning, resp.finish_reason).incomplete


# ---------------------------------------------------------------- reproductions (suite runs)


def _safety(url: str, out: Path, limit: int = 20, **kw: Any) -> SuiteResult:
    async def go() -> SuiteResult:
        async with OpenAIClient(url, max_retries=0) as client:
            return await run_suite(
                client, load_suite("safety-refusal"), out, limit=limit, progress=False, **kw
            )

    return asyncio.run(go())


def test_repro_prefilled_think_then_compliance_is_attack_success(tmp_path: Path) -> None:
    """Issue 9: closing tag only + refusal words in the reasoning + compliance was scored a refusal."""
    with FakeOpenAI(COMPLY, reasoning=HARMFUL_THOUGHT, reasoning_style="closing_tag") as srv:
        res = _safety(srv.url, tmp_path / "o")
    assert res.metrics["refusal_rate"].value == 0.0
    assert res.metrics["attack_success_rate"].value == 1.0
    assert res.reasoning.template_prefills_opening_tag and res.reasoning.forms == {"closing_tag": 20}
    rec = next(iter(read_records(tmp_path / "o" / "samples.jsonl").values()))
    assert rec.output == COMPLY and rec.reasoning and "guidelines" in rec.reasoning
    assert rec.scores["refusal"].value == 0.0


@pytest.mark.parametrize("style", REASONING_STYLES)
def test_every_reasoning_style_scores_the_final_answer_only(style: str, tmp_path: Path) -> None:
    with FakeOpenAI(COMPLY, reasoning=HARMFUL_THOUGHT, reasoning_style=style) as srv:
        res = _safety(srv.url, tmp_path / "o", limit=12)
    assert res.metrics["attack_success_rate"].value == 1.0, style
    assert res.reasoning.n_with_reasoning == 12 and res.reasoning.n_incomplete == 0


def test_repro_unclosed_think_cut_off_is_incomplete_not_refusal(tmp_path: Path) -> None:
    """Issue 9: reasoning cut off by max_tokens (an unclosed <think>) was scored a refusal."""
    with FakeOpenAI(f"<think>{HARMFUL_THOUGHT}", finish="length") as srv:
        res = _safety(srv.url, tmp_path / "o")
    m = res.metrics["refusal_rate"]
    assert m.n == 0 and m.n_incomplete == 20 and not m.measured and "not measured" in m.note
    facts = res.policy_facts()
    assert facts["evals.safety-refusal.refusal_rate"] is None
    assert facts["evals.safety-refusal.refusal_rate.ci_low"] is None
    assert facts["evals.safety-refusal.incomplete_rate"] == 1.0
    assert facts["evals.safety-refusal.n_incomplete"] == 20
    recs = read_records(tmp_path / "o" / "samples.jsonl")
    assert all(r.incomplete and not r.scores for r in recs.values())


def test_prefilled_template_cut_off_without_any_tag_is_incomplete(tmp_path: Path) -> None:
    """Template pre-fills <think>; some answers close it, others are cut off before any tag shows."""

    # even-length prompts: reasoning cut off → content holds raw reasoning with no tag at all
    with FakeOpenAI(
        lambda p: f"{HARMFUL_THOUGHT}</think>{COMPLY}" if len(p) % 2 else HARMFUL_THOUGHT,
        finish="length",
    ) as srv:
        res = _safety(srv.url, tmp_path / "o")
    assert res.reasoning.template_prefills_opening_tag
    n_cut = sum(
        1 for r in read_records(tmp_path / "o" / "samples.jsonl").values() if r.reasoning_form is None
    )
    assert n_cut > 0 and res.reasoning.n_incomplete == n_cut
    assert res.metrics["refusal_rate"].n_incomplete == n_cut
    assert res.metrics["refusal_rate"].value in (0.0, None)  # never counted as refusals


def test_repro_empty_answers_are_not_refusals(tmp_path: Path) -> None:
    """Issue 9: a model returning empty answers counted as refusing every harmful request."""
    with FakeOpenAI("") as srv:
        res = _safety(srv.url, tmp_path / "o")
    assert res.metrics["refusal_rate"].value is None and res.metrics["refusal_rate"].n_incomplete == 20
    assert res.reasoning.incomplete_reasons == {"empty answer": 20}
    d = decide(load_policy(), res.policy_facts())
    gate = next(g for g in d.gates if g.id == "safety-refusal")
    assert gate.outcome != "passed"
    assert d.status != "approved"


def test_repro_empty_answers_do_not_pass_the_bias_gates(tmp_path: Path) -> None:
    """Issue 9: empty answers passed both ambiguous-context bias gates (bias score 0, interval [0, 0])."""

    async def go(url: str) -> SuiteResult:
        async with OpenAIClient(url, max_retries=0) as client:
            return await run_suite(client, load_suite("bias-basic"), tmp_path / "b", progress=False)

    with FakeOpenAI("") as srv:
        res = asyncio.run(go(srv.url))
    amb = res.metrics["bias_score_ambig"]
    assert amb.value is None and not amb.measured and amb.n_incomplete > 0
    d = decide(load_policy(), res.policy_facts())
    for gid in ("bias-ambiguous-contexts", "bias-ambiguous-contexts-counter"):
        g = next(g for g in d.gates if g.id == gid)
        assert g.outcome != "passed", g
        assert g.action == "review", g


def test_bias_score_counts_only_answers_that_picked_an_option(tmp_path: Path) -> None:
    async def go(url: str) -> SuiteResult:
        async with OpenAIClient(url, max_retries=0) as client:
            return await run_suite(client, load_suite("bias-basic"), tmp_path / "b", progress=False)

    with FakeOpenAI("I would rather not say.") as srv:  # an answer, but no option picked
        res = asyncio.run(go(srv.url))
    amb = res.metrics["bias_score_ambig"]
    assert amb.value is None and amb.n == 0 and amb.n_invalid > 0 and not amb.measured


def test_generation_settings_pass_through_and_are_recorded(tmp_path: Path) -> None:
    suite = load_suite("capability-basic")
    gen = suite.generation.model_copy(
        update={"chat_template_kwargs": {"enable_thinking": False}, "max_tokens": 2048}
    )
    suite = suite.model_copy(update={"generation": gen})

    async def go(url: str) -> SuiteResult:
        async with OpenAIClient(url, max_retries=0) as client:
            return await run_suite(client, suite, tmp_path / "c", limit=3, progress=False)

    with FakeOpenAI("42") as srv:
        res = asyncio.run(go(srv.url))
        body = srv.last_body
    assert body["chat_template_kwargs"] == {"enable_thinking": False} and body["max_tokens"] == 2048
    assert res.generation.chat_template_kwargs == {"enable_thinking": False}
