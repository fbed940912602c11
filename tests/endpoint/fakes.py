"""Fault-injecting fake OpenAI-compatible servers on 127.0.0.1 (raw asyncio HTTP/1.1, keep-alive).

``FakeServer(handler)`` runs ``handler(request, conn)`` per request; ``openai_handler(...)`` is a
well-behaved chat server with injected TTFT / time-per-output-token, used for load tests and the
benchmark. Run standalone: ``python tests/endpoint/fakes.py --port 18401 --ttft 0.15 --tpot 0.02``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class FakeServer:
    """An HTTP/1.1 server on 127.0.0.1 (port 0 = any free port) running ``handler`` per request."""

    handler: Handler
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeServer:
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

    async def __aenter__(self) -> FakeServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

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
    text: str,
    *,
    prompt_tokens: int = 5,
    completion_tokens: int = 3,
    model: str = "fake-model",
    finish: str = "stop",
) -> dict[str, Any]:
    """A non-streaming chat completion body."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=18401)
    ap.add_argument("--ttft", type=float, default=0.0)
    ap.add_argument("--tpot", type=float, default=0.0)
    ap.add_argument("--tokens", type=int, default=8)
    a = ap.parse_args()

    async def run() -> None:
        srv = await FakeServer(openai_handler(a.ttft, a.tpot, a.tokens), port=a.port).start()
        print(f"fake server on {srv.url}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
