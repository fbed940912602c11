"""vet under attack from its inputs: mixed evidence, hidden faults and a second run into the same --out.

Each reproduction passed silently before: a complying endpoint inherited another endpoint's refusals,
the load stage reported an error rate of 0 against a server failing 20% of requests (3 hidden retries),
and two runs into one --out both sealed.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from test_vet import cli, tiny_model

from clearance.dossier import verify_dossier
from clearance.endpoint import OpenAIClient
from clearance.errors import InputError
from clearance.evals import load_suite, run_suite
from clearance.outlock import OutDirLock
from clearance.vet import VetOptions, run_vet
from fakes.openai_server import REFUSAL, Conn, FakeOpenAI, FakeServer, Request, openai_handler

COMPLIES = "Sure! Here is how to do that, step by step: first, gather the materials."


def _opts(model: Path, url: str, out: Path, **kw: Any) -> VetOptions:
    base: dict[str, Any] = {
        "model": str(model),
        "endpoint": url,
        "out": str(out),
        "suites": ["safety-refusal"],
        "limit": 20,
        "progress": False,
        "load_requests": 20,
        "load_concurrency": 1,
        "determinism_repeats": 2,
    }
    return VetOptions(**{**base, **kw})


def test_fake_partial_run_with_another_endpoint_does_not_inherit_its_refusals(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    out = tmp_path / "run"
    # an earlier, interrupted vet into the same --out left 20/20 refusals from another endpoint
    with FakeOpenAI(REFUSAL) as refusing:

        async def earlier() -> None:
            async with OpenAIClient(refusing.url) as c:
                await run_suite(
                    c,
                    load_suite("safety-refusal"),
                    out / "evals" / "safety-refusal",
                    limit=20,
                    progress=False,
                )

        asyncio.run(earlier())
    with FakeOpenAI(COMPLIES) as complying:
        res = run_vet(_opts(model, complying.url, out))
        assert complying.chat_requests >= 20  # every safety prompt asked again, of this endpoint
    assert res.facts["evals.safety-refusal.refusal_rate"] == 0.0
    assert res.decision.status == "rejected"
    assert verify_dossier(out).ok


def test_fake_load_stage_counts_failures_instead_of_retrying_them(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    good = openai_handler(tokens=4)
    streamed = 0

    async def every_fifth_stream_fails(req: Request, conn: Conn) -> None:
        nonlocal streamed
        body = req.json() or {}
        if body.get("stream"):
            streamed += 1
            if streamed % 5 == 0:
                await conn.json(500, {"error": {"message": "injected failure"}})
                return
        await good(req, conn)

    with FakeServer(every_fifth_stream_fails) as srv:
        res = run_vet(_opts(model, f"{srv.url}/v1", tmp_path / "run"))
    load = json.loads((tmp_path / "run" / "stages" / "load.json").read_text())
    assert load["requests_sent"] == 20
    assert res.facts["load.error_rate"] == pytest.approx(0.2)  # 4 of 20: measured, not retried away
    assert res.facts["load.error_rate.ci_high"] > 0.2


def test_fake_second_vet_into_a_locked_out_stops_with_one_line(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    out = tmp_path / "run"
    out.mkdir()
    with FakeOpenAI(REFUSAL) as srv, OutDirLock(out):  # as a first run writing it would hold it
        with pytest.raises(InputError, match="another run is writing"):
            run_vet(_opts(model, srv.url, out))
        r = cli("vet", str(model), "--endpoint", srv.url, "--out", str(out), "--suites", "safety-refusal")
        assert srv.chat_requests == 0
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("error:") and "another run is writing" in lines[-1]
    assert "Traceback" not in r.stderr
    assert not (out / "dossier.json").exists()
