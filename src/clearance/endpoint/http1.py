"""A lean HTTP/1.1 keep-alive client on asyncio streams for the hot path (chat completions).

Why: on a 2-core host httpx/httpcore spend ~1 ms of CPU per streamed request in pool bookkeeping
and anyio layers, which inflates measured latencies under load; this client does the same work with
plain ``asyncio`` streams (see bench/loadgen_vs_peer.py). It speaks only what OpenAI-compatible
servers send: ``Content-Length`` or ``chunked`` bodies, or a body ended by close. Failures are raised
as the small exception types below, which :mod:`clearance.endpoint.client` maps to typed errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class H1Error(Exception):
    """Base of transport failures."""


class ConnectFailed(H1Error):
    """The TCP (or TLS) connection could not be opened."""


class Dropped(H1Error):
    """The peer closed or reset the connection before the response was complete."""

    def __init__(self, message: str, *, head_received: bool) -> None:
        super().__init__(message)
        self.head_received = head_received


class ReadTimedOut(H1Error):
    """No bytes arrived within the read timeout."""


class BadResponse(H1Error):
    """The bytes received are not a valid HTTP/1.1 response."""


class TooLarge(H1Error):
    """The response body grew past the cap on response size (the connection is dropped)."""


class DeadlineExceeded(H1Error):
    """The request's total deadline (head, body and stream together) passed before the response ended."""


_MAX_HEAD = 64 * 1024


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.transport.abort()


@dataclass
class H1Response:
    """Status, lower-cased headers and a body reader bound to one connection."""

    status: int
    headers: dict[str, str]
    _conn: _Conn
    _read_timeout: float
    deadline: float | None = None
    max_body_bytes: int | None = None
    complete: bool = False
    keep_alive: bool = True
    received: int = 0
    _chunks: list[bytes] = field(default_factory=list)

    async def _timed(self, aw: Awaitable[bytes], timeout: float | None = None) -> bytes:
        t = self._read_timeout if timeout is None else timeout
        by_deadline = False
        if self.deadline is not None:
            left = self.deadline - asyncio.get_running_loop().time()
            if left <= t:
                t, by_deadline = max(0.0, left), True
        try:
            async with asyncio.timeout(t):
                return await aw
        except TimeoutError:
            if by_deadline:
                raise DeadlineExceeded("response not complete by the request's deadline") from None
            raise ReadTimedOut(f"no data within {t:g} s") from None
        except asyncio.IncompleteReadError:
            raise Dropped(
                "connection closed in the middle of the response body", head_received=True
            ) from None
        except (ConnectionError, OSError) as exc:
            raise Dropped(f"connection lost: {exc}", head_received=True) from None
        except asyncio.LimitOverrunError:
            raise BadResponse("chunk-size line too long") from None

    async def body(self, on_data: Callable[[bytes], bool] | None = None, *, drain_s: float = 1.0) -> bytes:
        """Read the body; ``on_data`` sees each piece and may return True to stop (the rest is drained).

        Without ``on_data`` the whole body is returned.
        """
        r = self._conn.reader
        parts: list[bytes] = []
        stop = False

        cap = self.max_body_bytes

        def count(n: int) -> None:
            self.received += n
            if cap is not None and self.received > cap:
                self.keep_alive = False
                raise TooLarge(f"response body larger than {cap} bytes")

        def deliver(data: bytes) -> None:
            nonlocal stop
            if stop or not data:
                return
            if on_data is None:
                parts.append(data)
            elif on_data(data):
                stop = True

        te = self.headers.get("transfer-encoding", "").lower()
        length = self.headers.get("content-length")
        drained_by: float | None = None
        loop = asyncio.get_running_loop()
        if "chunked" in te:
            while True:
                limit: float | None = None
                if (
                    stop
                ):  # the caller has what it needs: read the terminator briefly, else drop the connection
                    if drained_by is None:
                        drained_by = loop.time() + drain_s
                    limit = drained_by - loop.time()
                    if limit <= 0:
                        self.keep_alive = False
                        return b""
                try:
                    line = await self._timed(r.readuntil(b"\n"), limit)
                    size_txt = line.split(b";", 1)[0].strip()
                    try:
                        size = int(size_txt, 16)
                    except ValueError:
                        raise BadResponse(f"bad chunk size {size_txt[:20]!r}") from None
                    if size == 0:
                        while (await self._timed(r.readuntil(b"\n"), limit)).strip():
                            pass  # trailers
                        break
                    count(size)  # before reading: a declared chunk past the cap is never buffered
                    data = await self._timed(r.readexactly(size), limit)
                    await self._timed(r.readexactly(2), limit)
                except (ReadTimedOut, Dropped, TooLarge, DeadlineExceeded):
                    if not stop:
                        raise
                    self.keep_alive = False
                    return b""
                deliver(data)
        elif length is not None:
            try:
                remaining = int(length)
            except ValueError:
                raise BadResponse(f"bad Content-Length {length[:20]!r}") from None
            if remaining < 0:
                raise BadResponse(f"bad Content-Length {length[:20]!r}")
            count(remaining)  # a declared length past the cap fails before any byte is read
            while remaining > 0:
                data = await self._timed(r.read(min(remaining, 1 << 16)))
                if not data:
                    raise Dropped("connection closed before Content-Length bytes arrived", head_received=True)
                remaining -= len(data)
                deliver(data)
        else:
            self.keep_alive = False
            while data := await self._timed(r.read(1 << 16)):
                count(len(data))
                deliver(data)
        self.complete = True
        return b"".join(parts)


class H1Pool:
    """Keep-alive connections to one origin, at most ``max_connections`` open."""

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int = 256,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        max_body_bytes: int | None = None,
        headers: dict[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_body_bytes = max_body_bytes
        self.ssl_context = ssl_context if ssl_context is not None else (
            ssl.create_default_context() if self.https else None
        )  # fmt: skip
        self._sem = asyncio.Semaphore(max(1, max_connections))
        self._idle: list[_Conn] = []
        host_hdr = self.host if parts.port is None else f"{self.host}:{self.port}"
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._fixed_headers = f"Host: {host_hdr}\r\n{extra}Connection: keep-alive\r\n"

    async def close(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, []
        for c in idle:
            c.close()

    def _take_idle(self) -> _Conn | None:
        while self._idle:
            conn = self._idle.pop()
            if not conn.writer.transport.is_closing() and not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    @staticmethod
    def _bounded(timeout: float, deadline: float | None) -> tuple[float, bool]:
        """``timeout`` shortened to what is left before ``deadline``; True when the deadline is the bound."""
        if deadline is None:
            return timeout, False
        left = deadline - asyncio.get_running_loop().time()
        return (max(0.0, left), True) if left <= timeout else (timeout, False)

    async def _open(self, deadline: float | None = None) -> _Conn:
        t, by_deadline = self._bounded(self.connect_timeout, deadline)
        try:
            async with asyncio.timeout(t):
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self.ssl_context, limit=_MAX_HEAD
                )
        except TimeoutError:
            if by_deadline:
                raise DeadlineExceeded("not connected by the request's deadline") from None
            raise ConnectFailed(f"connect timed out after {self.connect_timeout:g} s") from None
        except OSError as exc:
            raise ConnectFailed(exc.strerror or str(exc)) from None
        return _Conn(reader, writer)

    async def _send_head(self, conn: _Conn, data: bytes, deadline: float | None = None) -> H1Response:
        t, by_deadline = self._bounded(self.read_timeout, deadline)
        try:
            async with asyncio.timeout(t):
                conn.writer.write(data)
                await conn.writer.drain()
                head = await conn.reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            if by_deadline:
                raise DeadlineExceeded("no response head by the request's deadline") from None
            raise ReadTimedOut(f"no response within {self.read_timeout:g} s") from None
        except asyncio.IncompleteReadError as exc:
            raise Dropped("connection closed before a response", head_received=bool(exc.partial)) from None
        except asyncio.LimitOverrunError:
            raise BadResponse("response headers too large") from None
        except (ConnectionError, OSError) as exc:
            raise Dropped(f"connection lost before a response: {exc}", head_received=False) from None
        lines = head.decode("latin-1").split("\r\n")
        status_line = lines[0].split(" ", 2)
        if len(status_line) < 2 or not status_line[0].startswith("HTTP/1."):
            raise BadResponse(f"not an HTTP/1.x response: {lines[0][:60]!r}")
        try:
            status = int(status_line[1])
        except ValueError:
            raise BadResponse(f"bad status line {lines[0][:60]!r}") from None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                k = k.strip().lower()
                headers[k] = f"{headers[k]}, {v.strip()}" if k in headers else v.strip()
        resp = H1Response(status, headers, conn, self.read_timeout, deadline, self.max_body_bytes)
        if headers.get("connection", "").lower() == "close" or status_line[0] == "HTTP/1.0":
            resp.keep_alive = False
        return resp

    @contextlib.asynccontextmanager
    async def request(
        self, method: str, target: str, body: bytes, content_type: str, *, deadline: float | None = None
    ) -> AsyncIterator[H1Response]:
        """Send one request and yield its response (headers read, body not yet).

        ``deadline`` (event-loop time) bounds connect, head and body together: past it, reads raise
        :class:`DeadlineExceeded`. Bodies longer than the pool's ``max_body_bytes`` raise :class:`TooLarge`.
        """
        data = (
            f"{method} {target} HTTP/1.1\r\n{self._fixed_headers}"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body
        async with self._sem:
            conn = self._take_idle() or await self._open(deadline)
            try:
                try:
                    resp = await self._send_head(conn, data, deadline)
                except Dropped as exc:
                    if not conn.reused or exc.head_received:
                        raise
                    conn.close()
                    conn = await self._open(
                        deadline
                    )  # a stale keep-alive connection: retry once on a fresh one
                    resp = await self._send_head(conn, data, deadline)
            except BaseException:
                conn.close()
                raise
            ok = False
            try:
                yield resp
                ok = resp.complete and resp.keep_alive
            finally:
                if ok:
                    conn.reused = True
                    self._idle.append(conn)
                else:
                    conn.close()
