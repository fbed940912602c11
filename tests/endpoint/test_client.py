"""OpenAIClient against fault-injecting fake servers on 127.0.0.1 (tests named ``test_fake_*``)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from clearance.endpoint import ChatRequest, OpenAIClient, Timeouts
from clearance.errors import (
    EndpointConnectError,
    EndpointProtocolError,
    EndpointStatusError,
    EndpointTimeoutError,
    InputError,
)
from fakes.openai_server import (
    MODELS,
    Conn,
    FakeServer,
    Handler,
    Request,
    completion,
    openai_handler,
    stream_chunks,
)

T = TypeVar("T")
Q = ChatRequest(messages=[{"role": "user", "content": "hello there"}], max_tokens=16)


def run(fn: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(fn())  # type: ignore[arg-type]


def chat_only(handler: Handler) -> Handler:
    """Serve /v1/models normally and hand chat requests to ``handler``."""

    async def h(req: Request, conn: Conn) -> None:
        if req.path.endswith("/models"):
            await conn.json(200, MODELS)
        else:
            await handler(req, conn)

    return h


def chats(srv: FakeServer) -> list[Request]:
    return [r for r in srv.requests if r.path.endswith("/chat/completions")]


def fast_client(url: str, **kw: Any) -> OpenAIClient:
    kw.setdefault("backoff_base_s", 0.01)
    return OpenAIClient(url, **kw)


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_base_url_normalised_to_v1(suffix: str) -> None:
    assert OpenAIClient("http://127.0.0.1:8000" + suffix).base_url == "http://127.0.0.1:8000/v1"


def test_base_url_without_scheme_is_input_error() -> None:
    with pytest.raises(InputError, match=r"127\.0\.0\.1:8000"):
        OpenAIClient("127.0.0.1:8000")


def test_fake_models_served_model_and_chat() -> None:
    async def go() -> None:
        async with FakeServer(openai_handler(tokens=3, word="Paris")) as srv:
            async with OpenAIClient(srv.url + "/v1/", api_key="sk-test") as c:
                assert await c.models() == ["fake-model"]
                assert await c.served_model() == "fake-model"
                r = await c.chat(Q)
            assert r.text == "Paris Paris Paris"
            assert r.usage is not None and r.usage.completion_tokens == 3
            assert r.finish_reason == "stop" and r.model == "fake-model" and r.latency_s > 0
            body = chats(srv)[0].json()
            assert body["model"] == "fake-model" and body["stream"] is False and body["temperature"] == 0.0
            assert chats(srv)[0].headers["authorization"] == "Bearer sk-test"
            # served_model is cached: one GET /models for models() + none for later calls
            assert sum(r.path.endswith("/models") for r in srv.requests) == 2

    run(go)


def test_fake_stream_fills_ttft_chunks_usage_and_skips_role_chunk() -> None:
    async def go() -> None:
        async with FakeServer(openai_handler(ttft=0.08, tpot=0.02, tokens=5)) as srv:
            async with OpenAIClient(srv.url) as c:
                r = await c.chat_stream(Q)
            body = chats(srv)[0].json()
            assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
        assert r.text == "tok " * 5
        assert r.usage is not None and r.usage.completion_tokens == 5
        assert r.ttft_s is not None and r.ttft_s >= 0.075  # the role-only chunk arrives at once
        assert len(r.chunk_times_s) == 5 and r.chunk_times_s[0] == r.ttft_s
        assert r.chunk_times_s == sorted(r.chunk_times_s)
        # 4 gaps of 20 ms injected; chunks coalesced into one read may share a timestamp
        assert 0.07 < r.chunk_times_s[-1] - r.chunk_times_s[0] < 0.4
        assert r.latency_s >= r.chunk_times_s[-1] and r.finish_reason == "length"

    run(go)


def test_fake_500_then_200_is_retried() -> None:
    async def handler(req: Request, conn: Conn) -> None:
        if len(chats(srv)) == 1:
            await conn.json(500, {"error": "boom"})
        else:
            await conn.json(200, completion("ok"))

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url) as c:
            r = await c.chat(Q)
        assert r.text == "ok" and r.attempts == 2 and len(chats(srv)) == 2

    run(go)


def test_fake_429_respects_retry_after() -> None:
    async def handler(req: Request, conn: Conn) -> None:
        if len(chats(srv)) == 1:
            await conn.json(429, {"error": "slow down"}, headers={"Retry-After": "1"})
        else:
            await conn.json(200, completion("ok"))

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url) as c:
            await c.served_model()
            t0 = time.perf_counter()
            r = await c.chat(Q)
            elapsed = time.perf_counter() - t0
        assert r.text == "ok" and r.attempts == 2
        assert 0.95 <= elapsed < 3.0

    run(go)


def test_fake_stale_keepalive_connection_is_retried_transparently() -> None:
    """A reused keep-alive connection that the server drops unanswered is retried once on a fresh one."""
    inner = openai_handler(tokens=3)

    async def handler(req: Request, conn: Conn) -> None:
        if len(chats(srv)) == 1:
            conn.drop()
        else:
            await inner(req, conn)

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url) as c:
            await c.served_model()  # opens the connection that the first chat request reuses
            r = await c.chat_stream(Q)
        assert r.attempts == 1 and r.text == "tok tok tok "

    run(go)
    assert len(chats(srv)) == 2


def test_fake_dropped_connections_then_success_is_retried() -> None:
    inner = openai_handler(tokens=3)

    async def handler(req: Request, conn: Conn) -> None:
        if len(chats(srv)) <= 2:
            conn.drop()
        else:
            await inner(req, conn)

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url) as c:
            r = await c.chat_stream(Q)
        assert r.attempts == 2 and r.text == "tok tok tok "

    run(go)
    assert len(chats(srv)) == 3  # reused connection dropped → fresh one dropped → client retry succeeds


def test_fake_always_dropping_server_gives_connect_error_after_retries() -> None:
    async def handler(req: Request, conn: Conn) -> None:
        conn.drop()

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url, max_retries=2) as c:
            await c.chat(Q)

    with pytest.raises(EndpointConnectError, match=r"chat/completions.*after 3 attempts"):
        run(go)
    assert len(chats(srv)) == 4  # 3 attempts, the first also retried once as a stale keep-alive connection


def test_fake_garbage_json_is_protocol_error_not_retried() -> None:
    async def handler(req: Request, conn: Conn) -> None:
        await conn.send(200, b"<html>definitely not json</html>", "text/html")

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url) as c:
            await c.chat(Q)

    with pytest.raises(EndpointProtocolError, match=r"not JSON.*definitely not json"):
        run(go)
    assert len(chats(srv)) == 1


def test_fake_404_is_status_error_with_url_and_body_not_retried() -> None:
    async def handler(req: Request, conn: Conn) -> None:
        await conn.json(404, {"error": {"message": "model nope does not exist"}})

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url) as c:
            await c.chat(Q)

    with pytest.raises(EndpointStatusError) as ei:
        run(go)
    assert ei.value.status_code == 404
    assert "HTTP 404" in str(ei.value) and "/v1/chat/completions" in str(ei.value)
    assert "model nope does not exist" in str(ei.value)
    assert len(chats(srv)) == 1


def test_fake_sse_split_at_odd_byte_boundaries() -> None:
    events = stream_chunks(["Bon", "jour ", "été", "!"])
    payload = b"".join(b"data:" + json.dumps(e, ensure_ascii=False).encode() + b"\r\n\r\n" for e in events)
    payload += b": comment\n\ndata: [DONE]\n\n"

    async def handler(req: Request, conn: Conn) -> None:
        await conn.sse_start()
        for i in range(0, len(payload), 7):
            await conn.chunk(payload[i : i + 7])
            await asyncio.sleep(0.0005)
        await conn.sse_end()

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url) as c:
            r = await c.chat_stream(Q)
        assert r.text == "Bonjour été!" and len(r.chunk_times_s) == 4
        assert r.usage is not None and r.usage.completion_tokens == 4

    run(go)


def test_fake_stall_mid_stream_is_timeout_and_not_retried() -> None:
    async def handler(req: Request, conn: Conn) -> None:
        await conn.sse_start()
        for ev in stream_chunks(["a", "b", "c"])[:2]:
            await conn.event(ev)
        await asyncio.sleep(5)

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url, timeouts=Timeouts(read=0.3)) as c:
            t0 = time.perf_counter()
            with pytest.raises(EndpointTimeoutError, match="stalled mid-stream"):
                await c.chat_stream(Q)
            assert time.perf_counter() - t0 < 2.0

    run(go)
    assert len(chats(srv)) == 1


def test_fake_drop_mid_stream_is_connect_error_and_not_retried() -> None:
    async def handler(req: Request, conn: Conn) -> None:
        await conn.sse_start()
        for ev in stream_chunks(["a", "b", "c"])[:3]:
            await conn.event(ev)
        await asyncio.sleep(0.01)
        conn.drop()

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url) as c:
            await c.chat_stream(Q)

    with pytest.raises(EndpointConnectError, match="mid-stream"):
        run(go)
    assert len(chats(srv)) == 1


def test_fake_stream_without_usage() -> None:
    async def go() -> None:
        async with FakeServer(openai_handler(tokens=3, usage=False)) as srv, OpenAIClient(srv.url) as c:
            r = await c.chat_stream(Q)
        assert r.usage is None and r.text == "tok tok tok " and len(r.chunk_times_s) == 3

    run(go)


def test_fake_error_object_in_stream_is_status_error() -> None:
    async def handler(req: Request, conn: Conn) -> None:
        await conn.sse_start()
        await conn.event({"error": {"message": "context length exceeded", "code": 400}})
        await conn.chunk(b"data: [DONE]\n\n")
        await conn.sse_end()

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url) as c:
            await c.chat_stream(Q)

    with pytest.raises(EndpointStatusError, match="context length exceeded") as ei:
        run(go)
    assert ei.value.status_code == 400


def test_fake_garbage_sse_event_is_protocol_error() -> None:
    async def handler(req: Request, conn: Conn) -> None:
        await conn.sse_start()
        await conn.chunk(b"data: {not json\n\n")
        await conn.sse_end()

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url) as c:
            await c.chat_stream(Q)

    with pytest.raises(EndpointProtocolError, match="stream event is not JSON"):
        run(go)


def test_fake_stream_503_before_events_is_retried() -> None:
    inner = openai_handler(tokens=2)

    async def handler(req: Request, conn: Conn) -> None:
        if len(chats(srv)) == 1:
            await conn.json(503, {"error": "loading model"})
        else:
            await inner(req, conn)

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url) as c:
            r = await c.chat_stream(Q)
        assert r.attempts == 2 and r.text == "tok tok "

    run(go)


def test_connection_refused_is_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def go() -> None:
        async with fast_client(f"http://127.0.0.1:{port}", max_retries=1) as c:
            await c.models()

    with pytest.raises(EndpointConnectError, match=f"127.0.0.1:{port}/v1/models.*after 2 attempts"):
        run(go)


def test_fake_total_timeout() -> None:
    async def go() -> None:
        srv = FakeServer(openai_handler(ttft=0.05, tpot=0.05, tokens=40))
        async with srv, fast_client(srv.url, timeouts=Timeouts(total=0.3)) as c:
            await c.served_model()
            await c.chat_stream(Q.model_copy(update={"max_tokens": 40}))

    with pytest.raises(EndpointTimeoutError, match="total timeout"):
        run(go)


def test_fake_cancellation_propagates_and_releases_the_connection() -> None:
    stall = asyncio.Event()
    inner = openai_handler(tokens=2)

    async def handler(req: Request, conn: Conn) -> None:
        if len(chats(srv)) == 1:
            await conn.sse_start()
            await conn.event(stream_chunks(["x"])[1])
            await stall.wait()
        else:
            await inner(req, conn)

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url, max_connections=1) as c:
            task = asyncio.create_task(c.chat_stream(Q))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # the single pooled connection was released: the next request gets through at once
            r = await asyncio.wait_for(c.chat_stream(Q), 2.0)
            assert r.text == "tok tok "

    run(go)


def test_fake_stream_with_done_but_nothing_generated_is_protocol_error() -> None:
    """llama-cpp-python (interrupt_requests=True) ends a cut-off stream with only a role chunk + [DONE]."""

    async def handler(req: Request, conn: Conn) -> None:
        await conn.sse_start()
        await conn.event(stream_chunks([])[0])
        await conn.chunk(b"data: [DONE]\n\n")
        await conn.sse_end()

    srv = FakeServer(chat_only(handler))

    async def go() -> None:
        async with srv, fast_client(srv.url) as c:
            await c.chat_stream(Q)

    with pytest.raises(EndpointProtocolError, match="no generated text and no finish_reason"):
        run(go)


def test_fake_client_reused_across_event_loops() -> None:
    """A client used under two successive asyncio.run calls opens fresh connections for the second."""
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fakes = Path(__file__).parents[1] / "fakes" / "openai_server.py"
    proc = subprocess.Popen(
        [sys.executable, str(fakes), "--port", str(port), "--tokens", "2"], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        c = OpenAIClient(f"http://127.0.0.1:{port}", max_retries=0)
        assert asyncio.run(c.chat(Q)).text == "tok tok"  # leaves a pooled keep-alive connection behind
        assert asyncio.run(c.chat(Q)).text == "tok tok"
        asyncio.run(c.aclose())
    finally:
        proc.terminate()
        proc.wait(timeout=5)
