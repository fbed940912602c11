"""The load generator: closed loop (C in flight) or open loop (Poisson/constant arrivals at R req/s).

Open-loop send times are precomputed as an absolute schedule from the run start, independent of
completions, so a slow server cannot slow the offered load (no coordinated omission); the lateness
of each send is recorded. Every finished request is appended to ``requests.jsonl`` at once, so a run
that is interrupted keeps what it measured. Errors are counted, never fatal, except that an
unreachable endpoint fails before the run starts.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import IO

from clearance.endpoint import ChatRequest
from clearance.endpoint.pool import Endpoint, ReplicaStats
from clearance.errors import ClearanceError, EndpointError, InputError
from clearance.evidence import EndpointRef, utc_now
from clearance.load.records import LoadConfig, LoadResult, PromptTokens, RequestRecord, error_rate_with_ci
from clearance.load.stats import Distribution, percentile
from clearance.progress import ProgressArg, open_task

_WORDS = [
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
    "falcon",
    "prairie",
    "quartz",
    "thunder",
    "velvet",
    "glacier",
    "compass",
    "horizon",
    "marble",
    "cedar",
    "beacon",
    "tundra",
    "saffron",
    "anchor",
    "meteor",
    "violet",
    "summit",
    "cobalt",
    "ripple",
    "sparrow",
    "delta",
    "lagoon",
    "basalt",
    "aurora",
    "juniper",
    "ocean",
    "pepper",
]

RecordHook = Callable[[RequestRecord], None]


def synthetic_prompt(index: int, words: int, seed: int = 0) -> str:
    """A unique, deterministic prompt of about ``words`` words (no tokenizer: token count is approximate)."""
    rng = random.Random(seed * 1_000_003 + index)
    body = " ".join(rng.choices(_WORDS, k=max(1, words - 8)))
    return f"Request {index}. Continue this list with more words: {body}"


def arrival_schedule(n: int, rate: float, *, arrival: str = "poisson", seed: int = 0) -> list[float]:
    """Absolute send offsets (s) of ``n`` arrivals at ``rate``/s; Poisson gaps are seeded exponentials."""
    rng = random.Random(seed)
    t = 0.0
    out = []
    for i in range(n):
        if i:
            t += rng.expovariate(rate) if arrival == "poisson" else 1.0 / rate
        out.append(t)
    return out


class _Recorder:
    """Collects records in memory and appends each one to a JSONL file as it completes."""

    def __init__(self, path: Path | None, hook: RecordHook | None) -> None:
        self.records: list[RequestRecord] = []
        self.path = path
        self.hook = hook
        self._fh: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def add(self, rec: RequestRecord) -> None:
        self.records.append(rec)
        if self._fh is not None:
            self._fh.write(rec.model_dump_json() + "\n")
            self._fh.flush()
        if self.hook is not None:
            self.hook(rec)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class PromptPlan:
    """The prompts of one run: exact-length ones from a tokenizer, or approximate word counts."""

    def __init__(self, cfg: LoadConfig) -> None:
        self.cfg = cfg
        self.prompts: list[str] = []
        self.counts: list[int] = []
        self.meta = PromptTokens(
            source="words (approximate; no tokenizer)", exact=False, target=cfg.prompt_tokens
        )

    def prompt(self, index: int) -> tuple[str, int | None]:
        if index < len(self.prompts):
            return self.prompts[index], self.counts[index]
        return synthetic_prompt(index, self.cfg.prompt_tokens, self.cfg.seed), None


async def prepare(client: Endpoint, cfg: LoadConfig, served: str) -> tuple[PromptPlan, int]:
    """Warm up (excluded from metrics) and build the prompts; returns the plan and warm-up requests sent.

    With a tokenizer the first warm-up answer's ``usage.prompt_tokens`` minus the exact content length
    is the chat template's overhead; measured prompts then aim at ``prompt_tokens`` as the server counts.
    """
    from clearance.load.tokens import PromptBuilder, make_tokenizer

    plan = PromptPlan(cfg)
    tok = make_tokenizer(cfg.tokenizer, client, served)
    n_warm = max(cfg.warmup, 1 if tok is not None else 0)
    builder = PromptBuilder(tok, cfg.seed) if tok is not None else None
    overhead: int | None = None
    if n_warm:
        sink = _Recorder(None, None)
        t0 = time.perf_counter()
        warm_prompts: list[tuple[str, int | None]] = []
        for k in range(n_warm):
            if builder is not None:
                text, n = await builder.build(k, max(8, cfg.prompt_tokens // 2), prefix=f"Warm-up {k}.")
                warm_prompts.append((text, n))
            else:
                warm_prompts.append(
                    (f"Warm-up {k}. " + synthetic_prompt(k, cfg.prompt_tokens, cfg.seed + 7), None)
                )
        sem = asyncio.Semaphore(max(1, min(n_warm, cfg.concurrency or 4)))

        async def warm(k: int) -> None:
            async with sem:
                await _one(client, cfg, -1 - k, t0, None, sink, warm_prompts[k])

        await asyncio.gather(*(warm(k) for k in range(n_warm)))
        for rec in sink.records:
            if rec.ok and rec.prompt_tokens is not None and rec.prompt_tokens_sent is not None:
                overhead = rec.prompt_tokens - rec.prompt_tokens_sent
                break
    if builder is not None and tok is not None:
        content = cfg.prompt_tokens - (overhead or 0)
        if content < 8:
            raise InputError(
                f"--prompt-tokens {cfg.prompt_tokens} leaves {content} tokens after the chat template's "
                f"{overhead}; ask for more"
            )
        sem = asyncio.Semaphore(32)
        n = (
            cfg.requests
            if cfg.rate is None or cfg.duration_s is None
            else min(cfg.requests, int(cfg.rate * cfg.duration_s) + 2)
        )

        async def build(i: int) -> tuple[str, int]:
            async with sem:
                return await builder.build(i, content)

        built = await asyncio.gather(*(build(i) for i in range(n)))
        plan.prompts = [t for t, _ in built]
        plan.counts = [c for _, c in built]
        plan.meta = PromptTokens(
            source=tok.source,
            exact=True,
            target=cfg.prompt_tokens,
            content_target=content,
            template_overhead=overhead,
        )
    return plan, n_warm


async def _one(
    client: Endpoint,
    cfg: LoadConfig,
    index: int,
    t0: float,
    scheduled: float | None,
    out: _Recorder,
    prompt_and_count: tuple[str, int | None] | None = None,
) -> None:
    """Send request ``index`` and record it (also when it fails or is cancelled)."""
    prompt, sent = prompt_and_count or (synthetic_prompt(index, cfg.prompt_tokens, cfg.seed), None)
    extra: dict[str, object] = {"ignore_eos": True} if cfg.ignore_eos else {}
    req = ChatRequest(
        messages=[{"role": "user", "content": prompt}],
        max_tokens=cfg.max_tokens,
        temperature=cfg.temperature,
        seed=cfg.seed,
        extra=extra,
    )
    start = time.perf_counter()
    rec = RequestRecord(
        index=index,
        scheduled_s=scheduled,
        start_s=start - t0,
        send_lag_s=(start - t0 - scheduled) if scheduled is not None else None,
        prompt_tokens_sent=sent,
    )
    try:
        r = await client.chat_stream(req)
    except EndpointError as exc:
        rec.e2e_s = time.perf_counter() - start
        rec.error = str(exc)
        rec.error_type = type(exc).__name__
        rec.replica = exc.replica
        out.add(rec)
        return
    except asyncio.CancelledError:
        rec.cancelled = True
        rec.error_type = "Cancelled"
        out.add(rec)
        raise
    rec.e2e_s = r.latency_s
    rec.ttft_s = r.ttft_s
    rec.replica = r.replica
    rec.chunks = len(r.chunk_times_s)
    if r.chunk_times_s:
        rec.last_chunk_s = r.chunk_times_s[-1]
        ct = r.chunk_times_s
        rec.itl_s = [b - a for a, b in itertools.pairwise(ct)]
    if r.usage is not None:
        rec.output_tokens = r.usage.completion_tokens
        rec.prompt_tokens = r.usage.prompt_tokens
        rec.output_token_source = "usage"
    else:
        rec.output_tokens = rec.chunks
        rec.output_token_source = "chunks"
    rec.finish_reason = r.finish_reason
    out.add(rec)


async def run_loadtest(
    client: Endpoint,
    config: LoadConfig,
    *,
    progress: ProgressArg = False,
    on_record: RecordHook | None = None,
) -> LoadResult:
    """Run one load test against ``client``'s endpoint and return its measured result.

    Raises ``EndpointConnectError`` (or another ``EndpointError``) only when ``/v1/models`` cannot be
    read before the run; request failures during the run are counted in the result.
    """
    served = await client.served_model()  # fail fast (and once) on an unreachable endpoint
    plan, n_warm = await prepare(client, config, served)
    records_path = config.out_dir / "requests.jsonl" if config.out_dir is not None else None
    bar = _Progress(config, progress) if progress else None
    hook = on_record
    if bar is not None:
        user_hook = on_record

        def hook(rec: RequestRecord) -> None:
            bar.advance(rec)
            if user_hook is not None:
                user_hook(rec)

    recorder = _Recorder(records_path, hook)
    started_at = utc_now()
    gc.freeze()  # keep the start-up heap out of the collector's way during the run
    t0 = time.perf_counter()
    try:
        with bar.live() if bar is not None else nullcontext():
            if config.concurrency is not None:
                sent = await _closed_loop(client, config, t0, recorder, plan)
            else:
                sent = await _open_loop(client, config, t0, recorder, plan)
    finally:
        recorder.close()
        gc.unfreeze()
    ref = (
        client.endpoint_ref()
        if hasattr(client, "endpoint_ref")
        else EndpointRef(url=client.base_url, served_model=served)
    )
    res = summarize(
        recorder.records,
        config,
        ref,
        started_at=started_at,
        requests_sent=sent,
        records_path=str(records_path) if records_path else None,
        prompt=plan.meta,
        warmup_requests=n_warm,
    )
    if res.replicas and hasattr(client, "stats"):  # health as the pool saw it
        health = {s.url: s for s in client.stats()}
        for r in res.replicas:
            if r.url in health:
                r.state, r.down_reason = health[r.url].state, health[r.url].down_reason
    return res


async def _closed_loop(
    client: Endpoint, cfg: LoadConfig, t0: float, rec: _Recorder, plan: PromptPlan | None = None
) -> int:
    assert cfg.concurrency is not None
    deadline = t0 + cfg.duration_s if cfg.duration_s is not None else None
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < cfg.requests and (deadline is None or time.perf_counter() < deadline):
            i = next_index
            next_index += 1
            await _one(client, cfg, i, t0, None, rec, plan.prompt(i) if plan else None)

    workers = [asyncio.create_task(worker()) for _ in range(min(cfg.concurrency, cfg.requests))]
    await _finish(workers, deadline, cfg.grace_s)
    return next_index


async def _open_loop(
    client: Endpoint, cfg: LoadConfig, t0: float, rec: _Recorder, plan: PromptPlan | None = None
) -> int:
    assert cfg.rate is not None
    schedule = arrival_schedule(cfg.requests, cfg.rate, arrival=cfg.arrival, seed=cfg.seed)
    deadline = t0 + cfg.duration_s if cfg.duration_s is not None else None
    tasks: list[asyncio.Task[None]] = []

    sent = 0
    for i, at in enumerate(schedule):
        target = t0 + at
        if deadline is not None and target >= deadline:
            break
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(client, cfg, i, t0, at, rec, plan.prompt(i) if plan else None)))
        sent += 1
    await _finish(tasks, deadline, cfg.grace_s)
    return sent


async def _finish(tasks: list[asyncio.Task[None]], deadline: float | None, grace_s: float) -> None:
    """Wait for in-flight work; past ``deadline + grace_s`` cancel it (recorded as cancelled, not failed)."""
    if not tasks:
        return
    timeout = None if deadline is None else max(0.0, deadline + grace_s - time.perf_counter())
    try:
        done, pending = await asyncio.wait(tasks, timeout=timeout)
    except asyncio.CancelledError:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    for t in done:
        exc = t.exception()
        if exc is not None and not isinstance(exc, ClearanceError):
            raise exc


def summarize(
    records: list[RequestRecord],
    config: LoadConfig,
    endpoint: EndpointRef,
    *,
    started_at: str,
    requests_sent: int,
    records_path: str | None = None,
    prompt: PromptTokens | None = None,
    warmup_requests: int = 0,
) -> LoadResult:
    """Compute the load metrics from per-request records (also usable on a reloaded ``requests.jsonl``)."""
    ok = [r for r in records if r.ok]
    failed = [r for r in records if r.error is not None and not r.cancelled]
    cancelled = sum(1 for r in records if r.cancelled)
    finished = [r for r in records if not r.cancelled]
    if records:
        first = min(r.start_s for r in records)
        last = max(r.start_s + (r.e2e_s or 0.0) for r in records)
        duration = max(last - first, 1e-9)
    else:
        duration = 0.0
    out_tokens = sum(r.output_tokens or 0 for r in ok)
    chunks = sum(r.chunks for r in ok)
    errors_by_type: dict[str, int] = {}
    for r in failed:
        errors_by_type[r.error_type or "Error"] = errors_by_type.get(r.error_type or "Error", 0) + 1
    source: dict[str, int] = {}
    for r in ok:
        if r.output_token_source:
            source[r.output_token_source] = source.get(r.output_token_source, 0) + 1
    rate, ci = error_rate_with_ci(len(failed), len(finished))
    open_loop = config.rate is not None
    lag = [r.send_lag_s for r in records if r.send_lag_s is not None]
    if open_loop and len(records) > 1:
        starts = sorted(r.start_s for r in records)
        span = starts[-1] - starts[0] if len(starts) > 1 else 0.0
        achieved = (len(starts) - 1) / span if span > 0 else None
        sched = sorted(r.scheduled_s for r in records if r.scheduled_s is not None)
        sched_span = sched[-1] - sched[0] if len(sched) > 1 else 0.0
        scheduled = (len(sched) - 1) / sched_span if sched_span > 0 else None
    else:
        achieved = scheduled = None
    good = sum(1 for r in ok if config.meets_slo(r)) if config.slo else None
    if prompt is None:
        prompt = PromptTokens(source="unknown (records reloaded)", exact=False, target=config.prompt_tokens)
    prompt = prompt.model_copy()
    used = [r.prompt_tokens for r in ok if r.prompt_tokens is not None]
    if used:
        prompt.usage_min, prompt.usage_max = min(used), max(used)
    if prompt.exact:
        pairs = [
            (r.prompt_tokens, r.prompt_tokens_sent)
            for r in ok
            if r.prompt_tokens is not None and r.prompt_tokens_sent is not None
        ]
        prompt.checked = len(pairs)
        over = prompt.template_overhead or 0
        prompt.matched = sum(1 for u, sent in pairs if u == sent + over)
    else:
        prompt.checked = len(used)
        prompt.matched = sum(1 for u in used if u == config.prompt_tokens)
    return LoadResult(
        config=config,
        endpoint=endpoint,
        started_at=started_at,
        duration_s=duration,
        requests_sent=requests_sent,
        completed=len(ok),
        failed=len(failed),
        cancelled=cancelled,
        error_rate=rate,
        error_rate_ci=ci,
        errors_by_type=errors_by_type,
        first_errors=[r.error for r in failed[:3] if r.error],
        request_throughput=len(ok) / duration if duration else 0.0,
        output_tokens_per_s=out_tokens / duration if duration else 0.0,
        output_tokens_total=out_tokens,
        output_token_source=source,
        tokens_per_chunk=(out_tokens / chunks) if chunks else None,
        ttft=Distribution.of([r.ttft_s for r in ok if r.ttft_s is not None]),
        itl=Distribution.of([g for r in ok for g in r.itl_s]),
        tpot=Distribution.of([t for r in ok if (t := r.tpot_s) is not None]),
        e2e=Distribution.of([r.e2e_s for r in ok if r.e2e_s is not None]),
        send_lag=Distribution.of(lag) if open_loop else None,
        target_rate=config.rate,
        achieved_rate=achieved,
        scheduled_rate=scheduled,
        records_path=records_path,
        replicas=_per_replica(records),
        warmup_requests=warmup_requests,
        prompt=prompt,
        slo=config.slo,
        good_requests=good,
        goodput=(good / duration if duration else 0.0) if good is not None else None,
    )


def _per_replica(records: list[RequestRecord]) -> list[ReplicaStats]:
    """Requests, errors and E2E latency per replica, from the raw records (empty for one endpoint)."""
    urls = sorted({r.replica for r in records if r.replica})
    out = []
    for url in urls:
        mine = [r for r in records if r.replica == url and not r.cancelled]
        ok = [r.e2e_s for r in mine if r.ok and r.e2e_s is not None]
        errs: dict[str, int] = {}
        for r in mine:
            if r.error is not None:
                errs[r.error_type or "Error"] = errs.get(r.error_type or "Error", 0) + 1
        out.append(
            ReplicaStats(
                url=url,
                requests=len(mine),
                completed=len(ok),
                errors=sum(errs.values()),
                errors_by_type=errs,
                throttled=sum(1 for r in mine if r.error and (" 429" in r.error or " 503" in r.error)),
                latency_p50_s=percentile(ok, 50) if ok else None,
                latency_p95_s=percentile(ok, 95) if ok else None,
                latency_mean_s=sum(ok) / len(ok) if ok else None,
            )
        )
    return out


def load_records(path: str | Path) -> list[RequestRecord]:
    """Read a ``requests.jsonl`` written by :func:`run_loadtest`."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(RequestRecord.model_validate(json.loads(line)))
    return out


class _Progress:
    """Load-test progress events (done, errors) for the caller's sink (``clearance.progress``)."""

    def __init__(self, cfg: LoadConfig, progress: ProgressArg) -> None:
        total: int | None = cfg.requests
        if cfg.rate is not None and cfg.duration_s is not None:
            total = min(cfg.requests, int(cfg.rate * cfg.duration_s) + 1)
        self.task = open_task(progress, "loadtest", total, fields={"errors": 0})
        self.errors = 0

    @contextmanager
    def live(self) -> Iterator[None]:
        try:
            yield
        finally:
            self.task.close()

    def advance(self, rec: RequestRecord) -> None:
        if rec.error is not None:
            self.errors += 1
        self.task.advance(1, errors=self.errors)
