"""Benchmark: eval throughput across 1 and 4 fake replicas, and the load generator with 1 and 2 workers.

Replicas: each fake replica is its own process (``tests/fakes/replicas.py``) with a fixed batch of
``--slots`` sequences and ``--delay`` seconds per request (the rest queue, as in a real server), so one
replica tops out at slots/delay requests per second. ``clearance eval`` runs the same generated suite
(``--questions`` arithmetic items) with ``-e`` once and four times, starting at ``-c 8`` with AIMD up to
``--max-concurrency``; the rate is new samples / the run's own wall time (``wall_s`` in metrics.json).

Workers: ``clearance loadtest --rate R`` against one fake token-stream server (tests/fakes/openai_server.py,
1 ms TTFT, 0.5 ms per token, 4 tokens) with ``--workers 1`` and ``--workers 2``; reported: sent rate, send
lag p99 (client lateness) and completed req/s.

Usage: python bench/scale_replicas.py [--questions 1200] [--rate 1500 --requests 6000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"fake server on port {port} did not start")


def start_replica(port: int, slots: int, delay: float) -> subprocess.Popen[bytes]:
    code = "import sys; sys.path.insert(0, 'tests'); from fakes.replicas import main; main()"
    p = subprocess.Popen(
        [PY, "-c", code, "--port", str(port), "--slots", str(slots), "--delay", str(delay)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    wait_port(port)
    return p


def write_suite(work: Path, n: int) -> Path:
    with (work / "arith.jsonl").open("w") as f:
        for i in range(n):
            f.write(
                json.dumps(
                    {"id": f"q{i}", "input": f"What is {i} + 1? Answer with the number.", "target": "42"}
                )
            )
            f.write("\n")
    suite = work / "arith.yaml"
    suite.write_text(
        "name: arith\ndataset: {loader: jsonl, path: arith.jsonl, license: bench}\n"
        'template: "{{ input }}"\ngeneration: {max_tokens: 8, temperature: 0.0}\n'
        "scorers: [match]\nmetrics: [accuracy]\n",
        encoding="utf-8",
    )
    return suite


def eval_rate(urls: list[str], suite: Path, out: Path, max_c: int) -> dict[str, float]:
    args = [PY, "-m", "clearance", "eval", "--suite", str(suite), "--out", str(out), "--json", "-c", "8"]
    args += ["--max-concurrency", str(max_c)]
    for u in urls:
        args += ["-e", u]
    r = subprocess.run(args, capture_output=True, text=True, cwd=REPO)
    if r.returncode != 0:
        raise SystemExit(r.stderr[-2000:])
    obj = json.loads(r.stdout)
    return {
        "samples": obj["new_samples"],
        "wall_s": obj["wall_s"],
        "rate": obj["new_samples"] / obj["wall_s"],
        "final_c": obj["concurrency"]["final"],
    }


def bench_replicas(questions: int, slots: int, delay: float, max_c: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        suite = write_suite(work, questions)
        ports = [free_port() for _ in range(4)]
        procs = [start_replica(p, slots, delay) for p in ports]
        try:
            urls = [f"http://127.0.0.1:{p}" for p in ports]
            one = eval_rate(urls[:1], suite, work / "one", max_c)
            four = eval_rate(urls, suite, work / "four", max_c)
        finally:
            for p in procs:
                p.terminate()
                p.wait()
    cap = slots / delay
    print(
        f"replica capacity: {slots} slots / {delay * 1000:g} ms = {cap:.0f} req/s each; {questions} questions"
    )
    print(
        f"  1 replica : {one['rate']:7.1f} samples/s ({one['wall_s']:.2f} s, AIMD ended at c={one['final_c']})"
    )
    print(
        f"  4 replicas: {four['rate']:7.1f} samples/s ({four['wall_s']:.2f} s, AIMD ended at c={four['final_c']})"
    )
    print(f"  speed-up  : {four['rate'] / one['rate']:.2f}x")


def bench_workers(rate: float, requests: int) -> None:
    port = free_port()
    srv = subprocess.Popen(
        [
            PY,
            "tests/fakes/openai_server.py",
            "--port",
            str(port),
            "--ttft",
            "0.001",
            "--tpot",
            "0.0005",
            "--tokens",
            "4",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    wait_port(port)
    try:
        for w in (1, 2):
            args = [PY, "-m", "clearance", "loadtest", "-e", f"http://127.0.0.1:{port}", "--rate", str(rate)]
            args += ["-n", str(requests), "--max-tokens", "4", "--workers", str(w), "--json"]
            t0 = time.perf_counter()
            r = subprocess.run(args, capture_output=True, text=True, cwd=REPO)
            wall = time.perf_counter() - t0
            if r.returncode != 0:
                raise SystemExit(r.stderr[-2000:])
            res = json.loads(r.stdout)["loadtest"]
            lag = res["send_lag"]["p99"] * 1000 if res.get("send_lag") else float("nan")
            print(
                f"  workers={w}: sent {res['achieved_rate']:.1f} req/s (target {rate:g}), send lag p99 {lag:.2f} ms, "
                f"completed {res['completed']}/{requests} at {res['request_throughput']:.1f} req/s, "
                f"TTFT p50 {res['ttft']['p50'] * 1000:.2f} ms, wall {wall:.1f} s"
            )
    finally:
        srv.terminate()
        srv.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=1200)
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--delay", type=float, default=0.1)
    ap.add_argument("--max-concurrency", type=int, default=128)
    ap.add_argument("--rate", type=float, default=1500.0)
    ap.add_argument("--requests", type=int, default=6000)
    ap.add_argument("--skip-workers", action="store_true")
    a = ap.parse_args()
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start, python {sys.version.split()[0]}"
    )
    bench_replicas(a.questions, a.slots, a.delay, a.max_concurrency)
    if not a.skip_workers:
        print(f"load generator, open loop {a.rate:g} req/s, {a.requests} requests:")
        bench_workers(a.rate, a.requests)


if __name__ == "__main__":
    main()
