"""Fake replicas of one model (and a fake router in front of them) for the replica-pool tests.

``FakeReplica`` is a :class:`fakes.openai_server.FakeServer` answering ``/v1/models`` and chat completions
(streamed or not) after ``delay`` seconds. Faults and behaviours are injected per replica:

- ``slots``: at most that many chat requests are worked on at once, the rest queue (a server's batch);
- ``capacity``: more chat requests in flight than this get HTTP 429 with ``Retry-After: retry_after``;
- ``die_after``: after that many chat requests the replica closes every connection and refuses new ones
  (a replica that dies mid-run);
- ``model`` / ``root`` / ``max_model_len``: what ``/v1/models`` says (served-model identity);
- ``tokenize``: the vLLM-style ``/tokenize`` and ``/detokenize`` endpoints with a whitespace tokenizer
  (one token per space-separated piece), and ``usage.prompt_tokens`` counted the same way.

``FakeRouter`` forwards every request to its backends in turn (a stand-in for a cluster router such as
vLLM's router or llm-d: one URL in front of several replicas). Both count what they did.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fakes.openai_server import Conn, FakeServer, Request, completion, stream_chunks


def _prompt_tokens(body: dict[str, Any]) -> int:
    """Whitespace tokens of every message's content plus 3 per message (a fake 'chat template')."""
    msgs = body.get("messages") or []
    return sum(len(str(m.get("content", "")).split()) + 3 for m in msgs)


class FakeReplica(FakeServer):
    """One fake replica of ``model``; see the module docstring for the injected behaviours."""

    def __init__(
        self,
        *,
        model: str = "fake-model",
        delay: float = 0.02,
        capacity: int | None = None,
        retry_after: float = 0.05,
        die_after: int | None = None,
        root: str | None = None,
        max_model_len: int | None = None,
        answer: str = "ok",
        tokens: int = 4,
        ttft: float = 0.0,
        slots: int | None = None,
        port: int = 0,
    ) -> None:
        super().__init__(self._handle, port=port)
        self.slots = asyncio.Semaphore(slots) if slots else None
        self.model = model
        self.delay = delay
        self.capacity = capacity
        self.retry_after = retry_after
        self.die_after = die_after
        self.root = root
        self.max_model_len = max_model_len
        self.answer = answer
        self.tokens = tokens
        self.ttft = ttft
        self.chat_requests = 0
        self.served = 0
        self.throttled = 0
        self.in_flight = 0
        self.peak = 0
        self.tokenize_calls = 0
        self.dead = False
        self.prompt_tokens_seen: list[int] = []

    async def _handle(self, req: Request, conn: Conn) -> None:
        if self.dead:
            conn.drop()
            return
        path = req.path.rstrip("/")
        if req.method == "GET" and path.endswith("/models"):
            entry: dict[str, Any] = {"id": self.model, "object": "model"}
            if self.root is not None:
                entry["root"] = self.root
            if self.max_model_len is not None:
                entry["max_model_len"] = self.max_model_len
            await conn.json(200, {"object": "list", "data": [entry]})
            return
        if path == "/tokenize":
            self.tokenize_calls += 1
            body = req.json() or {}
            pieces = str(body.get("prompt", "")).split()
            await conn.json(
                200,
                {
                    "count": len(pieces),
                    "tokens": list(range(len(pieces))),
                    "max_model_len": self.max_model_len,
                },
            )
            return
        if not path.endswith("/chat/completions"):
            await conn.json(404, {"error": {"message": "not found"}})
            return
        self.chat_requests += 1
        if self.die_after is not None and self.chat_requests > self.die_after:
            self.dead = True
            await self.stop_listening()
            conn.drop()
            return
        if self.capacity is not None and self.in_flight >= self.capacity:
            self.throttled += 1
            await conn.json(
                429,
                {"error": {"message": "too many requests", "code": 429}},
                headers={"Retry-After": f"{self.retry_after:g}"},
            )
            return
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self.slots is not None:  # a batch of `slots` sequences: the rest wait in the server's queue
            await self.slots.acquire()
        try:
            body = req.json() or {}
            ptoks = _prompt_tokens(body)
            self.prompt_tokens_seen.append(ptoks)
            if not body.get("stream"):
                await asyncio.sleep(self.delay)
                await conn.json(200, completion(self.answer, prompt_tokens=ptoks, model=self.model))
            else:
                n = min(self.tokens, int(body.get("max_tokens") or self.tokens))
                events = stream_chunks(["tok "] * n, prompt_tokens=ptoks, model=self.model)
                await conn.sse_start()
                await conn.event(events[0])
                await asyncio.sleep(self.ttft)
                per = self.delay / max(1, n)
                for ev in events[1:]:
                    await conn.event(ev)
                    if per:
                        await asyncio.sleep(per)
                await conn.chunk(b"data: [DONE]\n\n")
                await conn.sse_end()
            self.served += 1
        finally:
            self.in_flight -= 1
            if self.slots is not None:
                self.slots.release()

    async def restart(self) -> None:
        """Listen again on the same port and answer (the replica's process was restarted)."""
        self.dead, self.die_after = False, None
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=1024)

    async def stop_listening(self) -> None:
        """Refuse new connections and cut the open ones (the replica's process died)."""
        if self._server is not None:
            self._server.close()
        for t in list(self._tasks):
            if t is not asyncio.current_task():
                t.cancel()


class FakeRouter(FakeServer):
    """A fake cluster router: one URL; each request is handled by its ``backends`` in turn.

    The backends are ``FakeReplica`` objects whose handlers run in-process (no second hop), which is
    enough to stand in for a router such as vLLM's router or llm-d in front of replicas.
    """

    def __init__(self, backends: list[FakeReplica]) -> None:
        super().__init__(self._route)
        self.backends = backends
        self.forwarded = [0] * len(backends)
        self._next = 0

    async def _route(self, req: Request, conn: Conn) -> None:
        i = self._next % len(self.backends)
        self._next += 1
        self.forwarded[i] += 1
        await self.backends[i]._handle(req, conn)


def main() -> None:
    """One fake replica process (for bench/): ``python -c "import sys; sys.path.insert(0, 'tests');
    from fakes.replicas import main; main()" --port P --slots 8 --delay 0.05``."""
    import argparse
    import contextlib

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--delay", type=float, default=0.05)
    ap.add_argument("--slots", type=int, default=None)
    ap.add_argument("--answer", default="42")
    ap.add_argument("--model", default="fake-model")
    ap.add_argument("--max-model-len", type=int, default=None)
    a = ap.parse_args()

    async def run() -> None:
        srv = FakeReplica(
            delay=a.delay,
            slots=a.slots,
            answer=a.answer,
            model=a.model,
            port=a.port,
            max_model_len=a.max_model_len,
        )
        await srv.start()
        print(f"fake replica on {srv.url}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
