"""The lean HTTP/1.1 transport on raw fake responses: close-delimited bodies, chunk extensions, trailers."""

from __future__ import annotations

import asyncio
import json

import pytest

from clearance.endpoint import ChatRequest, OpenAIClient
from clearance.endpoint.http1 import BadResponse, H1Pool
from clearance.errors import EndpointProtocolError
from fakes.openai_server import Conn, FakeServer, Request, completion, stream_chunks

Q = ChatRequest(messages=[{"role": "user", "content": "hi"}], model="m")


def test_fake_close_delimited_body_is_read_to_eof() -> None:
    async def handler(req: Request, conn: Conn) -> None:
        body = json.dumps(completion("until close")).encode()
        conn.writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + body
        )
        await conn.writer.drain()
        conn.writer.close()
        conn.dropped = True

    async def go() -> None:
        async with FakeServer(handler) as srv, OpenAIClient(srv.url) as c:
            assert (await c.chat(Q)).text == "until close"
            assert (await c.chat(Q)).text == "until close"  # a new connection, the old one was not pooled
            assert srv.requests and len(srv.requests) == 2

    asyncio.run(go())


def test_fake_chunk_extensions_and_trailers() -> None:
    events = stream_chunks(["a", "b"])
    payload = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"

    async def handler(req: Request, conn: Conn) -> None:
        conn.writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        conn.writer.write(b"%x;ext=1\r\n%s\r\n" % (len(payload), payload))
        conn.writer.write(b"0\r\nX-Trailer: yes\r\n\r\n")
        await conn.writer.drain()

    async def go() -> None:
        async with FakeServer(handler) as srv, OpenAIClient(srv.url) as c:
            r1 = await c.chat_stream(Q)
            r2 = await c.chat_stream(Q)  # the connection was fully read, so it is reused
        assert r1.text == r2.text == "ab"

    asyncio.run(go())


def test_fake_not_http_is_protocol_error() -> None:
    async def handler(req: Request, conn: Conn) -> None:
        conn.writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await conn.writer.drain()
        conn.drop()

    async def go() -> None:
        async with FakeServer(handler) as srv, OpenAIClient(srv.url, max_retries=0) as c:
            await c.chat(Q)

    with pytest.raises(EndpointProtocolError, match="not an HTTP"):
        asyncio.run(go())


def test_pool_bad_chunk_size_is_bad_response() -> None:
    async def handler(req: Request, conn: Conn) -> None:
        conn.writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        await conn.writer.drain()
        conn.drop()

    async def go() -> None:
        async with FakeServer(handler) as srv:
            pool = H1Pool(srv.url)
            async with pool.request("GET", "/x", b"", "application/json") as resp:
                await resp.body()

    with pytest.raises(BadResponse, match="bad chunk size"):
        asyncio.run(go())
