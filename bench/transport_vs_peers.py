"""Benchmark: the own HTTP/1.1 transport (clearance.endpoint.http1) against httpx and aiohttp.

Why the project keeps its own transport is a claim about client CPU per streamed request: a load test
must never be limited by its own client, and evaluations keep a server's batch full only if the client
keeps up. Each client streams the same chat completions from the same fake server
(tests/fakes/openai_server.py, its own process), N requests with C in flight over keep-alive
connections; each client runs in its own process and its CPU seconds (user + sys, from wait4) are
measured, less the CPU of the same process doing zero requests (imports and event loop start).

Peers live in a bench-only venv, never in Clearance's dependencies:

    python3 -m venv bench/.venvs/transport-peers && bench/.venvs/transport-peers/bin/pip install httpx aiohttp

Usage: .venv/bin/python bench/transport_vs_peers.py [--requests 600] [--concurrency 32] [--tokens 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PEER_PY = REPO / "bench/.venvs/transport-peers/bin/python"

BODY = {
    "model": "m",
    "messages": [{"role": "user", "content": "Say something."}],
    "max_tokens": 16,
    "temperature": 0,
    "stream": True,
}

# One driver per client: N streamed requests, C in flight, every SSE line read until [DONE].
DRIVERS = {
    "clearance (http1)": """
import asyncio, sys
from clearance.endpoint import ChatRequest, OpenAIClient
url, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
async def main():
    if n == 0:
        return
    async with OpenAIClient(url, max_retries=0) as cl:
        req = ChatRequest(model="m", messages=[{"role": "user", "content": "Say something."}], max_tokens=16, temperature=0)
        sem = asyncio.Semaphore(c)
        async def one():
            async with sem:
                r = await cl.chat_stream(req)
                assert r.text
        await asyncio.gather(*(one() for _ in range(n)))
asyncio.run(main())
""",
    "clearance http1 only": """
import asyncio, json, sys
from clearance.endpoint.http1 import H1Pool
url, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
BODY = sys.argv[4].encode()
async def main():
    if n == 0:
        return
    pool = H1Pool(url, max_connections=c)
    sem = asyncio.Semaphore(c)
    async def one():
        async with sem:
            text = []
            buf = b""
            def on_data(chunk):
                nonlocal buf
                buf += chunk
                *lines, buf = buf.split(b"\\n")
                for line in lines:
                    line = line.strip()
                    if line.startswith(b"data: ") and line != b"data: [DONE]":
                        ch = json.loads(line[6:])["choices"]
                        if ch and ch[0].get("delta", {}).get("content"):
                            text.append(ch[0]["delta"]["content"])
                return False
            async with pool.request("POST", "/v1/chat/completions", BODY, "application/json") as r:
                await r.body(on_data)
            assert text
    await asyncio.gather(*(one() for _ in range(n)))
    await pool.close()
asyncio.run(main())
""",
    "httpx": """
import asyncio, json, sys
import httpx
url, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
BODY = json.loads(sys.argv[4])
async def main():
    if n == 0:
        return
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx.AsyncClient(limits=limits, timeout=30, trust_env=False) as cl:
        sem = asyncio.Semaphore(c)
        async def one():
            async with sem:
                text = []
                async with cl.stream("POST", url + "/chat/completions", json=BODY) as r:
                    async for line in r.aiter_lines():
                        if line.startswith("data: ") and line != "data: [DONE]":
                            ch = json.loads(line[6:])["choices"]
                            if ch and ch[0].get("delta", {}).get("content"):
                                text.append(ch[0]["delta"]["content"])
                assert text
        await asyncio.gather(*(one() for _ in range(n)))
asyncio.run(main())
""",
    "aiohttp": """
import asyncio, json, sys
import aiohttp
url, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
BODY = json.loads(sys.argv[4])
async def main():
    if n == 0:
        return
    conn = aiohttp.TCPConnector(limit=c)
    async with aiohttp.ClientSession(connector=conn, trust_env=False) as s:
        sem = asyncio.Semaphore(c)
        async def one():
            async with sem:
                text = []
                async with s.post(url + "/chat/completions", json=BODY) as r:
                    async for raw in r.content:
                        line = raw.decode().strip()
                        if line.startswith("data: ") and line != "data: [DONE]":
                            ch = json.loads(line[6:])["choices"]
                            if ch and ch[0].get("delta", {}).get("content"):
                                text.append(ch[0]["delta"]["content"])
                assert text
        await asyncio.gather(*(one() for _ in range(n)))
asyncio.run(main())
""",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_of(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + sys) of one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode()[-400:] if proc.stderr else ""
        raise SystemExit(f"{cmd[:3]} failed: {err}")
    return time.perf_counter() - t0, ru.ru_utime + ru.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "tests/fakes/openai_server.py"),
            "--port",
            str(port),
            "--tokens",
            str(a.tokens),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # "fake server on ..."
        url = f"http://127.0.0.1:{port}/v1"
        body = json.dumps(BODY)
        rows = []
        for name, code in DRIVERS.items():
            py = sys.executable if name.startswith("clearance") else str(PEER_PY)
            if not Path(py).exists():
                print(f"{name}: {py} missing (see the module doc)")
                continue
            base = min(cpu_of([py, "-c", code, url, "0", str(a.concurrency), body])[1] for _ in range(2))
            cpu_runs, wall_runs = [], []
            for _ in range(a.runs):
                wall, cpu = cpu_of([py, "-c", code, url, str(a.requests), str(a.concurrency), body])
                cpu_runs.append(cpu - base)
                wall_runs.append(wall)
            cpu = sorted(cpu_runs)[len(cpu_runs) // 2]
            wall = sorted(wall_runs)[len(wall_runs) // 2]
            rows.append((name, cpu / a.requests * 1e3, a.requests / wall, base))
        print(
            f"{a.requests} streamed requests ({a.tokens} tokens each), {a.concurrency} in flight, "
            f"median of {a.runs} runs; load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs"
        )
        print(f"{'client':<20} {'CPU ms/request':>15} {'requests/s':>11} {'start-up CPU s':>15}")
        for name, ms, rps, base in rows:
            print(f"{name:<20} {ms:>15.3f} {rps:>11.0f} {base:>15.2f}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
