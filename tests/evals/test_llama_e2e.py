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
