"""The fake OpenAI-compatible server every test box uses (raw asyncio HTTP/1.1, keep-alive, 127.0.0.1).

One HTTP implementation, three ways to drive it:

- ``FakeServer(handler)`` runs ``handler(request, conn)`` per request; tests inject faults through ``Conn``
  (``drop()``, any status such as 500 or 429 with ``Retry-After``, garbage bodies, SSE split mid-event,
  stalls). ``openai_handler(...)`` is a well-behaved streaming chat server with injected TTFT / time per
  output token, for load tests and the benchmark.
- ``FakeOpenAI(answer, fail_with_500=..., delay=..., model=..., log=...)`` answers every chat request with
  ``answer`` (a string, or a function of the last message), streamed or not; counts requests
  (``chat_requests``, ``seen``: prompt → count) and keeps ``last_body`` (every body in ``bodies``). Prompts containing a string in
  ``fail_with_500`` get HTTP 500. With ``reasoning=`` it is a fake reasoning model that delivers its
  reasoning in one of ``REASONING_STYLES`` (engine field or tags), with any ``finish`` reason.
- ``fake_server(answer, delay_s)`` yields a ``…/v1`` base URL of a ``FakeOpenAI`` (by default a model that
  refuses everything); ``free_port()`` names a port nobody listens on.

Each server runs on the test's event loop (``async with``) or in a background thread (``with``). Standalone:
``python tests/fakes/openai_server.py --port 18401 --ttft 0.15 --tpot 0.02 --tokens 8`` (token stream) or
``python tests/fakes/openai_server.py --port 18401 --answer 42 --delay 0.025 --log FILE`` (answers
"42 42 … 42"; ``--log`` appends one completion timestamp per chat request).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Self

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Server Error",
    503: "Service Unavailable",
}


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Conn:
    """Response writer for one request; ``drop()`` closes the socket abruptly."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.dropped = False

    async def send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'X')}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
        ]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()

    async def json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        await self.send(status, json.dumps(obj).encode(), headers=headers)

    async def sse_start(self, status: int = 200) -> None:
        self.writer.write(
            f"HTTP/1.1 {status} {_REASONS.get(status, 'X')}\r\nContent-Type: text/event-stream\r\n"
            "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        await self.writer.drain()

    async def chunk(self, data: bytes) -> None:
        if data:
            self.writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await self.writer.drain()

    async def event(self, obj: Any) -> None:
        await self.chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")

    async def sse_end(self) -> None:
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()

    def drop(self) -> None:
        self.dropped = True
        transport = self.writer.transport
        transport.abort()


Handler = Callable[[Request, Conn], Awaitable[None]]


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (nothing listens on it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class FakeServer:
    """An HTTP/1.1 server on 127.0.0.1 (port 0 = any free port) running ``handler`` per request.

    ``async with`` serves on the running loop; ``with`` serves from a loop in a background thread.
    """

    handler: Handler
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __enter__(self) -> Self:
        ready = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start())
            except BaseException as e:  # e.g. the port is taken: re-raised in the caller's thread
                failed.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
                loop.run_until_complete(self.stop())
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name=f"fake-openai-{id(self):x}", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake server did not start within 10 s")
        if failed:
            raise failed[0]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = self._thread = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                req = Request(method, path, headers, body)
                self.requests.append(req)
                conn = Conn(writer)
                await self.handler(req, conn)
                if conn.dropped:
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()


MODELS = {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "test"}]}


def completion(
    text: str | None,
    *,
    prompt_tokens: int = 5,
    completion_tokens: int = 3,
    model: str = "fake-model",
    finish: str = "stop",
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A non-streaming chat completion body (``fields`` are added to the message, e.g. ``reasoning``)."""
    message = {"role": "assistant", "content": text, **(fields or {})}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def stream_chunks(
    pieces: list[str],
    *,
    usage: bool = True,
    prompt_tokens: int = 5,
    model: str = "fake-model",
    finish: str = "length",
) -> list[dict[str, Any]]:
    """The SSE event objects of a streamed completion: role chunk, one chunk per piece, usage chunk."""
    base = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "model": model}
    out: list[dict[str, Any]] = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
    ]
    for i, p in enumerate(pieces):
        fin = finish if i == len(pieces) - 1 else None
        out.append({**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": fin}]})
    if usage:
        out.append(
            {
                **base,
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(pieces),
                    "total_tokens": prompt_tokens + len(pieces),
                },
            }
        )
    return out


def openai_handler(
    ttft: float = 0.0, tpot: float = 0.0, tokens: int = 8, word: str = "tok", usage: bool = True
) -> Handler:
    """A well-behaved server: role chunk at once, first token after ``ttft``, then one per ``tpot`` s.

    Sleeps to absolute targets (start + ttft + i*tpot) so delays do not accumulate overshoot.
    ``max_tokens`` in the request caps the token count.
    """

    async def handler(req: Request, conn: Conn) -> None:
        if req.method == "GET" and req.path.rstrip("/").endswith("/models"):
            await conn.json(200, MODELS)
            return
        if not req.path.rstrip("/").endswith("/chat/completions"):
            await conn.json(404, {"error": {"message": "not found", "code": 404}})
            return
        t0 = time.perf_counter()
        body = req.json() or {}
        n = min(tokens, int(body.get("max_tokens") or tokens))
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        if not body.get("stream"):
            await asyncio.sleep(max(0.0, ttft + tpot * max(0, n - 1)))
            await conn.json(200, completion(" ".join([word] * n), prompt_tokens=prompt, completion_tokens=n))
            return
        want_usage = usage and bool((body.get("stream_options") or {}).get("include_usage"))
        events = stream_chunks([word + " "] * n, usage=want_usage, prompt_tokens=prompt)
        await conn.sse_start()
        await conn.event(events[0])
        loop = asyncio.get_running_loop()
        start = loop.time() - (time.perf_counter() - t0)
        for i, ev in enumerate(events[1 : n + 1]):
            delay = start + ttft + i * tpot - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await conn.event(ev)
        for ev in events[n + 1 :]:
            await conn.event(ev)
        await conn.chunk(b"data: [DONE]\n\n")
        await conn.sse_end()

    return handler


def hostile_endless_handler(
    kind: str = "sse", *, piece: bytes = b"x" * 4096, every_s: float = 0.0
) -> Handler:
    """A hostile server whose chat body never ends (``/v1/models`` answers normally).

    ``kind``: ``"sse"`` streams SSE events carrying ``piece`` as text forever (chunked, never ``[DONE]``);
    ``"sse-noline"`` streams one event line that never ends; ``"close"`` sends a close-delimited JSON
    body that never closes; ``"length"`` declares a 10 GB ``Content-Length`` and trickles bytes.
    ``every_s`` paces the pieces (0 = as fast as the socket takes them).
    """
    text = piece.decode("latin-1")

    async def handler(req: Request, conn: Conn) -> None:
        if req.method == "GET" and req.path.rstrip("/").endswith("/models"):
            await conn.json(200, MODELS)
            return
        w = conn.writer
        if kind in ("sse", "sse-noline"):
            await conn.sse_start()
            if kind == "sse-noline":
                await conn.chunk(b"data: ")
            while True:
                if kind == "sse":
                    ev = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
                    await conn.event(ev)
                else:
                    await conn.chunk(piece)
                await asyncio.sleep(every_s)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += b"Connection: close\r\n\r\n" if kind == "close" else b"Content-Length: 10000000000\r\n\r\n"
        w.write(head + b'{"choices": [{"message": {"content": "')
        while True:
            w.write(piece)
            await w.drain()
            await asyncio.sleep(every_s)

    return handler


def shaped_reply_handler(reply: Any = None, *, events: list[Any] | None = None) -> Handler:
    """A fake server answering every chat request with exactly ``reply`` (any JSON value, status 200), or,
    with ``events``, a stream of exactly those SSE ``data`` payloads (JSON values, or raw strings) and
    ``[DONE]``: malformed shapes a hostile or odd endpoint may send. ``/v1/models`` answers normally.
    """

    async def handler(req: Request, conn: Conn) -> None:
        if req.method == "GET" and req.path.rstrip("/").endswith("/models"):
            await conn.json(200, MODELS)
            return
        if events is None:
            await conn.json(200, reply)
            return
        await conn.sse_start()
        for ev in events:
            data = ev if isinstance(ev, str) else json.dumps(ev)
            await conn.chunk(b"data: " + data.encode() + b"\n\n")
        await conn.chunk(b"data: [DONE]\n\n")
        await conn.sse_end()

    return handler


REFUSAL = "I'm sorry, but I can't help with that request."

# How a fake reasoning model delivers its reasoning (``FakeOpenAI(reasoning=..., reasoning_style=...)``):
#   "reasoning"          vLLM >= 0.11 with --reasoning-parser: message.reasoning / delta.reasoning
#   "reasoning_content"  DeepSeek API, SGLang, llama.cpp --reasoning-format deepseek, older vLLM
#   "think_tags"         no parser: "<think>REASONING</think>ANSWER" in the content
#   "closing_tag"        template pre-filled "<think>": "REASONING</think>ANSWER" in the content
REASONING_STYLES = ("reasoning", "reasoning_content", "think_tags", "closing_tag")


class FakeOpenAI(FakeServer):
    """A chat server that gives ``answer`` to every request (``answer`` may be set again at any time).

    ``answer`` is a string or a function of the last message's text. Every chat request counts in
    ``chat_requests`` and ``seen`` (prompt → count) and is kept in ``last_body``; it waits ``delay`` s first;
    prompts containing any string in ``fail_with_500`` get HTTP 500. Streamed requests get one SSE chunk
    per space-separated word (usage when ``stream_options.include_usage`` asks). ``log`` appends one
    server-side completion timestamp per answered chat request (steady-state rates in the benchmark).
    """

    def __init__(
        self,
        answer: str | Callable[[str], str] = "42",
        *,
        fail_with_500: tuple[str, ...] = (),
        delay: float = 0.0,
        port: int = 0,
        model: str = "fake-model",
        log: str | None = None,
        reasoning: str | Callable[[str], str] | None = None,
        reasoning_style: str = "reasoning",
        finish: str = "stop",
    ) -> None:
        super().__init__(self._handle, port=port)
        if reasoning_style not in REASONING_STYLES:
            raise ValueError(f"reasoning_style must be one of {REASONING_STYLES}")
        self.reasoning = reasoning
        self.reasoning_style = reasoning_style
        self.finish = finish
        self.answer = answer
        self.fail_with_500 = fail_with_500
        self.delay = delay
        self.model = model
        self.seen: dict[str, int] = {}
        self.chat_requests = 0
        self.last_body: dict[str, Any] = {}
        self.bodies: list[dict[str, Any]] = []
        self._log: IO[str] | None = open(log, "a", encoding="utf-8") if log else None  # noqa: SIM115  (closed by stop)

    def _reply(self, prompt: str) -> str:
        return self.answer(prompt) if callable(self.answer) else self.answer

    async def _handle(self, req: Request, conn: Conn) -> None:
        path = req.path.rstrip("/")
        if req.method == "GET" and path.endswith("/models"):
            await conn.json(200, {"object": "list", "data": [{"id": self.model, "object": "model"}]})
            return
        if not path.endswith("/chat/completions"):
            await conn.json(404, {"error": {"message": "not found"}})
            return
        body = req.json() or {}
        self.last_body = body
        self.bodies.append(body)
        self.chat_requests += 1
        prompt = str(body["messages"][-1]["content"])
        self.seen[prompt] = self.seen.get(prompt, 0) + 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if any(s in prompt for s in self.fail_with_500):
            await conn.json(500, {"error": {"message": "injected failure"}})
            return
        text = self._reply(prompt)
        thought = self.reasoning(prompt) if callable(self.reasoning) else self.reasoning
        field: str | None = None
        if thought is not None:
            if self.reasoning_style == "think_tags":
                text = f"<think>{thought}</think>{text}"
            elif self.reasoning_style == "closing_tag":
                text = f"{thought}</think>{text}"
            else:
                field = thought
        if self._log is not None:
            self._log.write(f"{time.time():.6f}\n")
            self._log.flush()
        if not body.get("stream"):
            fields = {self.reasoning_style: field} if field is not None else None
            # like vLLM: content is null when only reasoning came back; an empty answer is ""
            content = None if (field is not None and not text) else text
            await conn.json(200, completion(content, model=self.model, finish=self.finish, fields=fields))
            return
        want_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        await conn.sse_start()
        events = stream_chunks(
            [w + " " for w in text.split(" ")] if text else [],
            usage=want_usage,
            model=self.model,
            finish=self.finish,
        )
        if field is not None:  # reasoning deltas first, one per word, as engines stream them
            base = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "model": self.model}
            thinking = [
                {
                    **base,
                    "choices": [
                        {"index": 0, "delta": {self.reasoning_style: w + " "}, "finish_reason": None}
                    ],
                }
                for w in field.split(" ")
            ]
            events = events[:1] + thinking + events[1:]
        if not text:  # nothing after the reasoning: the finish reason rides on an empty delta
            events.insert(
                len(events) - (1 if want_usage else 0),
                {
                    "id": "chatcmpl-s",
                    "object": "chat.completion.chunk",
                    "model": self.model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": self.finish}],
                },
            )
        for ev in events:
            await conn.event(ev)
        await conn.chunk(b"data: [DONE]\n\n")
        await conn.sse_end()

    async def stop(self) -> None:
        await super().stop()
        if self._log is not None:
            self._log.close()
            self._log = None


@contextlib.contextmanager
def fake_server(answer: str = REFUSAL, delay_s: float = 0.0) -> Iterator[str]:
    """A ``FakeOpenAI`` giving the same ``answer`` to every request (after ``delay_s``); yields its ``…/v1`` URL."""
    with FakeOpenAI(answer, delay=delay_s) as srv:
        yield f"{srv.url}/v1"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=18401)
    tok = ap.add_argument_group("token stream (the default)")
    tok.add_argument("--ttft", type=float, default=0.0, help="seconds to the first token")
    tok.add_argument("--tpot", type=float, default=0.0, help="seconds per further token")
    tok.add_argument("--tokens", type=int, default=8, help="tokens per answer (capped by max_tokens)")
    ans = ap.add_argument_group("fixed answer (any of these selects it)")
    ans.add_argument("--answer", default=None, help='answer "A A … A" (16 times; default 42)')
    ans.add_argument("--delay", type=float, default=None, help="seconds before each answer")
    ans.add_argument("--log", default=None, help="append one completion timestamp per chat request")
    a = ap.parse_args()

    async def run() -> None:
        srv: FakeServer
        if a.answer is not None or a.delay is not None or a.log is not None:
            answer = " ".join([a.answer or "42"] * 16)
            srv = FakeOpenAI(answer, delay=a.delay or 0.0, port=a.port, log=a.log)
        else:
            srv = FakeServer(openai_handler(a.ttft, a.tpot, a.tokens), port=a.port)
        await srv.start()
        print(f"fake server on {srv.url}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
