"""OpenAI-compatible async client (vLLM, SGLang, llama.cpp server, TGI, Ollama) over one keep-alive pool.

The transport is :mod:`clearance.endpoint.http1` (plain asyncio streams), so the client costs little
CPU per streamed token and does not distort what a load test measures.

Retries with jittered exponential backoff on connection errors, HTTP 429 (honouring ``Retry-After``)
and 5xx — but never once a stream has delivered an event. Every failure is a typed
:class:`~clearance.errors.EndpointError` whose message names the URL, the status and a short body.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from clearance.endpoint.http1 import BadResponse, ConnectFailed, Dropped, H1Error, H1Pool, ReadTimedOut
from clearance.endpoint.records import ChatRequest, ChatResponse, Timeouts, Usage
from clearance.endpoint.sse import SSEDecoder
from clearance.errors import (
    EndpointConnectError,
    EndpointError,
    EndpointProtocolError,
    EndpointStatusError,
    EndpointTimeoutError,
)

_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_MAX_RETRY_AFTER_S = 60.0
_BODY_SNIPPET = 200


def normalize_base_url(base_url: str) -> str:
    """``http://h:p``, ``http://h:p/v1`` and ``http://h:p/v1/`` all become ``http://h:p/v1``."""
    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        from clearance.errors import InputError

        raise InputError(f"endpoint URL must start with http:// or https://, got {base_url!r}")
    if not url.endswith("/v1"):
        url += "/v1"
    return url


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _BODY_SNIPPET else text[:_BODY_SNIPPET] + "…"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, min(float(value), _MAX_RETRY_AFTER_S))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), _MAX_RETRY_AFTER_S))


class _Retryable(Exception):
    """Internal: an attempt failed in a way that may be retried (wraps the user-facing error)."""

    def __init__(self, error: EndpointError, delay: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay = delay


class OpenAIClient:
    """Async client for one OpenAI-compatible endpoint; use as ``async with OpenAIClient(url) as c``."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeouts: Timeouts | None = None,
        max_retries: int = 3,
        max_connections: int = 256,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self.api_key = api_key
        self.timeouts = timeouts or Timeouts()
        self.max_retries = max(0, max_retries)
        self.max_connections = max_connections
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._pool: H1Pool | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        self._path = urlsplit(self.base_url).path.rstrip("/")
        self._served: str | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    async def __aenter__(self) -> OpenAIClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every pooled connection (safe to call twice)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def _h1(self) -> H1Pool:
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._pool_loop is not loop:
            # used again under a new event loop (e.g. a second asyncio.run): old connections are unusable
            self._pool = None
        if self._pool is None:
            self._pool_loop = loop
            headers = {"Accept": "application/json, text/event-stream", "User-Agent": "clearance"}
            if self.api_key:
                headers["Authorization"] = f"Bearer {self.api_key}"
            self._pool = H1Pool(
                self.base_url,
                max_connections=self.max_connections,
                connect_timeout=self.timeouts.connect,
                read_timeout=self.timeouts.read,
                headers=headers,
            )
        return self._pool

    # -- public API ------------------------------------------------------------------------------
    async def models(self) -> list[str]:
        """``GET /v1/models``: the ids the endpoint serves."""
        url = f"{self.base_url}/models"
        data = await self._with_retries(lambda: self._get_json(url))
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise EndpointProtocolError(
                f"GET {url}: no 'data' list in response: {_snippet(json.dumps(data))}"
            )
        ids = [str(m["id"]) for m in items if isinstance(m, dict) and "id" in m]
        return ids

    async def served_model(self) -> str:
        """The first model id from ``/v1/models`` (cached after the first call)."""
        if self._served is None:
            ids = await self.models()
            if not ids:
                raise EndpointProtocolError(f"GET {self.base_url}/models: the endpoint lists no model")
            self._served = ids[0]
        return self._served

    async def chat(self, req: ChatRequest) -> ChatResponse:
        """Non-streaming ``POST /v1/chat/completions``."""
        model = req.model or await self.served_model()
        url = f"{self.base_url}/chat/completions"
        body = req.body(model, stream=False)
        attempts = 0

        async def attempt() -> ChatResponse:
            nonlocal attempts
            attempts += 1
            t0 = time.perf_counter()
            data = await self._post_json(url, body)
            latency = time.perf_counter() - t0
            return _parse_chat(url, data, model, latency, attempts)

        return await self._total(self._with_retries(attempt), url)

    async def chat_stream(self, req: ChatRequest) -> ChatResponse:
        """Streaming ``POST /v1/chat/completions`` with ``stream_options.include_usage``; fills timings."""
        model = req.model or await self.served_model()
        url = f"{self.base_url}/chat/completions"
        body = req.body(model, stream=True)
        attempts = 0

        async def attempt() -> ChatResponse:
            nonlocal attempts
            attempts += 1
            return await self._stream_once(url, body, model, attempts)

        return await self._total(self._with_retries(attempt), url)

    # -- internals -------------------------------------------------------------------------------
    async def _total(self, coro: Any, url: str) -> Any:
        total = self.timeouts.total
        if total is None:
            return await coro
        try:
            async with asyncio.timeout(total):
                return await coro
        except TimeoutError:
            raise EndpointTimeoutError(
                f"POST {url}: no complete answer within {total:g} s (total timeout)"
            ) from None

    async def _with_retries(self, fn: Any) -> Any:
        for n in range(self.max_retries + 1):
            try:
                return await fn()
            except _Retryable as r:
                if n >= self.max_retries:
                    err = r.error
                    if self.max_retries:
                        err.args = (f"{err} (after {n + 1} attempts)",)
                    raise err from None
                delay = r.delay
                if delay is None:
                    cap = min(self.backoff_max_s, self.backoff_base_s * (2**n))
                    delay = random.uniform(cap / 2, cap)  # "equal jitter": never zero, never above cap
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get_json(self, url: str) -> Any:
        return await self._request_json("GET", url, None)

    async def _post_json(self, url: str, body: dict[str, object]) -> Any:
        return await self._request_json("POST", url, body)

    async def _request_json(self, method: str, url: str, body: dict[str, object] | None) -> Any:
        target = self._path + url[len(self.base_url) :]
        payload = json.dumps(body).encode() if body is not None else b""
        try:
            async with self._h1().request(method, target, payload, "application/json") as resp:
                raw = await resp.body()
        except H1Error as exc:
            raise _map_transport(exc, method, url, started=False) from None
        text = raw.decode("utf-8", errors="replace")
        _check_status(resp.status, resp.headers, text, method, url)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise EndpointProtocolError(f"{method} {url}: response is not JSON: {_snippet(text)!r}") from None

    async def _stream_once(
        self, url: str, body: dict[str, object], model: str, attempts: int
    ) -> ChatResponse:
        started = False  # once any SSE event arrived, never retry
        text_parts: list[str] = []
        reasoning_parts: list[str] = []
        chunk_times: list[float] = []
        finish: str | None = None
        usage: Usage | None = None
        resp_id: str | None = None
        resp_model = model
        done = False
        decoder = SSEDecoder()
        target = self._path + url[len(self.base_url) :]
        payload = json.dumps(body).encode()
        t0 = time.perf_counter()

        def handle(data: str, now: float) -> bool:
            """Apply one SSE event; True on ``[DONE]``."""
            nonlocal done, finish, usage, resp_id, resp_model
            if data.strip() == "[DONE]":
                done = True
                return True
            chunk = _event_json(url, data)
            if resp_id is None:
                resp_id = chunk.get("id")
            resp_model = chunk.get("model") or resp_model
            if chunk.get("usage"):
                usage = _usage(url, chunk["usage"])
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                piece = delta.get("content") or ""
                thought = _reasoning_of(delta)
                if piece:
                    text_parts.append(piece)
                if thought:
                    reasoning_parts.append(thought)
                if piece or thought:
                    chunk_times.append(now)
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
            return False

        def on_data(raw: bytes) -> bool:
            nonlocal started
            events = decoder.feed(raw)
            if not events:
                return False
            now = time.perf_counter() - t0
            started = True
            return any(handle(ev.data, now) for ev in events)

        try:
            async with self._h1().request("POST", target, payload, "application/json") as resp:
                if resp.status >= 400:
                    text = (await resp.body()).decode("utf-8", errors="replace")
                    _check_status(resp.status, resp.headers, text, "POST", url)
                await resp.body(on_data)
        except H1Error as exc:
            raise _map_transport(exc, "POST", url, started=started) from None
        if not done:
            now = time.perf_counter() - t0
            for ev in decoder.flush():  # a last event without its blank line
                handle(ev.data, now)
        if not done and finish is None:
            raise EndpointProtocolError(
                f"POST {url}: stream ended before [DONE] or a finish_reason "
                f"({len(chunk_times)} text chunks received)"
            )
        if finish is None and not chunk_times:
            raise EndpointProtocolError(
                f"POST {url}: stream ended with no generated text and no finish_reason "
                "(the server may have interrupted the request)"
            )
        latency = time.perf_counter() - t0
        return ChatResponse(
            text="".join(text_parts),
            reasoning="".join(reasoning_parts) or None,
            finish_reason=finish,
            model=resp_model,
            usage=usage,
            latency_s=latency,
            ttft_s=chunk_times[0] if chunk_times else None,
            chunk_times_s=chunk_times,
            response_id=resp_id,
            attempts=attempts,
        )


def _map_transport(exc: H1Error, method: str, url: str, *, started: bool) -> Exception:
    """Turn a transport failure into a typed endpoint error (retryable when nothing was received)."""
    where = f"{method} {url}"
    if isinstance(exc, ConnectFailed):
        return _Retryable(EndpointConnectError(f"{where}: cannot connect ({_snippet(str(exc))})"))
    if isinstance(exc, ReadTimedOut):
        what = "stalled mid-stream" if started else "did not answer"
        return EndpointTimeoutError(f"{where}: endpoint {what} within the read timeout ({exc})")
    if isinstance(exc, Dropped):
        if started:
            return EndpointConnectError(f"{where}: connection dropped mid-stream ({_snippet(str(exc))})")
        return _Retryable(EndpointConnectError(f"{where}: connection dropped before a response ({exc})"))
    if isinstance(exc, BadResponse):
        return EndpointProtocolError(f"{where}: invalid HTTP response: {_snippet(str(exc))}")
    return EndpointProtocolError(f"{where}: {_snippet(str(exc))}")


def _check_status(status: int, headers: Mapping[str, str], body: str, method: str, url: str) -> None:
    if status < 400:
        return
    err = EndpointStatusError(
        f"{method} {url}: HTTP {status}: {_snippet(body)}", status_code=status, body=body
    )
    if status in _RETRY_STATUS or status >= 500:
        raise _Retryable(err, _retry_after(headers))
    raise err


def _event_json(url: str, data: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except json.JSONDecodeError:
        raise EndpointProtocolError(f"POST {url}: stream event is not JSON: {_snippet(data)!r}") from None
    if not isinstance(obj, dict):
        raise EndpointProtocolError(f"POST {url}: stream event is not a JSON object: {_snippet(data)!r}")
    if "error" in obj and not obj.get("choices"):
        err = obj["error"]
        msg = err.get("message") if isinstance(err, dict) else err
        code = err.get("code") if isinstance(err, dict) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else 500
        raise EndpointStatusError(
            f"POST {url}: error in stream: {_snippet(str(msg))}", status_code=status, body=data
        )
    return obj


def _usage(url: str, raw: Any) -> Usage:
    try:
        u = Usage.model_validate(raw)
    except ValueError:
        raise EndpointProtocolError(
            f"POST {url}: malformed usage object: {_snippet(json.dumps(raw))}"
        ) from None
    return u


def _reasoning_of(message: Mapping[str, Any]) -> str | None:
    """The reasoning field of a message or delta: ``reasoning`` (vLLM) or ``reasoning_content`` (DeepSeek, SGLang, llama.cpp)."""
    for key in ("reasoning", "reasoning_content"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _parse_chat(url: str, data: Any, model: str, latency: float, attempts: int) -> ChatResponse:
    if not isinstance(data, dict):
        raise EndpointProtocolError(f"POST {url}: response is not a JSON object")
    if "error" in data and not data.get("choices"):
        raise EndpointProtocolError(f"POST {url}: error object with status 200: {_snippet(json.dumps(data))}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise EndpointProtocolError(f"POST {url}: response has no choices: {_snippet(json.dumps(data))}")
    first = choices[0]
    message = first.get("message") or {}
    text = message.get("content") if isinstance(message, dict) else None
    usage = _usage(url, data["usage"]) if data.get("usage") else None
    return ChatResponse(
        text=text or "",
        reasoning=_reasoning_of(message) if isinstance(message, dict) else None,
        finish_reason=first.get("finish_reason"),
        model=str(data.get("model") or model),
        usage=usage,
        latency_s=latency,
        response_id=data.get("id"),
        attempts=attempts,
    )
