"""Load that a serving engineer trusts: exact token lengths, warm-up, goodput, sweeps, SLO bracket,
long-context probe, soak and worker processes — against fake replicas on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clearance.endpoint.pool import ReplicaPool
from clearance.errors import InputError
from clearance.load import LoadConfig, run_loadtest, slo_search
from clearance.load.longctx import lengths_up_to, probe_long_context
from clearance.load.soak import soak
from clearance.load.sweep import sweep
from clearance.load.tokens import LocalTokenizer, PromptBuilder, ServerTokenizer
from clearance.load.workers import run_loadtest_workers
from fakes.openai_server import Conn, Request, stream_chunks
from fakes.replicas import FakeReplica


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=180
    )


# -- exact prompt lengths -------------------------------------------------------------------------


def test_prompts_hit_exact_token_counts_as_the_server_counts_them() -> None:
    """Before: --prompt-tokens counted words, and the server saw another number of tokens."""

    async def go() -> None:
        async with FakeReplica() as srv, ReplicaPool([srv.url], max_retries=0) as pool:
            cfg = LoadConfig(concurrency=4, requests=12, prompt_tokens=100, max_tokens=4, tokenizer="server")
            res = await run_loadtest(pool, cfg)
        p = res.prompt
        assert p is not None and p.exact and "vllm" in p.source
        assert p.template_overhead == 3  # the fake's "chat template": 3 tokens per message
        assert p.content_target == 97
        assert p.checked == 12 and p.matched == 12
        assert p.usage_min == p.usage_max == 100
        # the measured requests (not the calibrating warm-up) are what the server counted as 100 tokens
        assert srv.prompt_tokens_seen[-12:] == [100] * 12
        assert res.warmup_requests == 1 and res.completed == 12
        assert res.policy_facts()["load.prompt_tokens_exact_rate"] == 1.0

    asyncio.run(go())


def test_word_counts_are_labelled_approximate_and_checked_against_usage() -> None:
    async def go() -> None:
        async with FakeReplica() as srv, ReplicaPool([srv.url], max_retries=0) as pool:
            res = await run_loadtest(pool, LoadConfig(concurrency=2, requests=4, prompt_tokens=100))
        assert res.prompt is not None and not res.prompt.exact and "approximate" in res.prompt.source
        assert res.prompt.checked == 4 and res.prompt.matched == 0  # words + template != 100 tokens

    asyncio.run(go())


def test_llama_cpp_tokenize_dialect_and_local_tokenizer_json(tmp_path: Path) -> None:
    async def llama(req: Request, conn: Conn) -> None:
        body = req.json() or {}
        if req.path == "/tokenize" and "content" in body:
            await conn.json(200, {"tokens": list(range(len(str(body["content"]).split())))})
        elif req.path == "/tokenize":
            await conn.json(200, {"tokens": []})  # llama.cpp ignores vLLM's "prompt" field
        else:
            await conn.json(404, {"error": {"message": "no"}})

    from fakes.openai_server import FakeServer

    async def go() -> None:
        async with FakeServer(llama) as srv, ReplicaPool([srv.url], max_retries=0) as pool:
            tok = ServerTokenizer(pool)
            assert await tok.count("a b c d") == 4
            assert tok.source == "server /tokenize (llama.cpp dialect)"
            text, n = await PromptBuilder(tok).build(0, 50)
            assert n == 50 and len(text.split()) == 50

    asyncio.run(go())

    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "river": 1, "the": 2}
    t = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    t.save(str(tmp_path / "tokenizer.json"))
    local = LocalTokenizer(tmp_path)
    assert asyncio.run(local.count("the river flows")) == 3
    _, n = asyncio.run(PromptBuilder(local).build(3, 40))
    assert n == 40
    with pytest.raises(InputError, match=r"tokenizer\.json"):
        LocalTokenizer(tmp_path / "nope")


# -- warm-up and goodput ----------------------------------------------------------------------------


def test_warmup_requests_are_sent_but_left_out_of_the_metrics() -> None:
    async def go() -> None:
        async with FakeReplica() as srv, ReplicaPool([srv.url], max_retries=0) as pool:
            res = await run_loadtest(pool, LoadConfig(concurrency=2, requests=10, warmup=3))
            assert srv.served == 13
        assert res.completed == 10 and res.requests_sent == 10 and res.warmup_requests == 3

    asyncio.run(go())


class _AlternatingReplica(FakeReplica):
    """Every second request has a 150 ms TTFT (the rest 0): half the requests miss a 100 ms TTFT SLO."""

    async def _handle(self, req: Request, conn: Conn) -> None:
        if req.path.endswith("/chat/completions"):
            self.ttft = 0.15 if self.chat_requests % 2 else 0.0
        await super()._handle(req, conn)


def test_goodput_counts_requests_meeting_every_slo() -> None:
    async def go() -> None:
        async with _AlternatingReplica(delay=0.0) as srv, ReplicaPool([srv.url], max_retries=0) as pool:
            cfg = LoadConfig(concurrency=1, requests=10, max_tokens=4, slo_ttft_s=0.1, slo_e2e_s=5.0)
            res = await run_loadtest(pool, cfg)
        assert res.good_requests == 5 and res.completed == 10
        assert res.goodput == pytest.approx(res.request_throughput / 2)
        facts = res.policy_facts()
        assert facts["load.goodput_ratio"] == 0.5 and facts["load.goodput_requests_per_s"] == res.goodput

    asyncio.run(go())


# -- SLO search bracket, sweeps ---------------------------------------------------------------------


def test_slo_search_says_the_edge_lies_beyond_the_range_when_nothing_failed() -> None:
    """Before: with no failing level the step cap (e.g. 128) was reported as the maximum."""

    async def go() -> None:
        async with FakeReplica(delay=0.0) as srv, ReplicaPool([srv.url], max_retries=0) as pool:
            base = LoadConfig(concurrency=1, requests=4, max_tokens=2)
            res = await slo_search(pool, base, ttft_p95_s=5.0, max_steps=4, requests_per_level=4)
        assert [s.concurrency for s in res.steps] == [1, 2, 4, 8]
        assert not res.edge_found and res.lowest_failing is None
        assert "beyond concurrency 8" in res.conclusion and "at least 8" in res.conclusion
        assert res.policy_facts()["load.slo.edge_found"] is False

    asyncio.run(go())


def test_sweep_auto_goes_from_synchronous_to_saturation_and_draws_the_chart() -> None:
    async def go() -> None:
        async with FakeReplica(delay=0.02) as srv, ReplicaPool([srv.url], max_retries=0) as pool:
            base = LoadConfig(concurrency=1, requests=16, max_tokens=4, slo_ttft_s=1.0)
            res = await sweep(pool, base, steps=2, saturation_concurrency=8)
            listed = await sweep(pool, base.model_copy(update={"requests": 8}), concurrencies=[1, 4])
        labels = [p.label for p in res.points]
        assert labels[0] == "synchronous" and labels[1].startswith("saturation") and len(labels) == 4
        assert res.saturation_requests_per_s > 2 * res.synchronous_requests_per_s
        assert all(p.goodput is not None for p in res.points)
        svg = res.chart_svg()
        assert svg.startswith("<svg") and svg.count("<circle") == 8
        assert [p.concurrency for p in listed.points] == [1, 4] and listed.mode == "concurrency"

    asyncio.run(go())


def test_cli_sweep_writes_chart_and_json(tmp_path: Path) -> None:
    with FakeReplica(delay=0.01) as srv:
        res = cli("loadtest", "-e", srv.url, "--sweep", "1,2", "-n", "6", "--out", str(tmp_path), "--json")
        assert res.returncode == 0, res.stderr
        obj = json.loads(res.stdout)
        assert [p["concurrency"] for p in obj["sweep"]["points"]] == [1, 2]
        assert (tmp_path / "sweep.svg").read_text().startswith("<svg")
        bad = cli("loadtest", "-e", srv.url, "--sweep", "x,y")
        assert bad.returncode == 2 and "--sweep" in bad.stderr and "Traceback" not in bad.stderr


# -- long context, soak, workers -------------------------------------------------------------------


class _ForgetfulReplica(FakeReplica):
    """Finds the planted code when the prompt has at most 2,000 whitespace tokens, answers wrong beyond."""

    async def _handle(self, req: Request, conn: Conn) -> None:
        if not req.path.endswith("/chat/completions"):
            await super()._handle(req, conn)
            return
        body = req.json() or {}
        text = str(body["messages"][-1]["content"])
        n = len(text.split()) + 3
        m = re.search(r"is (\d{6})\.", text)
        answer = m.group(1) if m and n <= 2000 else "I do not know"
        await asyncio.sleep(n / 1e6)
        await conn.sse_start()
        for ev in stream_chunks([answer], prompt_tokens=n, model=self.model, finish="stop"):
            await conn.event(ev)
        await conn.chunk(b"data: [DONE]\n\n")
        await conn.sse_end()


def test_long_context_probe_reports_accuracy_and_ttft_by_length_up_to_the_served_max() -> None:
    assert lengths_up_to(4096) == [1024, 2048, 4000]

    async def go() -> None:
        async with _ForgetfulReplica(max_model_len=4096) as srv, ReplicaPool([srv.url]) as pool:
            res = await probe_long_context(pool, tokenizer="server", trials=3)
        assert res.served_max_tokens == 4096
        assert [p.context_tokens for p in res.points] == [1024, 2048, 4000]
        assert [p.accuracy for p in res.points] == [1.0, 0.0, 0.0]
        assert all(p.exact and p.ttft_p50_s is not None for p in res.points)
        # the server's own count of each prompt is within a few tokens of the length aimed at
        assert all(abs(n - 1024) < 40 for n in res.points[0].prompt_tokens_reported)
        facts = res.policy_facts()
        assert facts["load.long_context.accuracy_at_max"] == 0.0
        assert facts["load.long_context.max_tokens_tested"] == 4000
        assert res.chart_svg().startswith("<svg")

    asyncio.run(go())


def test_long_context_needs_a_served_maximum() -> None:
    async def go() -> None:
        async with FakeReplica() as srv, ReplicaPool([srv.url]) as pool:
            with pytest.raises(InputError, match="--max-context"):
                await probe_long_context(pool)

    asyncio.run(go())


class _SlowingReplica(FakeReplica):
    """Each request takes 0.3 s more per second since the first one (a leak): latency drifts up under
    steady load, by far more than a loaded test machine's noise."""

    t0: float | None = None

    async def _handle(self, req: Request, conn: Conn) -> None:
        if req.path.endswith("/chat/completions"):
            now = time.perf_counter()
            self.t0 = self.t0 if self.t0 is not None else now
            self.delay = 0.01 + 0.3 * (now - self.t0)
        await super()._handle(req, conn)


def test_soak_measures_drift_of_latency_over_time() -> None:
    async def go() -> None:
        async with _SlowingReplica() as srv, ReplicaPool([srv.url], max_retries=0) as pool:
            res = await soak(pool, LoadConfig(concurrency=2, max_tokens=2), 1.5, windows=3)
        assert len(res.windows) == 3 and res.windows[0].requests and res.windows[-1].requests
        assert res.e2e_p95_drift_ratio is not None and res.e2e_p95_drift_ratio > 1.5
        assert res.error_rate_drift == 0.0
        facts = res.policy_facts()
        assert facts["load.soak.duration_s"] == 1.5 and facts["load.soak.e2e_p95_drift_ratio"] > 1.5
        assert res.chart_svg().startswith("<svg")

    asyncio.run(go())


def test_two_worker_processes_merge_raw_samples() -> None:
    with FakeReplica(delay=0.01) as srv:
        cfg = LoadConfig(concurrency=4, requests=40, max_tokens=2)
        res = asyncio.run(run_loadtest_workers([srv.url], cfg, 2))
        assert srv.served == 40
    assert res.workers == 2 and res.completed == 40 and res.failed == 0
    assert res.e2e is not None and res.e2e.n == 40  # percentiles from all 40 raw samples
    with FakeReplica(delay=0.0) as srv:
        opened = asyncio.run(run_loadtest_workers([srv.url], LoadConfig(rate=100, requests=30), 2))
    assert opened.completed == 30 and opened.send_lag is not None and opened.send_lag.n == 30


def test_report_draws_the_serving_charts_from_dossier_results() -> None:
    from clearance.dossier.report import serving_charts
    from clearance.load.soak import SoakWindow, drift_of

    wins = [
        SoakWindow(start_s=k, end_s=k + 1, requests=10, errors=0, error_rate=0.0, e2e_p95_s=0.1 * (k + 1))
        for k in range(6)
    ]
    e2e, _, err = drift_of(wins)
    assert e2e == pytest.approx(0.55 / 0.15) and err == 0.0
    with FakeReplica(delay=0.0) as srv:

        async def go() -> dict[str, object]:
            async with ReplicaPool([srv.url]) as pool:
                res = await soak(pool, LoadConfig(concurrency=1, max_tokens=2), 0.6, windows=3)
            return res.model_dump(mode="json")

        soak_json = asyncio.run(go())
    charts = serving_charts({"soak": soak_json, "long_context": {"not": "a result"}})
    assert len(charts) == 1 and 'src="data:image/svg+xml;base64,' in charts[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--workers", "0", "-c", "2"], "--workers"),
        (["--soak", "-1"], "--soak"),
        (["--warmup", "-1", "-c", "1"], "--warmup"),
        (["--goodput", "ttft:abc", "-c", "1"], "--goodput"),
        (["--goodput", "latency:5", "-c", "1"], "--goodput"),
        (["--sweep", "0,2"], "sweep"),
        (["--long-context", "--max-context", "10"], "--max-context"),
        (["--sweep", "auto", "--soak", "5"], "choose one"),
    ],
)
def test_bad_scale_options_are_one_line_errors(args: list[str], needle: str) -> None:
    with FakeReplica() as srv:
        res = cli("loadtest", "-e", srv.url, *args)
    assert res.returncode == 2, res.stdout
    assert needle in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
