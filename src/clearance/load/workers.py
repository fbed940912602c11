"""A load test spread over several worker processes, for when one Python process cannot keep up.

The parent reads the served model, warms up and builds the prompts once, then starts ``workers``
processes (``spawn``) that begin together at a shared wall-clock start. Closed loop: the concurrency
and the request indices are dealt out in turn; open loop: the one precomputed arrival schedule is
dealt out in turn, so the offered load is exactly that of a single process. Every worker returns its
raw per-request records (times relative to the shared start); the parent merges them and computes every
metric from the merged samples — never by combining percentiles or histograms.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from clearance.endpoint.pool import ReplicaPool
from clearance.endpoint.records import Timeouts
from clearance.errors import InputError
from clearance.evidence import utc_now
from clearance.load.generator import _finish, _one, _Recorder, arrival_schedule, prepare, summarize
from clearance.load.records import LoadConfig, LoadResult, RequestRecord

_START_DELAY_S = 1.5  # time for every spawned process to import and connect before the shared start


def _worker(job: dict[str, Any]) -> list[str]:
    """One worker process: run its share and return its records as JSON lines."""
    return asyncio.run(_worker_async(job))


async def _worker_async(job: dict[str, Any]) -> list[str]:
    cfg = LoadConfig.model_validate(job["config"])
    prompts: dict[int, tuple[str, int | None]] = {int(k): (v[0], v[1]) for k, v in job["prompts"].items()}
    pool = ReplicaPool(
        job["urls"],
        api_key=job["api_key"],
        timeouts=Timeouts(read=job["timeout"]),
        max_retries=0,
        max_connections=job["connections"],
    )
    rec = _Recorder(None, None)
    async with pool:
        await pool.served_model()
        # perf_counter value at the shared wall-clock start: start_s is then relative to it in every worker
        t0 = time.perf_counter() + (job["epoch"] - time.time())
        wait = t0 - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        deadline = t0 + cfg.duration_s if cfg.duration_s is not None else None
        indices: list[int] = job["indices"]
        if cfg.concurrency is not None:
            it = iter(indices)

            async def loop() -> None:
                for i in it:
                    if deadline is not None and time.perf_counter() >= deadline:
                        return
                    await _one(pool, cfg, i, t0, None, rec, prompts.get(i))

            tasks = [asyncio.create_task(loop()) for _ in range(min(job["concurrency"], len(indices)))]
        else:
            tasks = []
            for i, at in zip(indices, job["offsets"], strict=True):
                if deadline is not None and t0 + at >= deadline:
                    break
                delay = t0 + at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(_one(pool, cfg, i, t0, at, rec, prompts.get(i))))
        await _finish(tasks, deadline, cfg.grace_s)
    return [r.model_dump_json() for r in rec.records]


async def run_loadtest_workers(
    urls: list[str],
    config: LoadConfig,
    workers: int,
    *,
    api_key: str | None = None,
    timeout: float = 60.0,
) -> LoadResult:
    """Run ``config`` over ``workers`` processes and merge their raw records (see the module docstring)."""
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    if config.concurrency is not None and config.concurrency < workers:
        raise InputError(f"--workers {workers} exceeds --concurrency {config.concurrency}")
    async with ReplicaPool(urls, api_key=api_key, timeouts=Timeouts(read=timeout), max_retries=0) as pool:
        served = await pool.served_model()
        plan, n_warm = await prepare(pool, config, served)
        ref = pool.endpoint_ref()
    n = config.requests
    if config.rate is not None and config.duration_s is not None:
        n = min(n, int(config.rate * config.duration_s) + 2)
    schedule = (
        arrival_schedule(n, config.rate, arrival=config.arrival, seed=config.seed) if config.rate else []
    )
    epoch = time.time() + _START_DELAY_S
    jobs = []
    for w in range(workers):
        idx = list(range(w, n, workers))
        share = None
        if config.concurrency is not None:
            share = config.concurrency // workers + (1 if w < config.concurrency % workers else 0)
        jobs.append(
            {
                "config": config.model_dump(mode="json", exclude={"out_dir"}),
                "urls": urls,
                "api_key": api_key,
                "timeout": timeout,
                "connections": max(256, 2 * (share or 0)),
                "epoch": epoch,
                "indices": idx,
                "offsets": [schedule[i] for i in idx] if schedule else [],
                "concurrency": share or 0,
                "prompts": {i: plan.prompt(i) for i in idx} if plan.prompts else {},
            }
        )
    started_at = utc_now()
    loop = asyncio.get_running_loop()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        outs = await asyncio.gather(*(loop.run_in_executor(ex, _worker, j) for j in jobs))
    records = [RequestRecord.model_validate_json(line) for out in outs for line in out]
    records.sort(key=lambda r: r.start_s)
    path = None
    if config.out_dir is not None:
        Path(config.out_dir).mkdir(parents=True, exist_ok=True)
        path = Path(config.out_dir) / "requests.jsonl"
        path.write_text("".join(r.model_dump_json() + "\n" for r in records), encoding="utf-8")
    res = summarize(
        records,
        config,
        ref,
        started_at=started_at,
        requests_sent=len(records),
        records_path=str(path) if path else None,
        prompt=plan.meta,
        warmup_requests=n_warm,
    )
    return res.model_copy(update={"workers": workers})


__all__ = ["run_loadtest_workers"]
