"""Replicas of one model behind one client: least-outstanding routing, per-replica health, re-routing.

A :class:`ReplicaPool` is a layer over several :class:`~clearance.endpoint.OpenAIClient` objects (one per
replica, each with its own keep-alive connections and no retries of its own). It offers the same calls
(``served_model``, ``models``, ``chat``, ``chat_stream``, ``post_json_at``), so every box that talks to a
model works unchanged against one URL or many.

- **Identity**: before the first request every replica's ``/v1/models`` is read; all must serve the same
  model id (and, where the server reports them, the same ``root`` and ``max_model_len``). Replicas of
  different models are refused with one line — results would mix.
- **Routing**: each request goes to the replica with the fewest requests outstanding (ties in turn);
  a replica that asked to wait (``Retry-After`` on 429/503) is skipped until then.
- **Health**: a replica that refuses or drops connections before answering is taken out and its request
  is sent to another (within the retry budget); with no replica left the call fails with
  ``EndpointConnectError``. A replica taken out is probed in the background (``GET /v1/models``, never a
  counted request) after ``reprobe_s``, then at doubling intervals up to ``REPROBE_MAX_S``; it comes back
  when it answers and still serves the pool's model (a restarted pod). Errors, throttling, latency and
  returns are counted per replica.
- **Pressure**: listeners (the adaptive concurrency limit) hear of every 429, 503 and timeout.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field

from clearance.endpoint.client import OpenAIClient, normalize_base_url
from clearance.endpoint.records import ChatRequest, ChatResponse, Timeouts
from clearance.errors import (
    EndpointConnectError,
    EndpointError,
    EndpointStatusError,
    EndpointTimeoutError,
    InputError,
)
from clearance.evidence import EndpointRef

T = TypeVar("T")
PressureListener = Callable[[EndpointError], None]
_PRESSURE_STATUS = frozenset({429, 503})
_CONSECUTIVE_FAILURES_DOWN = 3
REPROBE_S = 5.0  # first background probe of a replica taken out, then doubling
REPROBE_MAX_S = 60.0


def parse_endpoints(values: Iterable[str] | None, file: str | Path | None = None) -> list[str]:
    """Endpoint URLs from repeated ``-e`` values (a comma-separated list is split) and an endpoints file.

    The file holds one URL per line; blank lines and ``#`` comments are ignored. Each URL is normalised
    (``…/v1``); the same replica given twice is an ``InputError``.
    """
    raw: list[str] = []
    for v in values or ():
        raw += [p for p in (x.strip() for x in v.split(",")) if p]
    if file is not None:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"--endpoints-file {path}: cannot read ({exc.__class__.__name__})") from None
        for n, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if any(c.isspace() for c in line):
                raise InputError(f"--endpoints-file {path}:{n}: one URL per line, got {line!r}")
            raw.append(line)
        if not raw:
            raise InputError(f"--endpoints-file {path}: no endpoint URL in the file")
    urls: list[str] = []
    for u in raw:
        norm = normalize_base_url(u)
        if norm in urls:
            raise InputError(f"endpoint {norm} is given twice; each replica once")
        urls.append(norm)
    return urls


class ReplicaStats(BaseModel):
    """What one replica did in a run: health, requests, errors by type, throttling, latency (seconds)."""

    url: str
    served_model: str | None = None
    state: Literal["up", "down"] = "up"
    down_reason: str | None = None
    requests: int = 0
    completed: int = 0
    errors: int = 0
    errors_by_type: dict[str, int] = Field(default_factory=dict)
    throttled: int = 0
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    latency_mean_s: float | None = None
    peak_outstanding: int = 0
    returned: int = 0  # times it was taken out and came back after a probe


class _Replica:
    def __init__(self, client: OpenAIClient) -> None:
        self.client = client
        self.url = client.base_url
        self.served: str | None = None
        self.outstanding = 0
        self.peak = 0
        self.down_reason: str | None = None
        self.cool_until = 0.0
        self.consecutive_failures = 0
        self.requests = 0
        self.completed = 0
        self.throttled = 0
        self.errors: dict[str, int] = {}
        self.latencies: list[float] = []
        self.probe_at = 0.0  # when a replica taken out is probed next
        self.probe_every = 0.0
        self.probing = False
        self.returned = 0

    @property
    def up(self) -> bool:
        return self.down_reason is None


class PoolMark(BaseModel):
    """Counters at one moment, so a run can report only its own share of a shared pool's work."""

    counts: dict[str, tuple[int, int, int, dict[str, int], int]]


class ReplicaPool:
    """Several replicas of one model used as one client; see the module docstring."""

    def __init__(
        self,
        urls: list[str],
        *,
        api_key: str | None = None,
        timeouts: Timeouts | None = None,
        max_retries: int = 3,
        max_connections: int = 256,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
        reprobe_s: float = REPROBE_S,
    ) -> None:
        if not urls:
            raise InputError("give at least one endpoint URL")
        self.replicas = [
            _Replica(
                OpenAIClient(
                    u, api_key=api_key, timeouts=timeouts, max_retries=0, max_connections=max_connections
                )
            )
            for u in urls
        ]
        self.max_retries = max(0, max_retries)
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.base_url = self.replicas[0].url
        self._served: str | None = None
        self._entry: dict[str, Any] = {}
        self._turn = 0
        self._listeners: list[PressureListener] = []
        self._identity_lock: asyncio.Lock | None = None
        self.reprobe_s = reprobe_s
        self._probes: set[asyncio.Task[None]] = set()

    @property
    def urls(self) -> list[str]:
        """The replicas' base URLs (``…/v1``), in the order given."""
        return [r.url for r in self.replicas]

    @property
    def timeouts(self) -> Timeouts:
        return self.replicas[0].client.timeouts

    # -- lifecycle -------------------------------------------------------------------------------
    async def __aenter__(self) -> ReplicaPool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the probes and close every replica's connections."""
        for t in list(self._probes):
            t.cancel()
        await asyncio.gather(*self._probes, return_exceptions=True)
        await asyncio.gather(*(r.client.aclose() for r in self.replicas), return_exceptions=True)

    # -- identity --------------------------------------------------------------------------------
    async def served_model(self) -> str:
        """The one model every replica serves (checked once; replicas of different models are refused)."""
        if self._served is not None:
            return self._served
        if self._identity_lock is None:
            self._identity_lock = asyncio.Lock()
        async with self._identity_lock:
            if self._served is None:
                await self._check_identity()
        assert self._served is not None
        return self._served

    async def _check_identity(self) -> None:
        async def read(r: _Replica) -> list[dict[str, Any]]:
            try:
                return await r.client.model_entries()
            except EndpointError as exc:
                if len(self.replicas) == 1:
                    raise
                raise type(exc)(f"replica {r.url}: {exc}") from None

        entries = await asyncio.gather(*(read(r) for r in self.replicas))
        first: dict[str, Any] | None = None
        for r, ent in zip(self.replicas, entries, strict=True):
            if not ent:
                raise EndpointError(f"GET {r.url}/models: the endpoint lists no model")
            r.served = str(ent[0]["id"])
            if first is None:
                first = ent[0]
                continue
            for key in ("id", "root", "max_model_len"):
                a, b = first.get(key), ent[0].get(key)
                if (key == "id" or (a is not None and b is not None)) and a != b:
                    raise InputError(
                        f"replicas differ: {self.replicas[0].url} serves {key} {a!r}, {r.url} serves "
                        f"{b!r}; every endpoint of one run must be a replica of the same model"
                    )
        assert first is not None
        self._entry = first
        self._served = str(first["id"])

    async def models(self) -> list[str]:
        """``GET /v1/models`` of the first replica still up."""
        return await self._route(lambda c: c.models(), count=False)

    async def model_entries(self) -> list[dict[str, Any]]:
        """``GET /v1/models`` objects of the first replica still up."""
        return await self._route(lambda c: c.model_entries(), count=False)

    @property
    def max_model_len(self) -> int | None:
        """The served context length, when ``/v1/models`` reports it (vLLM's ``max_model_len``)."""
        v = self._entry.get("max_model_len")
        return int(v) if isinstance(v, int) and v > 0 else None

    def endpoint_ref(self, server: str | None = None) -> EndpointRef:
        """Evidence: the first URL, the served model, and every replica's URL when there are several."""
        return EndpointRef(
            url=self.base_url,
            served_model=self._served,
            server=server,
            replicas=self.urls if len(self.replicas) > 1 else [],
        )

    # -- requests --------------------------------------------------------------------------------
    async def chat(self, req: ChatRequest) -> ChatResponse:
        """Non-streaming chat completion on the least-busy replica."""
        req = await self._with_model(req)
        r: ChatResponse = await self._route(lambda c: c.chat(req))
        return r

    async def chat_stream(self, req: ChatRequest) -> ChatResponse:
        """Streaming chat completion on the least-busy replica."""
        req = await self._with_model(req)
        r: ChatResponse = await self._route(lambda c: c.chat_stream(req))
        return r

    async def post_json_at(self, path: str, body: dict[str, object]) -> Any:
        """``POST`` JSON to a server-root path (``/tokenize``) of the least-busy replica."""
        return await self._route(lambda c: c.post_json_at(path, body), count=False)

    async def _with_model(self, req: ChatRequest) -> ChatRequest:
        if req.model is None:
            return req.model_copy(update={"model": await self.served_model()})
        return req

    def add_pressure_listener(self, fn: PressureListener) -> None:
        """Call ``fn(error)`` on every 429, 503 or timeout from any replica."""
        self._listeners.append(fn)

    def remove_pressure_listener(self, fn: PressureListener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _probe_due(self) -> None:
        now = time.monotonic()
        for r in self.replicas:
            if not r.up and not r.probing and r.probe_at <= now:
                r.probing = True
                task = asyncio.get_running_loop().create_task(self._probe(r))
                self._probes.add(task)
                task.add_done_callback(self._probes.discard)

    async def _probe(self, rep: _Replica) -> None:
        """Bring a replica taken out back when it answers ``/v1/models`` with the pool's model."""
        try:
            entries = await rep.client.model_entries()
            entry = entries[0] if entries else {}
            same = (
                bool(entry.get("id"))
                and entry.get("id") == (self._served or entry.get("id"))
                and all(
                    entry.get(k) is None or self._entry.get(k) is None or entry.get(k) == self._entry.get(k)
                    for k in ("root", "max_model_len")
                )
            )
        except EndpointError:
            same = False
        finally:
            rep.probing = False
        if same:
            rep.down_reason, rep.consecutive_failures, rep.cool_until = None, 0, 0.0
            rep.returned += 1
        else:
            rep.probe_every = min(REPROBE_MAX_S, rep.probe_every * 2)
            rep.probe_at = time.monotonic() + rep.probe_every

    async def _pick(self) -> _Replica:
        while True:
            self._probe_due()
            up = [r for r in self.replicas if r.up]
            if not up:
                reasons = "; ".join(f"{r.url}: {r.down_reason}" for r in self.replicas)
                raise EndpointConnectError(
                    f"all {len(self.replicas)} replicas are down ({reasons})"
                    if len(self.replicas) > 1
                    else str(self.replicas[0].down_reason)
                )
            now = time.monotonic()
            ready = [r for r in up if r.cool_until <= now]
            if ready:
                self._turn += 1
                n = len(self.replicas)
                return min(ready, key=lambda r: (r.outstanding, (self.replicas.index(r) - self._turn) % n))
            await asyncio.sleep((min(r.cool_until for r in up) - now) * random.uniform(1.0, 1.5))

    async def _route(self, call: Callable[[OpenAIClient], Awaitable[T]], *, count: bool = True) -> T:
        last: EndpointError | None = None
        for attempt in range(self.max_retries + 1):
            rep = await self._pick()
            rep.outstanding += 1
            rep.peak = max(rep.peak, rep.outstanding)
            if count:
                rep.requests += 1
            t0 = time.perf_counter()
            try:
                result = await call(rep.client)
            except EndpointError as exc:
                rep.outstanding -= 1
                last = exc
                delay = self._failed(rep, exc, count=count)
                if not exc.retryable or attempt >= self.max_retries:
                    if len(self.replicas) > 1:
                        exc.replica = rep.url
                        if rep.url not in str(exc):
                            exc.args = (f"replica {rep.url}: {exc}",)
                    raise
                if delay:
                    await asyncio.sleep(delay)
                continue
            except BaseException:
                rep.outstanding -= 1
                raise
            rep.outstanding -= 1
            rep.consecutive_failures = 0
            if count:
                rep.completed += 1
                rep.latencies.append(time.perf_counter() - t0)
            if isinstance(result, ChatResponse) and len(self.replicas) > 1:
                result.replica = rep.url
            return result
        assert last is not None  # pragma: no cover
        raise last  # pragma: no cover

    def _failed(self, rep: _Replica, exc: EndpointError, *, count: bool) -> float:
        """Account one failure; take a dead replica out; the delay before the next attempt."""
        kind = type(exc).__name__
        status = exc.status_code if isinstance(exc, EndpointStatusError) else None
        if count:
            rep.errors[kind] = rep.errors.get(kind, 0) + 1
        rep.consecutive_failures += 1
        pressure = status in _PRESSURE_STATUS or isinstance(exc, EndpointTimeoutError)
        if status in _PRESSURE_STATUS:
            rep.throttled += 1
        if pressure:
            for fn in list(self._listeners):
                fn(exc)
        dead = isinstance(exc, EndpointConnectError) and (
            exc.retryable or rep.consecutive_failures >= _CONSECUTIVE_FAILURES_DOWN
        )
        others_up = any(r.up and r is not rep for r in self.replicas)
        if dead and rep.up and others_up:  # the last replica standing is retried with backoff instead
            rep.down_reason = str(exc)
            rep.probe_every = self.reprobe_s
            rep.probe_at = time.monotonic() + self.reprobe_s
            return 0.0  # another replica takes the request at once
        if exc.retry_after_s is not None:
            rep.cool_until = max(rep.cool_until, time.monotonic() + exc.retry_after_s)
            if any(r.up and r.cool_until <= time.monotonic() for r in self.replicas):
                return 0.0
            # never before Retry-After; spread the retries after it so they do not arrive as one herd
            return exc.retry_after_s * random.uniform(1.0, 2.0)
        n = min(rep.consecutive_failures - 1, 10)
        cap = min(self.backoff_max_s, self.backoff_base_s * (2**n))
        return random.uniform(cap / 2, cap)

    # -- reporting -------------------------------------------------------------------------------
    def mark(self) -> PoolMark:
        """The counters now; ``stats(since=mark)`` reports only what happened after it."""
        return PoolMark(
            counts={
                r.url: (r.requests, r.completed, r.throttled, dict(r.errors), len(r.latencies))
                for r in self.replicas
            }
        )

    def stats(self, since: PoolMark | None = None) -> list[ReplicaStats]:
        """Per-replica health, counts and latency (since ``since``, else since the pool was made)."""
        from clearance.load.stats import percentile

        out = []
        for r in self.replicas:
            req0, done0, thr0, err0, lat0 = since.counts[r.url] if since else (0, 0, 0, {}, 0)
            errs = {k: v - err0.get(k, 0) for k, v in r.errors.items() if v - err0.get(k, 0)}
            lat = r.latencies[lat0:]
            out.append(
                ReplicaStats(
                    url=r.url,
                    served_model=r.served,
                    state="up" if r.up else "down",
                    down_reason=r.down_reason,
                    requests=r.requests - req0,
                    completed=r.completed - done0,
                    errors=sum(errs.values()),
                    errors_by_type=errs,
                    throttled=r.throttled - thr0,
                    latency_p50_s=percentile(lat, 50) if lat else None,
                    latency_p95_s=percentile(lat, 95) if lat else None,
                    latency_mean_s=sum(lat) / len(lat) if lat else None,
                    peak_outstanding=r.peak,
                    returned=r.returned,
                )
            )
        return out


Endpoint = OpenAIClient | ReplicaPool
"""What a box that talks to a model accepts: one endpoint's client, or a pool of replicas."""


def open_pool(
    urls: list[str],
    *,
    api_key: str | None = None,
    timeouts: Timeouts | None = None,
    max_retries: int = 3,
    max_connections: int = 256,
) -> ReplicaPool:
    """A :class:`ReplicaPool` over ``urls`` (one URL is a pool of one)."""
    return ReplicaPool(
        urls, api_key=api_key, timeouts=timeouts, max_retries=max_retries, max_connections=max_connections
    )


__all__ = ["Endpoint", "PoolMark", "ReplicaPool", "ReplicaStats", "open_pool", "parse_endpoints"]
