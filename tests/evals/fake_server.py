"""A small fake OpenAI-compatible server on 127.0.0.1 for eval tests and the benchmark (raw asyncio HTTP/1.1).

``FakeOpenAI(answer=..., fail_ids=..., delay=...)`` answers every chat request with ``answer`` (a string, or a
function of the last user message); prompts containing any string in ``fail_with_500`` get HTTP 500.
Runs in a background thread (``with FakeOpenAI() as srv: srv.url``) or standalone:
``python tests/evals/fake_server.py --port 18401 --answer 42``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any


class FakeOpenAI:
    """Fake chat server; counts requests per prompt in ``seen`` (prompt text → count)."""

    def __init__(
        self,
        answer: str | Callable[[str], str] = "42",
        *,
        fail_with_500: tuple[str, ...] = (),
        delay: float = 0.0,
        port: int = 0,
        model: str = "fake-model",
        log: str | None = None,
    ) -> None:
        self.answer = answer
        self.fail_with_500 = fail_with_500
        self.delay = delay
        self.port = port
        self.model = model
        self.seen: dict[str, int] = {}
        self.chat_requests = 0
        self.last_body: dict[str, Any] = {}
        self._log = open(log, "a", encoding="utf-8") if log else None  # noqa: SIM115  (kept open for the server's life)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _reply(self, prompt: str) -> str:
        return self.answer(prompt) if callable(self.answer) else self.answer

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                status, obj = await self._handle(method, path, body)
                data = json.dumps(obj).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if method == "GET" and path.rstrip("/").endswith("/models"):
            return 200, {"object": "list", "data": [{"id": self.model, "object": "model"}]}
        if not path.rstrip("/").endswith("/chat/completions"):
            return 404, {"error": {"message": "not found"}}
        req = json.loads(body or b"{}")
        self.last_body = req
        self.chat_requests += 1
        prompt = str(req["messages"][-1]["content"])
        self.seen[prompt] = self.seen.get(prompt, 0) + 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if any(s in prompt for s in self.fail_with_500):
            return 500, {"error": {"message": "injected failure"}}
        text = self._reply(prompt)
        if self._log is not None:  # server-side completion timestamps, for steady-state rates
            self._log.write(f"{time.time():.6f}\n")
            self._log.flush()
        return 200, {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": self.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        }

    async def start_async(self) -> None:
        """Start listening on the running loop."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        loop.run_until_complete(self.start_async())
        self._ready.set()
        loop.run_forever()
        assert self._server is not None
        self._server.close()
        loop.run_until_complete(self._server.wait_closed())
        loop.close()

    def __enter__(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=18401)
    ap.add_argument("--answer", default="42")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--log", default=None, help="append one completion timestamp per chat request")
    a = ap.parse_args()

    async def run() -> None:
        srv = FakeOpenAI(" ".join([a.answer] * 16), delay=a.delay, port=a.port, log=a.log)
        await srv.start_async()
        print(f"fake server on {srv.url}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
