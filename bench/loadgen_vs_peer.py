"""Benchmark: Clearance's load generator against a vLLM-style aiohttp reference client, same fake server.

Peer choice: `vllm bench serve` (9.4 GB venv) and guidellm (6 GB, needs a tokenizer dir offline) are the
strongest load testers, and per docs/peers (shared/reference/peers.md) a minimal aiohttp client that
follows vLLM's request path agrees with `vllm bench serve` within ~1 ms and out-runs guidellm; it is
the fair, installable peer for the client side. Set it up once:

    python3 -m venv bench/.venvs/loadgen-peer && bench/.venvs/loadgen-peer/bin/pip install aiohttp

Each run: a fresh fake server process (tests/fakes/openai_server.py) with injected TTFT / time per output
token; then `clearance loadtest ... --json` and the peer, each as its own process (wall and CPU seconds
from wait4). Prints a table and the ratios Clearance / peer. Usage: python bench/loadgen_vs_peer.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
PEER_PY = REPO / "bench/.venvs/loadgen-peer/bin/python"

# (name, ttft, tpot, tokens, concurrency, rate, requests)
SCENARIOS: list[tuple[str, float, float, int, int | None, float | None, int]] = [
    ("c=1", 0.050, 0.010, 20, 1, None, 20),
    ("c=8", 0.050, 0.010, 20, 8, None, 120),
    ("c=32", 0.050, 0.010, 20, 32, None, 480),
    ("rate 100/s", 0.001, 0.0005, 4, None, 100.0, 500),
    ("rate 300/s", 0.001, 0.0005, 4, None, 300.0, 1500),
    ("rate 1000/s", 0.001, 0.0005, 4, None, 1000.0, 5000),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(cmd: list[str]) -> tuple[str, float, float]:
    """Run ``cmd``; return stdout, wall seconds and CPU seconds (user+sys) of the process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed with exit {proc.returncode}")
    return out, wall, ru.ru_utime + ru.ru_stime


def fake(ttft: float, tpot: float, tokens: int) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [PY, str(REPO / "tests/fakes/openai_server.py"), "--port", str(port), "--ttft", str(ttft),
         "--tpot", str(tpot), "--tokens", str(tokens)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc, f"http://127.0.0.1:{port}"


def run_clearance(url: str, c: int | None, r: float | None, n: int, tokens: int) -> dict[str, Any]:
    shape = ["-c", str(c)] if c else ["-r", str(r), "--arrival", "constant"]
    cmd = [
        PY,
        "-m",
        "clearance",
        "loadtest",
        "-e",
        url,
        *shape,
        "-n",
        str(n),
        "--max-tokens",
        str(tokens),
        "--json",
    ]
    out, wall, cpu = timed(cmd)
    d = json.loads(out)["loadtest"]
    return {
        "completed": d["completed"],
        "requests_per_s": d["request_throughput"],
        "ttft_p50_s": d["ttft"]["p50"],
        "tpot_p50_s": d["tpot"]["p50"] if d["tpot"] else None,
        "itl_p50_s": d["itl"]["p50"] if d["itl"] else None,
        "send_lag_p99_s": d["send_lag"]["p99"] if d["send_lag"] else None,
        "achieved_rate": d["achieved_rate"],
        "wall_s": wall,
        "cpu_s": cpu,
    }


def run_peer(url: str, c: int | None, r: float | None, n: int, tokens: int) -> dict[str, Any]:
    shape = ["--concurrency", str(c)] if c else ["--rate", str(r)]
    out, wall, cpu = timed([str(PEER_PY), str(REPO / "bench/loadgen_peer_aiohttp.py"), "--url", url, *shape,
                            "-n", str(n), "--max-tokens", str(tokens)])  # fmt: skip
    d = json.loads(out)
    d.update(wall_s=wall, cpu_s=cpu)
    return d


def ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.2f}"


def main() -> None:
    if not PEER_PY.exists():
        raise SystemExit("peer venv missing: python3 -m venv bench/.venvs/loadgen-peer && "
                         "bench/.venvs/loadgen-peer/bin/pip install aiohttp")  # fmt: skip
    print(f"# loadgen_vs_peer  {time.strftime('%Y-%m-%d %H:%M')}  cpus={os.cpu_count()}  "
          f"load avg before={os.getloadavg()[0]:.2f}")  # fmt: skip
    head = (f"{'scenario':<11} {'tool':<9} {'done':>5} {'req/s':>8} {'TTFT p50 ms (inj)':>18} "
            f"{'TPOT p50 ms (inj)':>18} {'ITL p50':>8} {'lag p99 ms':>10} {'achieved':>9} {'CPU-s':>6} {'wall-s':>6}")  # fmt: skip
    _, _, base_c = timed([PY, "-m", "clearance", "--version"])
    _, _, base_p = timed([str(PEER_PY), "-c", "import aiohttp, asyncio, json"])
    print(f"start-up CPU-s (imports only): clearance {base_c:.2f}, peer {base_p:.2f}")
    print(head)
    ratios = []
    for name, ttft, tpot, tokens, c, r, n in SCENARIOS:
        row = {}
        for tool in ("clearance", "peer"):
            srv, url = fake(ttft, tpot, tokens)
            try:
                fn = run_clearance if tool == "clearance" else run_peer
                row[tool] = fn(url, c, r, n, tokens)
            finally:
                srv.terminate()
                srv.wait(timeout=10)
            d = row[tool]
            ach = f"{d['achieved_rate']:.1f}" if d.get("achieved_rate") else "-"
            print(f"{name:<11} {tool:<9} {d['completed']:>5} {d['requests_per_s']:>8.2f} "
                  f"{ms(d['ttft_p50_s']):>10} ({ttft * 1000:g}) {ms(d['tpot_p50_s']):>10} ({tpot * 1000:g}) "
                  f"{ms(d['itl_p50_s']):>8} {ms(d['send_lag_p99_s']):>10} {ach:>9} {d['cpu_s']:>6.2f} "
                  f"{d['wall_s']:>6.2f}", flush=True)  # fmt: skip
        a, b = row["clearance"], row["peer"]
        net = (a["cpu_s"] - base_c) / max(1e-9, b["cpu_s"] - base_p)
        ratios.append((name, a["requests_per_s"] / b["requests_per_s"], a["cpu_s"] / b["cpu_s"], net,
                       (a["ttft_p50_s"] - b["ttft_p50_s"]) * 1000))  # fmt: skip
    print("\nclearance/peer: scenario, req/s ratio, CPU-s ratio (incl. start-up), CPU-s ratio net of start-up, "
          "TTFT p50 diff ms")  # fmt: skip
    for name, rr, cr, nr, td in ratios:
        print(f"  {name:<11} {rr:6.3f}  {cr:6.2f}  {nr:6.2f}  {td:+.2f}")


if __name__ == "__main__":
    main()
