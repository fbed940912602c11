"""Peer load generator: a minimal re-implementation of `vllm bench serve`'s client path (aiohttp).

Runs in its own venv (bench/.venvs/loadgen-peer, `pip install aiohttp`). It follows vLLM's
`async_request_openai_chat_completions` (one shared aiohttp session, `iter_any()` reads split on
blank lines, perf_counter timestamps) and `get_request` (absolute precomputed schedule, PR #21108;
semaphore for --max-concurrency). One deliberate difference: TTFT waits for the first chunk with
non-empty content (vLLM PR #3768 behaviour); current vLLM counts a role-only chunk as the first token.
Prints one JSON object with the same metric definitions Clearance uses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time

import aiohttp

WORDS = [
    "river",
    "mountain",
    "signal",
    "harbor",
    "copper",
    "lantern",
    "meadow",
    "orbit",
    "granite",
    "willow",
    "ember",
    "canyon",
]


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


async def one(
    session: aiohttp.ClientSession, url: str, i: int, max_tokens: int, t0: float, scheduled: float | None
) -> dict:
    rng = random.Random(i)
    prompt = f"Request {i}. " + " ".join(rng.choice(WORDS) for _ in range(56))
    payload = {
        "model": "fake-model",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    out = {"ttft": None, "itl": [], "tokens": None, "error": None, "start": 0.0, "end": 0.0, "lag": None}
    st = time.perf_counter()
    out["start"] = st - t0
    if scheduled is not None:
        out["lag"] = st - t0 - scheduled
    recent = st
    try:
        async with session.post(url, json=payload) as resp:
            if resp.status != 200:
                out["error"] = f"HTTP {resp.status}"
                return out
            buf = ""
            async for chunk in resp.content.iter_any():
                buf += chunk.decode("utf-8")
                while "\n\n" in buf:
                    msg, buf = buf.split("\n\n", 1)
                    msg = msg.strip()
                    if not msg.startswith("data:"):
                        continue
                    data = msg[5:].strip()
                    if data == "[DONE]":
                        continue
                    ts = time.perf_counter()
                    obj = json.loads(data)
                    if choices := obj.get("choices"):
                        content = choices[0].get("delta", {}).get("content")
                        if content:
                            if out["ttft"] is None:
                                out["ttft"] = ts - st
                            else:
                                out["itl"].append(ts - recent)
                            recent = ts
                    elif usage := obj.get("usage"):
                        out["tokens"] = usage.get("completion_tokens")
        out["end"] = time.perf_counter() - t0
        out["last"] = recent - st
    except Exception as exc:  # a load generator counts errors, it does not stop
        out["error"] = repr(exc)
        out["end"] = time.perf_counter() - t0
    return out


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--concurrency", type=int)
    ap.add_argument("--rate", type=float)
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--max-tokens", type=int, default=16)
    a = ap.parse_args()
    url = a.url.rstrip("/") + "/v1/chat/completions"
    conn = aiohttp.TCPConnector(limit=a.concurrency or 0, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=6 * 60 * 60)
    async with aiohttp.ClientSession(
        connector=conn, timeout=timeout, read_bufsize=4 * 1024 * 1024
    ) as session:
        t0 = time.perf_counter()
        if a.concurrency:
            sem = asyncio.Semaphore(a.concurrency)

            async def limited(i: int) -> dict:
                async with sem:
                    return await one(session, url, i, a.max_tokens, t0, None)

            results = await asyncio.gather(*(limited(i) for i in range(a.n)))
        else:
            sched = [i / a.rate for i in range(a.n)]  # constant arrivals, absolute schedule
            tasks = []
            for i, at in enumerate(sched):
                delay = t0 + at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(session, url, i, a.max_tokens, t0, at)))
            results = await asyncio.gather(*tasks)
    ok = [r for r in results if r["error"] is None]
    dur = max(r["end"] for r in results) - min(r["start"] for r in results)
    tpot = [
        (r["last"] - r["ttft"]) / (r["tokens"] - 1)
        for r in ok
        if r["tokens"] and r["tokens"] > 1 and r["ttft"]
    ]
    starts = sorted(r["start"] for r in results)
    print(
        json.dumps(
            {
                "tool": f"aiohttp {aiohttp.__version__} vLLM-style reference client",
                "completed": len(ok),
                "failed": len(results) - len(ok),
                "duration_s": dur,
                "requests_per_s": len(ok) / dur,
                "ttft_p50_s": pct([r["ttft"] for r in ok if r["ttft"] is not None], 50),
                "ttft_p99_s": pct([r["ttft"] for r in ok if r["ttft"] is not None], 99),
                "tpot_p50_s": pct(tpot, 50),
                "itl_p50_s": pct([g for r in ok for g in r["itl"]], 50),
                "e2e_p50_s": statistics.median(r["end"] - r["start"] for r in ok) if ok else None,
                "send_lag_p99_s": pct([r["lag"] for r in results if r["lag"] is not None], 99),
                "achieved_rate": (len(starts) - 1) / (starts[-1] - starts[0])
                if a.rate and len(starts) > 1
                else None,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
