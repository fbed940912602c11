"""OpenAI-compatible async client (vLLM, SGLang, llama.cpp server, TGI, Ollama) over one keep-alive pool.

The transport is :mod:`clearance.endpoint.http1` (plain asyncio streams), so the client costs little
CPU per streamed token and does not distort what a load test measures.

Retries with jittered exponential backoff on connection errors, HTTP 429 (honouring ``Retry-After``)
and 5xx — but never once a stream has delivered an event. Every failure is a typed
:class:`~clearance.errors.EndpointError` whose message names the URL, the status and a short body.

Bounded against a hostile endpoint: each attempt has a total deadline (``Timeouts.total``: connect,
head, body and stream together) and a cap on response bytes (``max_response_bytes``); a body that
never ends is cut at whichever comes first. Every response shape is checked: text arrives as a
string or a list of text parts; anything else (numbers, ``choices`` holding strings, a completions
reply to a chat request) is an :class:`~clearance.errors.EndpointProtocolError`, recorded, never a
traceback and never an empty answer.
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

from clearance.endpoint.http1 import (
    BadResponse,
    ConnectFailed,
    DeadlineExceeded,
    Dropped,
    H1Error,
    H1Pool,
    ReadTimedOut,
    TooLarge,
)
from clearance.endpoint.records import (
    DEFAULT_MAX_RESPONSE_BYTES,
    ChatRequest,
    ChatResponse,
    Timeouts,
    Usage,
)
from clearance.endpoint.sse import SSEDecoder, SSEOverflow
from clearance.errors import (
    EndpointConnectError,
    EndpointError,
    EndpointProtocolError,
    EndpointStatusError,
    EndpointTimeoutError,
    EndpointTooLargeError,
)

_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_MAX_RETRY_AFTER_S = 60.0
_BODY_SNIPPET = 200


def normalize_base_url(base_url: str) -> str:
    """``http://h:p``, ``http://h:p/v1`` and ``http://h:p/v1/`` all become ``http://h:p/v1``.

    A URL that cannot name an endpoint (no host, a port outside 1–65535, a broken IPv6 literal,
    spaces or control characters, a query or fragment) is one ``InputError`` line.
    """
    from clearance.errors import InputError

    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InputError(f"endpoint URL must start with http:// or https://, got {base_url!r}")
    if len(url) > 2048 or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise InputError(f"endpoint URL has spaces, control characters or is too long: {base_url!r}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"endpoint URL {base_url!r} is not valid ({exc})") from None
    if not parts.hostname:
        raise InputError(f"endpoint URL {base_url!r} names no host")
    if port == 0:
        raise InputError(f"endpoint URL {base_url!r}: port must be 1-65535")
    if parts.query or parts.fragment:
        raise InputError(f"endpoint URL {base_url!r} must not carry a query or fragment")
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
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self.max_response_bytes = max_response_bytes
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
                max_body_bytes=self.max_response_bytes,
                headers=headers,
            )
        return self._pool

    # -- public API ------------------------------------------------------------------------------
    async def models(self) -> list[str]:
        """``GET /v1/models``: the ids the endpoint serves."""
        return [str(m["id"]) for m in await self.model_entries()]

    async def model_entries(self) -> list[dict[str, Any]]:
        """``GET /v1/models``: each served model's object (``id``; vLLM adds ``max_model_len``, ``root``)."""
        url = f"{self.base_url}/models"
        data = await self._with_retries(lambda: self._get_json(url))
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise EndpointProtocolError(
                f"GET {url}: no 'data' list in response: {_snippet(json.dumps(data))}"
            )
        return [m for m in items if isinstance(m, dict) and isinstance(m.get("id"), str)]

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
            data = await self._deadlined(self._post_json(url, body), url)
            latency = time.perf_counter() - t0
            return _parse_chat(url, data, model, latency, attempts)

        return await self._with_retries(attempt)

    async def chat_stream(self, req: ChatRequest) -> ChatResponse:
        """Streaming ``POST /v1/chat/completions`` with ``stream_options.include_usage``; fills timings."""
        model = req.model or await self.served_model()
        url = f"{self.base_url}/chat/completions"
        body = req.body(model, stream=True)
        attempts = 0

        async def attempt() -> ChatResponse:
            nonlocal attempts
            attempts += 1
            return await self._deadlined(self._stream_once(url, body, model, attempts), url)

        return await self._with_retries(attempt)

    # -- internals -------------------------------------------------------------------------------
    def _deadline(self) -> float | None:
        """Event-loop time by which the attempt starting now must have its whole response."""
        total = self.timeouts.total
        return None if total is None else asyncio.get_running_loop().time() + total

    async def _deadlined(self, coro: Any, url: str) -> Any:
        """Backstop for the transport's own deadline: the whole attempt, parsing included."""
        total = self.timeouts.total
        if total is None:
            return await coro
        try:
            async with asyncio.timeout(total + 0.5):
                return await coro
        except TimeoutError:
            raise EndpointTimeoutError(_total_message("POST", url, total)) from None

    async def _with_retries(self, fn: Any) -> Any:
        for n in range(self.max_retries + 1):
            try:
                return await fn()
            except _Retryable as r:
                if n >= self.max_retries:
                    err = r.error
                    err.retryable, err.retry_after_s = True, r.delay
                    if self.max_retries:
                        err.args = (f"{err} (after {n + 1} attempts)",)
                    raise err from None
                delay = r.delay
                if delay is None:
                    cap = min(self.backoff_max_s, self.backoff_base_s * (2**n))
                    delay = random.uniform(cap / 2, cap)  # "equal jitter": never zero, never above cap
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def post_json_at(self, path: str, body: dict[str, object]) -> Any:
        """``POST`` JSON to ``path`` at the server root, outside ``/v1`` (e.g. ``/tokenize``)."""
        root = self.base_url[: -len("/v1")]
        target = self._path[: -len("/v1")] + path
        return await self._with_retries(lambda: self._request_json("POST", root + path, body, target=target))

    async def _get_json(self, url: str) -> Any:
        return await self._request_json("GET", url, None)

    async def _post_json(self, url: str, body: dict[str, object]) -> Any:
        return await self._request_json("POST", url, body)

    async def _request_json(
        self, method: str, url: str, body: dict[str, object] | None, target: str | None = None
    ) -> Any:
        target = target or self._path + url[len(self.base_url) :]
        payload = json.dumps(body).encode() if body is not None else b""
        try:
            async with self._h1().request(
                method, target, payload, "application/json", deadline=self._deadline()
            ) as resp:
                raw = await resp.body()
        except H1Error as exc:
            raise self._map_transport(exc, method, url, started=False) from None
        text = raw.decode("utf-8", errors="replace")
        _check_status(resp.status, resp.headers, text, method, url)
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError):
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
            if resp_id is None and isinstance(chunk.get("id"), str):
                resp_id = chunk["id"]
            if isinstance(chunk.get("model"), str) and chunk["model"]:
                resp_model = chunk["model"]
            if chunk.get("usage"):
                usage = _usage(url, chunk["usage"])
            choices = chunk.get("choices") or []
            if not isinstance(choices, list):
                raise EndpointProtocolError(
                    f"POST {url}: stream event 'choices' is not a list: {_snippet(data)!r}"
                )
            for i, choice in enumerate(choices):
                if not isinstance(choice, dict):
                    raise EndpointProtocolError(
                        f"POST {url}: stream event choices[{i}] is not an object: {_snippet(data)!r}"
                    )
                if "delta" not in choice and "text" in choice:
                    raise EndpointProtocolError(
                        f"POST {url}: stream answered in the completions shape (choices[].text) to a chat request"
                    )
                delta = choice.get("delta") or {}
                if not isinstance(delta, dict):
                    raise EndpointProtocolError(
                        f"POST {url}: stream delta is not an object: {_snippet(data)!r}"
                    )
                piece = _text(url, delta.get("content"), "stream delta content")
                thought = _reasoning(url, delta)
                if piece:
                    text_parts.append(piece)
                if thought:
                    reasoning_parts.append(thought)
                if piece or thought:
                    chunk_times.append(now)
                fin = choice.get("finish_reason")
                if fin is not None:
                    if not isinstance(fin, str):
                        raise EndpointProtocolError(
                            f"POST {url}: finish_reason is not a string: {_snippet(data)!r}"
                        )
                    if fin:
                        finish = fin
            return False

        def on_data(raw: bytes) -> bool:
            nonlocal started
            try:
                events = decoder.feed(raw)
            except SSEOverflow as exc:
                raise EndpointTooLargeError(f"POST {url}: {exc}") from None
            if not events:
                return False
            now = time.perf_counter() - t0
            started = True
            return any(handle(ev.data, now) for ev in events)

        try:
            async with self._h1().request(
                "POST", target, payload, "application/json", deadline=self._deadline()
            ) as resp:
                if resp.status >= 400:
                    text = (await resp.body()).decode("utf-8", errors="replace")
                    _check_status(resp.status, resp.headers, text, "POST", url)
                await resp.body(on_data)
        except H1Error as exc:
            raise self._map_transport(exc, "POST", url, started=started) from None
        if not done:
            now = time.perf_counter() - t0
            try:
                pending = decoder.flush()  # a last event without its blank line
            except SSEOverflow as exc:
                raise EndpointTooLargeError(f"POST {url}: {exc}") from None
            for ev in pending:
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
            finish_reason=finish,
            model=resp_model,
            usage=usage,
            latency_s=latency,
            ttft_s=chunk_times[0] if chunk_times else None,
            chunk_times_s=chunk_times,
            response_id=resp_id,
            attempts=attempts,
            reasoning="".join(reasoning_parts) or None,
            incomplete=not text_parts and bool(reasoning_parts),
        )

    def _map_transport(self, exc: H1Error, method: str, url: str, *, started: bool) -> Exception:
        """Turn a transport failure into a typed endpoint error (retryable when nothing was received)."""
        where = f"{method} {url}"
        if isinstance(exc, DeadlineExceeded):
            return EndpointTimeoutError(_total_message(method, url, self.timeouts.total))
        if isinstance(exc, TooLarge):
            return EndpointTooLargeError(
                f"{where}: response cut off after {self.max_response_bytes} bytes (the cap on response size)"
            )
        return _map_transport(exc, method, url, started=started)


def _total_message(method: str, url: str, total: float | None) -> str:
    return f"{method} {url}: no complete answer within {total or 0:g} s (total timeout per request)"


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
    except (json.JSONDecodeError, RecursionError):
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


def _text(url: str, value: Any, what: str) -> str | None:
    """Answer text from a ``content`` value: a string, or a list of text parts (the OpenAI multi-part form).

    ``None`` stays ``None`` (no content); any other type is a protocol error, never silently empty.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        parts: list[str] = []
        for i, part in enumerate(value):
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") not in (None, "text", "output_text"):
                continue  # a non-text part (image, audio, refusal marker…) carries no answer text
            else:
                raise EndpointProtocolError(
                    f"POST {url}: {what} part {i} is not text: {_snippet(json.dumps(part))}"
                )
        return "".join(parts)
    raise EndpointProtocolError(f"POST {url}: {what} is a {type(value).__name__}, not text")


def _reasoning(url: str, obj: dict[str, Any]) -> str | None:
    """Reasoning text a server sends beside the answer (``reasoning_content``, vLLM/SGLang ``reasoning``)."""
    for key in ("reasoning_content", "reasoning"):
        if obj.get(key) is not None:
            return _text(url, obj[key], key)
    return None


def _parse_chat(url: str, data: Any, model: str, latency: float, attempts: int) -> ChatResponse:
    if not isinstance(data, dict):
        raise EndpointProtocolError(f"POST {url}: response is not a JSON object")
    if "error" in data and not data.get("choices"):
        raise EndpointProtocolError(f"POST {url}: error object with status 200: {_snippet(json.dumps(data))}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise EndpointProtocolError(f"POST {url}: response has no choices: {_snippet(json.dumps(data))}")
    first = choices[0]
    if not isinstance(first, dict):
        raise EndpointProtocolError(
            f"POST {url}: choices[0] is a {type(first).__name__}, not an object: {_snippet(json.dumps(data))}"
        )
    if "message" not in first and "text" in first:
        raise EndpointProtocolError(
            f"POST {url}: answered in the completions shape (choices[0].text) to a chat request"
        )
    message = first.get("message")
    if not isinstance(message, dict):
        raise EndpointProtocolError(
            f"POST {url}: choices[0].message is not an object: {_snippet(json.dumps(data))}"
        )
    text = _text(url, message.get("content"), "message content")
    reasoning = _reasoning(url, message)
    if text is None and not reasoning:
        what = "tool calls" if message.get("tool_calls") else "nothing"
        raise EndpointProtocolError(
            f"POST {url}: message content is null (the reply holds {what}, no answer text)"
        )
    finish = first.get("finish_reason")
    if finish is not None and not isinstance(finish, str):
        raise EndpointProtocolError(
            f"POST {url}: finish_reason is not a string: {_snippet(json.dumps(finish))}"
        )
    usage = _usage(url, data["usage"]) if data.get("usage") else None
    served = data.get("model")
    rid = data.get("id")
    return ChatResponse(
        text=text or "",
        finish_reason=finish,
        model=served if isinstance(served, str) and served else model,
        usage=usage,
        latency_s=latency,
        response_id=rid if isinstance(rid, str) else None,
        attempts=attempts,
        reasoning=reasoning or None,
        incomplete=text is None,
    )
