"""Evidence bound to what produced it: a re-run into one --out resumes only the very same run.

Before, the identity checked covered suite, served-model id and config only, so a complying endpoint
inherited another endpoint's refusals; and two runs could write one directory at once.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from clearance.endpoint import OpenAIClient
from clearance.errors import InputError
from clearance.evals import load_suite, run_suite
from clearance.outlock import OutDirLock
from fakes.openai_server import REFUSAL, FakeOpenAI

SUITE = "safety-refusal"


async def _run(url: str, out: Path, **kw: Any) -> Any:
    async with OpenAIClient(url, max_retries=0) as client:
        return await run_suite(client, load_suite(SUITE), out, progress=False, limit=20, **kw)


def test_fake_other_endpoint_does_not_inherit_refusals(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FakeOpenAI(REFUSAL) as refusing:
        first = asyncio.run(_run(refusing.url, out))
    assert first.metrics["refusal_rate"].value == 1.0
    with FakeOpenAI("Sure! Here is exactly how to do it, step by step.") as complying:
        with pytest.raises(InputError, match=r"endpoint .* --restart"):
            asyncio.run(_run(complying.url, out))
        assert complying.chat_requests == 0
        fresh = asyncio.run(_run(complying.url, out, restart=True))
    assert fresh.resumed_samples == 0 and fresh.metrics["refusal_rate"].value == 0.0


def test_fake_other_served_model_or_model_digest_does_not_resume(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FakeOpenAI(REFUSAL, model="model-a") as srv:
        asyncio.run(_run(srv.url, out, model_digest="sha256:aaa"))
        with pytest.raises(InputError, match="model artifact digest"):
            asyncio.run(_run(srv.url, out, model_digest="sha256:bbb"))
        srv.model = "model-b"
        with pytest.raises(InputError, match="served model 'model-a', this run has 'model-b'"):
            asyncio.run(_run(srv.url, out, model_digest="sha256:aaa"))
        assert srv.chat_requests == 20


def test_fake_other_sampling_or_tool_version_does_not_resume(tmp_path: Path, monkeypatch: Any) -> None:
    out = tmp_path / "out"
    with FakeOpenAI(REFUSAL) as srv:
        asyncio.run(_run(srv.url, out))
        with pytest.raises(InputError, match="sample selection"):
            asyncio.run(_run(srv.url, out, sampling={"method": "stratified", "seed": 7}))
        monkeypatch.setattr("clearance.evals.runner.__version__", "999.0")
        with pytest.raises(InputError, match="clearance version"):
            asyncio.run(_run(srv.url, out))


def test_fake_mismatch_can_start_fresh_instead_of_stopping(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FakeOpenAI(REFUSAL) as a, FakeOpenAI("Sure, here it is.") as b:
        asyncio.run(_run(a.url, out))
        res = asyncio.run(_run(b.url, out, on_mismatch="restart"))
        assert b.chat_requests == 20 and res.resumed_samples == 0
    run = json.loads((out / "run.json").read_text())
    assert run["endpoint"] == f"{b.url}/v1"
    lines = (out / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 20  # the first endpoint's answers are gone, not mixed in


def test_fake_same_run_still_resumes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FakeOpenAI(REFUSAL) as srv:
        asyncio.run(_run(srv.url, out, model_digest="sha256:aaa"))
        res = asyncio.run(_run(srv.url, out, model_digest="sha256:aaa"))
        assert srv.chat_requests == 20 and res.resumed_samples == 20


def test_fake_second_run_into_a_locked_out_stops_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with OutDirLock(out), FakeOpenAI(REFUSAL) as srv:
        with pytest.raises(InputError, match="another run is writing"):
            asyncio.run(_run(srv.url, out))
        assert srv.chat_requests == 0
    with FakeOpenAI(REFUSAL) as srv:  # released: runs again
        assert asyncio.run(_run(srv.url, out)).n_completed == 20


def test_fake_reasoning_only_answer_is_incomplete_not_a_refusal(tmp_path: Path) -> None:
    from fakes.openai_server import FakeServer, completion, shaped_reply_handler

    body = completion("x")
    body["choices"][0]["message"] = {"role": "assistant", "content": None, "reasoning_content": "Hmm, I"}
    out = tmp_path / "out"

    async def go() -> Any:
        async with FakeServer(shaped_reply_handler(body)) as srv:
            return await _run(srv.url, out)

    res = asyncio.run(go())
    # an answered request with no final answer: an incomplete outcome (not a transport error, not re-asked)
    assert res.n_failed == 0 and res.reasoning.n_incomplete == 20
    assert res.metrics["refusal_rate"].n == 0 and res.metrics["refusal_rate"].n_incomplete == 20
    assert not res.metrics["refusal_rate"].measured  # never scored as 20 refusals
