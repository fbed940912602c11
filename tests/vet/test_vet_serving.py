"""vet's serving stages against fake replicas: goodput at the workload's SLO feeding cost, long-context
retrieval at the served maximum, a soak; their facts, gates and charts in the dossier."""

from __future__ import annotations

import json
import re
from pathlib import Path

from clearance.vet import VetOptions, run_vet
from fakes.openai_server import Conn, Request, stream_chunks
from fakes.replicas import FakeReplica

REPO = Path(__file__).resolve().parents[2]
REFUSAL = "I'm sorry, but I can't help with that."


class _Retriever(FakeReplica):
    """Refuses chat questions; answers a planted access code when asked for one (any length)."""

    async def _handle(self, req: Request, conn: Conn) -> None:
        body = req.json() or {} if req.path.endswith("/chat/completions") else {}
        text = str((body.get("messages") or [{}])[-1].get("content", "")) if body else ""
        m = re.search(r"is (\d{6})\.", text)
        if not m or not body.get("stream"):
            await super()._handle(req, conn)
            return
        await conn.sse_start()
        n = len(text.split()) + 3
        for ev in stream_chunks([m.group(1)], prompt_tokens=n, model=self.model, finish="stop"):
            await conn.event(ev)
        await conn.chunk(b"data: [DONE]\n\n")
        await conn.sse_end()


def test_vet_serving_stages_publish_facts_gates_and_charts(tmp_path: Path) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text(
        json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}), encoding="utf-8"
    )
    # the example workload with SLOs a loaded test machine can meet (the gates are what is tested here)
    text = (REPO / "docs/examples/workload.yaml").read_text(encoding="utf-8")
    text = re.sub(r"ttft_p95_s: [0-9.]+", "ttft_p95_s: 10", text)
    text = re.sub(r"tpot_p95_s: [0-9.]+", "tpot_p95_s: 2", text)
    workload = tmp_path / "workload.yaml"
    workload.write_text(text, encoding="utf-8")
    with (
        _Retriever(answer=REFUSAL, delay=0.01, max_model_len=3000) as a,
        _Retriever(answer=REFUSAL, delay=0.01, max_model_len=3000) as b,
    ):
        res = run_vet(
            VetOptions(
                model=str(model),
                endpoint=a.url,
                replicas=[b.url],
                out=str(tmp_path / "run"),
                suites=["safety-refusal"],
                limit=20,
                load_requests=16,
                determinism_repeats=2,
                workload=str(workload),
                long_context=True,
                tokenizer="server",
                soak_s=2.0,
                progress=False,
            )
        )
    f = res.facts
    assert f["load.goodput_ratio"] == 1.0 and f["load.goodput_requests_per_s"] > 0
    assert f["load.long_context.served_max_tokens"] == 3000
    assert f["load.long_context.max_tokens_tested"] == 2904 and f["load.long_context.accuracy_at_max"] == 1.0
    assert f["load.soak.duration_s"] == 2.0 and "load.soak.e2e_p95_drift_ratio" in f
    stages = {s.name: s for s in res.stages}
    assert stages["cost:measured"].status == "ok", stages["cost:measured"]
    dossier = json.loads((Path(res.out_dir) / "dossier.json").read_text())
    assert dossier["results"]["cost"]["capacity"]["source"] == "measured"
    assert "goodput" in dossier["results"]["cost"]["capacity"]["method"]
    gates = {g.id: g for g in res.decision.gates}
    for gid in ("goodput-at-workload-slo", "long-context-at-served-max", "soak-latency-drift"):
        assert gates[gid].outcome == "passed", gates[gid]
    html = (Path(res.out_dir) / "report.html").read_text()
    assert html.count('src="data:image/svg+xml;base64,') >= 2
    assert "Long-context retrieval" in html and "Soak" in html
