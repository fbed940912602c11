"""Replica pool: -e repeated, least-outstanding routing, a replica dying mid-run, identity, 429 pressure."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from clearance.endpoint import ChatRequest, Timeouts
from clearance.endpoint.adaptive import AdaptiveLimit
from clearance.endpoint.pool import ReplicaPool, parse_endpoints
from clearance.errors import EndpointConnectError, InputError
from clearance.evals import load_suite, run_suite
from fakes.replicas import FakeReplica


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=timeout
    )


def req(i: int = 0) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": f"q{i}"}], max_tokens=4)


# -- parsing ----------------------------------------------------------------------------------------


def test_parse_endpoints_splits_commas_reads_file_and_refuses_duplicates(tmp_path: Path) -> None:
    assert parse_endpoints(["http://a:1,http://b:2/v1", "http://c:3/"]) == [
        "http://a:1/v1",
        "http://b:2/v1",
        "http://c:3/v1",
    ]
    f = tmp_path / "eps.txt"
    f.write_text("# replicas\nhttp://a:1\n\nhttp://b:2  # second\n", encoding="utf-8")
    assert parse_endpoints(None, f) == ["http://a:1/v1", "http://b:2/v1"]
    with pytest.raises(InputError, match="given twice"):
        parse_endpoints(["http://a:1", "http://a:1/v1"])
    with pytest.raises(InputError, match="http://"):
        parse_endpoints(["a:1"])
    (tmp_path / "empty.txt").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(InputError, match="no endpoint"):
        parse_endpoints(None, tmp_path / "empty.txt")


# -- routing, health, identity (library) ---------------------------------------------------------


def test_least_outstanding_sends_more_to_the_faster_replica() -> None:
    async def go() -> tuple[int, int]:
        async with FakeReplica(delay=0.005) as fast, FakeReplica(delay=0.08) as slow:  # noqa: SIM117 - the pool needs the servers' URLs
            async with ReplicaPool([fast.url, slow.url], max_retries=0) as pool:
                sem = asyncio.Semaphore(4)

                async def one(i: int) -> None:
                    async with sem:
                        await pool.chat(req(i))

                await asyncio.gather(*(one(i) for i in range(80)))
                stats = {s.url: s for s in pool.stats()}
                assert stats[pool.urls[0]].completed == fast.served
                return fast.served, slow.served

    fast, slow = asyncio.run(go())
    assert fast + slow == 80
    assert fast > 3 * slow  # a round-robin router would split 40/40


def test_a_replica_that_dies_is_taken_out_and_the_run_goes_on(tmp_path: Path) -> None:
    suite = load_suite("capability-basic")

    async def go() -> None:
        async with (  # noqa: SIM117 - the pool needs the servers' URLs
            FakeReplica(delay=0.01, answer="Paris") as a,
            FakeReplica(delay=0.01, die_after=3, answer="Paris") as b,
        ):
            async with ReplicaPool([a.url, b.url], max_retries=2) as pool:
                res = await run_suite(pool, suite, tmp_path, concurrency=4, progress=False)
                assert res.n_failed == 0 and res.n_completed == res.n_selected
                by = {s.url: s for s in res.replicas}
                assert by[pool.urls[1]].state == "down" and by[pool.urls[1]].down_reason
                assert by[pool.urls[0]].state == "up"
                assert by[pool.urls[1]].errors >= 1
                assert res.endpoint.replicas == pool.urls
                assert b.served <= 3 and a.served + b.served == res.n_selected  # cut ones went to a

    asyncio.run(go())


def test_when_every_replica_is_down_the_call_fails_with_one_error() -> None:
    async def go() -> None:
        async with FakeReplica(die_after=0) as a, FakeReplica(die_after=0) as b:  # noqa: SIM117 - the pool needs the servers' URLs
            async with ReplicaPool([a.url, b.url], max_retries=3, timeouts=Timeouts(connect=1)) as pool:
                await pool.served_model()
                with pytest.raises(EndpointConnectError):
                    await pool.chat(req())

    asyncio.run(go())


@pytest.mark.parametrize(
    ("kw_a", "kw_b", "what"),
    [
        ({"model": "qwen-9b"}, {"model": "qwen-27b"}, "qwen-27b"),
        ({"root": "/m/a"}, {"root": "/m/b"}, "root"),
        ({"max_model_len": 8192}, {"max_model_len": 32768}, "max_model_len"),
    ],
)
def test_replicas_of_different_models_are_refused(kw_a: dict, kw_b: dict, what: str) -> None:
    async def go() -> None:
        async with FakeReplica(**kw_a) as a, FakeReplica(**kw_b) as b:  # noqa: SIM117 - the pool needs the servers' URLs
            async with ReplicaPool([a.url, b.url]) as pool:
                with pytest.raises(InputError, match=what):
                    await pool.served_model()
                assert a.chat_requests == b.chat_requests == 0

    asyncio.run(go())


def test_retry_after_skips_the_throttling_replica_and_signals_pressure() -> None:
    async def go() -> None:
        async with FakeReplica(capacity=0, retry_after=5) as busy, FakeReplica() as ok:  # noqa: SIM117 - the pool needs the servers' URLs
            async with ReplicaPool([busy.url, ok.url], max_retries=2) as pool:
                heard: list[int] = []
                pool.add_pressure_listener(lambda e: heard.append(getattr(e, "status_code", 0)))
                for i in range(6):
                    await pool.chat(req(i))
                # one 429 with Retry-After: 5 s, then the busy replica is skipped until then
                assert busy.throttled == 1 and ok.served == 6 and heard == [429]
                st = {s.url: s for s in pool.stats()}
                assert st[pool.urls[0]].throttled == 1 and st[pool.urls[0]].state == "up"

    asyncio.run(go())


# -- adaptive concurrency (the runner) --------------------------------------------------------------


def test_eval_runner_lowers_concurrency_on_429_and_records_the_level(tmp_path: Path) -> None:
    """Before: a 429 was retried at the same concurrency, forever pushing past the server's capacity."""
    suite = load_suite("capability-basic")

    async def go() -> None:
        async with FakeReplica(delay=0.03, capacity=3, retry_after=0.02, answer="Paris") as srv:  # noqa: SIM117 - the pool needs the servers' URLs
            async with ReplicaPool([srv.url], max_retries=8) as pool:
                res = await run_suite(
                    pool, suite, tmp_path, concurrency=16, max_concurrency=16, adaptive=True, progress=False
                )
        assert res.n_failed == 0
        c = res.concurrency
        assert c is not None and c.mode == "adaptive" and c.initial == 16
        assert c.decreases >= 1 and c.final <= 8
        assert any("HTTP 429" in ch.reason for ch in c.changes)
        assert srv.throttled >= 1
        metrics = json.loads((tmp_path / "metrics.json").read_text())
        assert metrics["concurrency"]["final"] == c.final

    asyncio.run(go())


def test_adaptive_limit_grows_while_throughput_grows_and_halves_on_pressure() -> None:
    async def go() -> AdaptiveLimit:
        lim = AdaptiveLimit(2, maximum=12)

        async def one() -> None:
            async with lim.slot():
                await asyncio.sleep(0.05)  # a server with no limit: more in flight = more per second

        await asyncio.gather(*(one() for _ in range(300)))
        return lim

    lim = asyncio.run(go())
    assert lim.record.increases >= 2 and lim.limit > 2 and lim.record.peak_in_flight > 2
    before = lim.limit
    lim._last_decrease = -1.0  # no decrease yet in this window
    lim.pressure(None)
    assert lim.limit == max(1, before // 2) and lim.record.decreases == 1
    lim.pressure(None)  # same window: one burst is one decrease
    assert lim.record.decreases == 1


# -- the CLI: -e repeated, comma list, per-replica output ---------------------------------------------


def test_eval_cli_uses_every_repeated_endpoint_and_reports_replicas(tmp_path: Path) -> None:
    """Before: a repeated -e was silently dropped (only the last URL got requests)."""
    with FakeReplica(answer="Paris") as a, FakeReplica(answer="Paris") as b:
        res = cli(
            "eval", "-e", a.url, "-e", b.url, "--suite", "capability-basic", "--out", str(tmp_path), "--json"
        )
        assert res.returncode == 0, res.stderr
        obj = json.loads(res.stdout)
        assert a.served > 0 and b.served > 0
        assert [r["url"] for r in obj["replicas"]] == [f"{a.url}/v1", f"{b.url}/v1"]
        assert sum(r["completed"] for r in obj["replicas"]) == obj["n_completed"]
        assert obj["endpoint"]["replicas"] == [f"{a.url}/v1", f"{b.url}/v1"]
        assert obj["concurrency"]["mode"] == "adaptive"


def test_eval_cli_comma_separated_endpoints_are_split_not_a_traceback(tmp_path: Path) -> None:
    """Before: `-e URL1,URL2` ended in a Python traceback."""
    with FakeReplica(answer="Paris") as a, FakeReplica(answer="Paris") as b:
        res = cli("eval", "-e", f"{a.url},{b.url}", "--suite", "capability-basic", "--out", str(tmp_path))
        assert res.returncode == 0, res.stderr
        assert "Traceback" not in res.stderr
        assert a.served > 0 and b.served > 0
        assert "replicas" in res.stdout


def test_eval_cli_refuses_to_mix_models_with_one_line(tmp_path: Path) -> None:
    with FakeReplica(model="m-a") as a, FakeReplica(model="m-b") as b:
        res = cli("eval", "-e", a.url, "-e", b.url, "--suite", "capability-basic", "--out", str(tmp_path))
        assert res.returncode == 2
        assert "replicas differ" in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1


def test_loadtest_cli_spreads_over_replicas_and_survives_one_dying(tmp_path: Path) -> None:
    with FakeReplica(delay=0.01) as a, FakeReplica(delay=0.01, die_after=5) as b:
        res = cli("loadtest", "-e", a.url, "-e", b.url, "-c", "4", "-n", "60", "--json")
        assert res.returncode == 0, res.stderr
        obj = json.loads(res.stdout)["loadtest"]
        reps = {r["url"]: r for r in obj["replicas"]}
        assert set(reps) == {f"{a.url}/v1", f"{b.url}/v1"}
        assert reps[f"{b.url}/v1"]["state"] == "down" and reps[f"{a.url}/v1"]["state"] == "up"
        # load tests do not retry: the requests cut by the dying replica are counted as failed
        assert obj["failed"] == reps[f"{b.url}/v1"]["errors"] >= 1
        assert obj["completed"] + obj["failed"] == 60
        assert reps[f"{a.url}/v1"]["completed"] == a.served
        assert obj["endpoint"]["replicas"] == [f"{a.url}/v1", f"{b.url}/v1"]


def test_vet_takes_replicas_and_binds_them_in_the_evidence(tmp_path: Path) -> None:
    from clearance.vet import VetOptions, run_vet

    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text(
        json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}), encoding="utf-8"
    )
    with (
        FakeReplica(answer="I'm sorry, I can't help with that.") as a,
        FakeReplica(answer="I'm sorry, I can't help with that.") as b,
    ):
        res = run_vet(
            VetOptions(
                model=str(model),
                endpoint=a.url,
                replicas=[b.url],
                out=str(tmp_path / "run"),
                suites=["safety-refusal"],
                limit=20,
                load_requests=8,
                determinism_repeats=2,
                progress=False,
            )
        )
        assert a.served > 0 and b.served > 0
    dossier = json.loads((Path(res.out_dir) / "dossier.json").read_text())
    assert dossier["provenance"]["endpoint"]["replicas"] == [f"{a.url}/v1", f"{b.url}/v1"]


async def _probes_done(pool: ReplicaPool) -> None:
    """Wait for the pool's background probes in flight (the pool's own task set)."""
    await asyncio.gather(*list(pool._probes), return_exceptions=True)


def test_a_replica_taken_out_comes_back_after_a_background_probe_when_restarted() -> None:
    """A pod restart: the replica drops connections, is taken out, then listens again. A background
    probe (GET /v1/models, not a counted request) brings it back, and it takes traffic again."""

    async def go() -> None:
        async with FakeReplica(delay=0.01) as a, FakeReplica(delay=0.01, die_after=2) as b:  # noqa: SIM117
            async with ReplicaPool([a.url, b.url], max_retries=2, reprobe_s=0.05) as pool:
                for i in range(8):
                    await pool.chat(req(i))
                down = {s.url: s for s in pool.stats()}[pool.urls[1]]
                assert down.state == "down" and b.served == 2
                await asyncio.sleep(0.2)
                for i in range(4):  # still dead: probes fail and back off, requests all go to a
                    await pool.chat(req(i))
                assert {s.url: s for s in pool.stats()}[pool.urls[1]].state == "down"
                await b.restart()
                await asyncio.sleep(0.5)  # past the next probe's time (interval doubled at most twice here)
                await pool.chat(req(0))  # a pick starts the due probe in the background
                await _probes_done(pool)
                for i in range(12):
                    await pool.chat(req(i))
                back = {s.url: s for s in pool.stats()}[pool.urls[1]]
                assert back.state == "up" and back.returned == 1
                assert b.served > 2  # it takes requests again
                assert sum(s.errors for s in pool.stats()) == down.errors  # probes are not counted

    asyncio.run(go())


def test_a_restarted_replica_serving_another_model_stays_out() -> None:
    async def go() -> None:
        async with FakeReplica(delay=0.01) as a, FakeReplica(delay=0.01, die_after=1) as b:  # noqa: SIM117
            async with ReplicaPool([a.url, b.url], max_retries=2, reprobe_s=0.05) as pool:
                for i in range(4):
                    await pool.chat(req(i))
                b.model = "another-model"
                await b.restart()
                await asyncio.sleep(0.3)
                await pool.chat(req(0))
                await _probes_done(pool)
                for i in range(6):
                    await pool.chat(req(i))
                stats = {s.url: s for s in pool.stats()}[pool.urls[1]]
                assert stats.state == "down" and stats.returned == 0 and b.served == 1

    asyncio.run(go())
