"""Load generator, metrics, SLO search and determinism probe against fake servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from clearance.endpoint import OpenAIClient, Timeouts
from clearance.errors import EndpointConnectError, InputError
from clearance.evidence import EndpointRef
from clearance.load import (
    LoadConfig,
    RequestRecord,
    arrival_schedule,
    load_records,
    percentile,
    probe_determinism,
    run_loadtest,
    slo_search,
    summarize,
    wilson_interval,
)
from fakes.openai_server import MODELS, Conn, FakeServer, Handler, Request, completion, openai_handler

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]


def run(fn: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(fn())  # type: ignore[arg-type]


def client(url: str, read: float = 10.0) -> OpenAIClient:
    return OpenAIClient(url, max_retries=0, timeouts=Timeouts(read=read))


class InFlight:
    """Wraps a handler and records the peak number of concurrent chat requests."""

    def __init__(self, inner: Handler) -> None:
        self.inner = inner
        self.now = 0
        self.peak = 0

    async def __call__(self, req: Request, conn: Conn) -> None:
        chat = req.path.endswith("/chat/completions")
        if chat:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            await self.inner(req, conn)
        finally:
            if chat:
                self.now -= 1


# -- pure metric helpers ---------------------------------------------------------------------------


def test_percentile_linear_interpolation_matches_numpy_definition() -> None:
    xs = [1.0, 2.0, 3.0, 4.0]
    assert percentile(xs, 50) == 2.5
    assert percentile(xs, 0) == 1.0 and percentile(xs, 100) == 4.0
    assert percentile(list(range(101)), 95) == pytest.approx(95.0)
    assert percentile([7.0], 99) == 7.0


def test_wilson_interval_brackets_the_rate() -> None:
    lo, hi = wilson_interval(0, 100)
    assert lo == 0.0 and 0.03 < hi < 0.04
    lo, hi = wilson_interval(50, 100)
    assert lo < 0.5 < hi and hi - lo < 0.2


def test_arrival_schedule_poisson_mean_and_constant_spacing() -> None:
    s = arrival_schedule(2001, 100.0, seed=3)
    assert s[0] == 0.0 and s == sorted(s)
    assert s[-1] / 2000 == pytest.approx(0.01, rel=0.08)  # mean gap 1/rate
    c = arrival_schedule(5, 4.0, arrival="constant")
    assert c == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert arrival_schedule(50, 10.0, seed=1) == arrival_schedule(50, 10.0, seed=1)


def test_summarize_definitions_on_known_records() -> None:
    cfg = LoadConfig(concurrency=2, requests=3)
    recs = [
        RequestRecord(index=0, start_s=0.0, ttft_s=0.1, e2e_s=0.5, last_chunk_s=0.4, itl_s=[0.1, 0.1, 0.1],
                      chunks=4, output_tokens=4, output_token_source="usage"),
        RequestRecord(index=1, start_s=0.0, ttft_s=0.3, e2e_s=1.0, last_chunk_s=0.9, itl_s=[0.2, 0.4],
                      chunks=3, output_tokens=6, output_token_source="usage"),
        RequestRecord(index=2, start_s=0.5, e2e_s=0.2, error="boom", error_type="EndpointStatusError"),
    ]  # fmt: skip
    res = summarize(recs, cfg, EndpointRef(url="http://x/v1"), started_at="t", requests_sent=3)
    assert res.completed == 2 and res.failed == 1 and res.error_rate == pytest.approx(1 / 3)
    assert res.duration_s == pytest.approx(1.0)  # first start 0.0 → last end 1.0
    assert res.request_throughput == pytest.approx(2.0)
    assert res.output_tokens_per_s == pytest.approx(10.0)
    assert res.tokens_per_chunk == pytest.approx(10 / 7)
    assert res.ttft is not None and res.ttft.p50 == pytest.approx(0.2)
    assert res.itl is not None and res.itl.n == 5  # pooled per-chunk gaps
    # TPOT per request: (0.4-0.1)/3 = 0.1 and (0.9-0.3)/5 = 0.12
    assert res.tpot is not None and res.tpot.min == pytest.approx(0.1) and res.tpot.max == pytest.approx(0.12)
    facts = res.policy_facts()
    assert facts["load.error_rate"] == pytest.approx(1 / 3)
    assert facts["load.ttft_p95_s"] == pytest.approx(res.ttft.p95)
    assert {"load.itl_p95_s", "load.tpot_p95_s", "load.e2e_p99_s", "load.output_tokens_per_s"} <= set(facts)


def test_config_needs_exactly_one_load_shape() -> None:
    with pytest.raises(InputError, match="exactly one"):
        LoadConfig()
    with pytest.raises(InputError, match="exactly one"):
        LoadConfig(concurrency=1, rate=2.0)
    with pytest.raises(InputError, match="rate must be > 0"):
        LoadConfig(rate=0)


# -- against fake servers --------------------------------------------------------------------------


def test_fake_closed_loop_measures_injected_latencies_and_writes_jsonl(tmp_path: Path) -> None:
    h = InFlight(openai_handler(ttft=0.05, tpot=0.01, tokens=8))

    async def go() -> None:
        async with FakeServer(h) as srv, client(srv.url) as c:
            res = await run_loadtest(
                c, LoadConfig(concurrency=4, requests=20, max_tokens=8, out_dir=tmp_path)
            )
        assert res.completed == 20 and res.failed == 0 and h.peak == 4
        assert res.ttft is not None and 0.045 < res.ttft.p50 < 0.15
        assert res.itl is not None and 0.005 < res.itl.p50 < 0.03
        assert res.tpot is not None and 0.008 < res.tpot.p50 < 0.03
        assert res.output_tokens_total == 160 and res.output_token_source == {"usage": 20}
        assert res.e2e is not None and res.e2e.p50 >= 0.05 + 7 * 0.01 - 0.005
        assert res.endpoint.served_model == "fake-model"

    run(go)
    recs = load_records(tmp_path / "requests.jsonl")
    assert len(recs) == 20 and sorted(r.index for r in recs) == list(range(20))


def test_fake_open_loop_keeps_schedule_while_server_is_slow() -> None:
    """No coordinated omission: arrivals follow the schedule although each request takes 0.4 s."""
    h = InFlight(openai_handler(ttft=0.4, tpot=0.0, tokens=2))

    async def go() -> None:
        async with FakeServer(h) as srv, client(srv.url) as c:
            t0 = time.perf_counter()
            res = await run_loadtest(c, LoadConfig(rate=40.0, arrival="constant", requests=20, max_tokens=2))
            wall = time.perf_counter() - t0
        assert res.completed == 20
        assert res.achieved_rate is not None and res.achieved_rate == pytest.approx(40.0, rel=0.2)
        assert res.scheduled_rate == pytest.approx(40.0)
        assert res.send_lag is not None and res.send_lag.p99 < 0.15
        assert h.peak >= 10  # many in flight at once, because sends do not wait for completions
        assert wall < 3.0  # a closed loop at c=1 would need 20 × 0.4 s

    run(go)


def test_fake_errors_are_counted_and_the_run_continues(tmp_path: Path) -> None:
    inner = openai_handler(tokens=3)
    seen = 0

    async def handler(req: Request, conn: Conn) -> None:
        nonlocal seen
        if req.path.endswith("/chat/completions"):
            seen += 1
            if seen % 3 == 0:
                await conn.json(500, {"error": "injected"})
                return
        await inner(req, conn)

    async def go() -> None:
        async with FakeServer(handler) as srv, client(srv.url) as c:
            res = await run_loadtest(c, LoadConfig(concurrency=1, requests=12, out_dir=tmp_path))
        assert res.failed == 4 and res.completed == 8
        assert res.error_rate == pytest.approx(1 / 3)
        assert res.errors_by_type == {"EndpointStatusError": 4}
        assert "HTTP 500" in res.first_errors[0]
        lo, hi = res.error_rate_ci
        assert lo < 1 / 3 < hi

    run(go)
    lines = (tmp_path / "requests.jsonl").read_text().splitlines()
    assert sum(json.loads(x)["error"] is not None for x in lines) == 4


def test_fake_stall_mid_run_is_a_counted_timeout() -> None:
    inner = openai_handler(tokens=3)
    n = 0

    async def handler(req: Request, conn: Conn) -> None:
        nonlocal n
        if req.path.endswith("/chat/completions"):
            n += 1
            if n == 3:
                await conn.sse_start()
                await conn.chunk(b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n')
                await asyncio.sleep(3)
                return
        await inner(req, conn)

    async def go() -> None:
        async with FakeServer(handler) as srv, client(srv.url, read=0.3) as c:
            res = await run_loadtest(c, LoadConfig(concurrency=2, requests=8))
        assert res.completed == 7 and res.failed == 1
        assert res.errors_by_type == {"EndpointTimeoutError": 1}

    run(go)


def test_fake_duration_bounds_the_run() -> None:
    async def go() -> None:
        async with FakeServer(openai_handler(ttft=0.01, tokens=2)) as srv, client(srv.url) as c:
            t0 = time.perf_counter()
            res = await run_loadtest(
                c, LoadConfig(rate=20.0, arrival="constant", requests=10_000, duration_s=0.5)
            )
            assert time.perf_counter() - t0 < 3.0
        assert 9 <= res.requests_sent <= 11 and res.completed == res.requests_sent

    run(go)


def test_fake_stream_without_usage_counts_chunks() -> None:
    async def go() -> None:
        async with FakeServer(openai_handler(tokens=5, usage=False)) as srv, client(srv.url) as c:
            res = await run_loadtest(c, LoadConfig(concurrency=2, requests=4))
        assert res.output_token_source == {"chunks": 4} and res.output_tokens_total == 20

    run(go)


def test_unreachable_endpoint_fails_before_the_run() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def go() -> None:
        async with client(f"http://127.0.0.1:{port}") as c:
            await run_loadtest(c, LoadConfig(concurrency=1, requests=2))

    with pytest.raises(EndpointConnectError, match=str(port)):
        run(go)


def test_fake_slo_search_finds_the_knee() -> None:
    """A fake whose TTFT is 50 ms × requests in flight: a 225 ms p95 target allows concurrency 4."""
    state = {"now": 0}

    async def handler(req: Request, conn: Conn) -> None:
        if not req.path.endswith("/chat/completions"):
            await conn.json(200, MODELS)
            return
        state["now"] += 1
        try:
            await openai_handler(ttft=0.05 * state["now"], tokens=2)(req, conn)
        finally:
            state["now"] -= 1

    async def go() -> None:
        async with FakeServer(handler) as srv, client(srv.url) as c:
            base = LoadConfig(concurrency=1, requests=8, max_tokens=2)
            res = await slo_search(c, base, ttft_p95_s=0.225, requests_per_level=16)
        assert res.max_concurrency == 4
        levels = [s.concurrency for s in res.steps]
        assert levels[:4] == [1, 2, 4, 8] and len(levels) <= 6
        assert all(s.passed for s in res.steps if s.concurrency <= 4)
        assert res.policy_facts()["load.slo.max_concurrency"] == 4

    run(go)


def test_fake_determinism_probe_identical_and_not() -> None:
    rng = random.Random(0)

    async def flaky(req: Request, conn: Conn) -> None:
        if req.path.endswith("/models"):
            await conn.json(200, MODELS)
        else:
            await conn.json(200, completion(rng.choice(["alpha beta", "alpha gamma"])))

    async def go() -> None:
        async with FakeServer(openai_handler(tokens=4)) as srv, client(srv.url) as c:
            same = await probe_determinism(c, ["a", "b"], repeats=4)
        assert same.identical_rate == 1.0 and same.prompts_all_identical == 2 and same.outputs_total == 8
        assert same.policy_facts()["load.determinism.identical_rate"] == 1.0
        async with FakeServer(flaky) as srv, client(srv.url) as c:
            diff = await probe_determinism(c, ["a", "b", "c"], repeats=6)
        assert diff.identical_rate < 1.0 and diff.prompts_all_identical < 3
        assert any(p.first_divergence_char == 6 for p in diff.prompts)  # "alpha " then beta/gamma
        lo, hi = diff.identical_rate_ci
        assert lo <= diff.identical_rate <= hi

    run(go)


# -- CLI --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fake_url() -> object:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests/fakes/openai_server.py"), "--port", str(port), "--tokens", "4"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # "fake server on ..."
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=5)


def test_cli_loadtest_json_and_out_dir(fake_url: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = subprocess.run(
        [sys.executable, "-m", "clearance", "loadtest", "-e", fake_url, "-c", "2", "-n", "6", "--json",
         "--out", str(out), "--determinism", "2"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["loadtest"]["completed"] == 6
    assert data["policy_facts"]["load.error_rate"] == 0.0
    assert data["policy_facts"]["load.determinism.identical_rate"] == 1.0
    assert len((out / "requests.jsonl").read_text().splitlines()) == 6
    assert json.loads((out / "result.json").read_text())["loadtest"]["completed"] == 6


def test_cli_loadtest_unreachable_exits_2_with_one_line() -> None:
    port = _free_port()
    res = subprocess.run(
        [sys.executable, "-m", "clearance", "loadtest", "-e", f"http://127.0.0.1:{port}", "-c", "1", "-n", "1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2
    assert "error:" in res.stderr and str(port) in res.stderr and "Traceback" not in res.stderr


def test_cli_loadtest_needs_one_shape() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "clearance", "loadtest", "-e", "http://127.0.0.1:9", "-c", "1", "-r", "2"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2 and "exactly one" in res.stderr


def test_cli_loadtest_all_failed_exits_1(tmp_path: Path) -> None:
    """A fake that answers /v1/models but fails every chat request: the run ends, exit status 1."""
    script = tmp_path / "fail500.py"
    script.write_text(
        "import asyncio, sys\n"
        f"sys.path.insert(0, {str(REPO / 'tests')!r})\n"
        "from fakes.openai_server import FakeServer, MODELS\n"
        "async def h(req, conn):\n"
        "    if req.path.endswith('/models'):\n"
        "        await conn.json(200, MODELS)\n"
        "    else:\n"
        "        await conn.json(500, {'error': 'always'})\n"
        "async def main():\n"
        "    srv = await FakeServer(h, port=int(sys.argv[1])).start()\n"
        "    print('up', flush=True)\n"
        "    await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    port = _free_port()
    srv = subprocess.Popen([sys.executable, str(script), str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout is not None
        srv.stdout.readline()
        res = subprocess.run(
            [sys.executable, "-m", "clearance", "loadtest", "-e", f"http://127.0.0.1:{port}", "-c", "2", "-n", "4",
             "--out", str(tmp_path / "o")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert res.returncode == 1
        assert "4 failed" in res.stdout and "HTTP 500" in res.stdout
        assert len((tmp_path / "o" / "requests.jsonl").read_text().splitlines()) == 4
    finally:
        srv.terminate()
        srv.wait(timeout=5)
