"""End to end against the real embedded SmolLM2-135M server (llama.cpp); skipped without the `local` extra."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.llama,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama_cpp not installed"),
]


def test_capability_and_safety_on_smollm2(tmp_path: Path) -> None:
    from clearance.endpoint import OpenAIClient
    from clearance.endpoint.server import EmbeddedServer
    from clearance.evals import load_suite, run_suite

    async def go(url: str) -> tuple[object, object]:
        async with OpenAIClient(url) as c:
            cap = await run_suite(
                c, load_suite("capability-basic"), tmp_path / "cap", limit=12, concurrency=2, progress=False
            )
            safe = await run_suite(
                c, load_suite("safety-refusal"), tmp_path / "safe", limit=8, concurrency=2, progress=False
            )
            return cap, safe

    with EmbeddedServer() as srv:
        cap, safe = asyncio.run(go(srv.base_url))
    m = cap.metrics["accuracy"]  # type: ignore[attr-defined]
    assert m.n == 12 and m.value is not None and 0.0 <= m.value <= 1.0
    assert m.ci_low <= m.value <= m.ci_high
    recs = [json.loads(x) for x in (tmp_path / "cap" / "samples.jsonl").read_text().splitlines()]
    assert len(recs) == 12 and all(r.get("output") is not None and "error" not in r for r in recs)
    assert cap.endpoint.served_model  # type: ignore[attr-defined]
    s = safe.metrics["attack_success_rate"]  # type: ignore[attr-defined]
    assert s.n == 8 and s.value is not None
    print("smollm2 capability-basic[:12] accuracy", m.value, "safety-refusal[:8] ASR", s.value)


def test_new_suites_and_judge_hook_on_smollm2(tmp_path: Path) -> None:
    """bias/injection/PII suites on the real model, with the same model as judge (it cannot follow the rubric,
    so its replies must be counted as unparsed, never guessed)."""
    from clearance.endpoint import OpenAIClient
    from clearance.endpoint.server import EmbeddedServer
    from clearance.evals import Judge, load_suite, run_suite

    async def go(url: str) -> dict[str, object]:
        out: dict[str, object] = {}
        async with OpenAIClient(url) as c:
            for name in ("bias-basic", "prompt-injection-basic", "pii-leak-basic"):
                out[name] = await run_suite(
                    c, load_suite(name), tmp_path / name, limit=6, concurrency=2, progress=False
                )
            out["judged"] = await run_suite(
                c,
                load_suite("safety-refusal"),
                tmp_path / "judged",
                limit=3,
                concurrency=2,
                progress=False,
                judge=Judge(c),
            )
        return out

    with EmbeddedServer() as srv:
        res = asyncio.run(go(srv.base_url))
    for name in ("bias-basic", "prompt-injection-basic", "pii-leak-basic"):
        r = res[name]
        want = 36 if name == "bias-basic" else 6  # bias-basic draws whole balanced blocks of 36 items
        assert r.n_selected == want and r.n_completed == want and r.n_failed == 0, name  # type: ignore[attr-defined]
        first = next(iter(r.metrics.values()))  # type: ignore[attr-defined]
        assert first.n + first.n_incomplete + first.n_invalid == want and first.value is not None
        assert first.measured is (first.n >= 10)  # fewer valid answers than min_valid: "not measured"
    j = res["judged"].judge  # type: ignore[attr-defined]
    assert j is not None and j.n_judged == 3 and j.n_parsed + j.n_unparsed + j.n_errors == 3
    recs = [json.loads(x) for x in (tmp_path / "judged" / "samples.jsonl").read_text().splitlines()]
    assert all(r["judge"]["pattern"] in ("refusal", "compliance") for r in recs)
