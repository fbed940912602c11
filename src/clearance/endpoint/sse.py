"""Incremental Server-Sent Events decoder, robust to how bytes are split across network reads.

Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; ``:`` starts a comment;
``data:`` with or without one space; several ``data`` lines of one event are joined with ``\\n``;
a blank line dispatches the event. At end of stream a pending event without its blank line is
still returned by :meth:`SSEDecoder.flush` (some servers omit the final blank line).

Bounded: a line or an event larger than ``max_event_bytes`` raises :class:`SSEOverflow` instead of
buffering without end (a hostile server that never sends a line break).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_END = re.compile(rb"\r\n|\r|\n")
_EOL = re.compile(rb"[\r\n]")
DEFAULT_MAX_EVENT_BYTES = 8 * 2**20


class SSEOverflow(ValueError):
    """One event (or one line) is larger than the decoder's ``max_event_bytes``."""


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its joined ``data`` and the optional ``event`` name and ``id``."""

    data: str
    event: str | None = None
    id: str | None = None


class SSEDecoder:
    """Feed raw bytes in any split; get complete events back."""

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self._buf = b""
        self._parts: list[bytes] = []  # pieces of a line still without its end (joined lazily)
        self._parts_len = 0
        self._size = 0  # bytes of the pending event's data lines
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume ``chunk`` and return the events it completed (possibly none)."""
        if not _EOL.search(chunk) and not self._buf.endswith(b"\r"):
            # the line goes on: keep the pieces, join them once a line end arrives (no quadratic rescans)
            self._parts.append(chunk)
            self._parts_len += len(chunk)
            if len(self._buf) + self._parts_len > self.max_event_bytes:
                raise SSEOverflow(f"server-sent event line longer than {self.max_event_bytes} bytes")
            return []
        buf = b"".join((self._buf, *self._parts, chunk))
        self._parts, self._parts_len = [], 0
        events: list[SSEEvent] = []
        pos = 0
        n = len(buf)
        while True:
            m = _LINE_END.search(buf, pos)
            if m is None:
                break
            # A CR at the very end may be the first half of a CRLF split across reads.
            if m.group() == b"\r" and m.end() == n:
                break
            ev = self._line(buf[pos : m.start()])
            if ev is not None:
                events.append(ev)
            pos = m.end()
        self._buf = buf[pos:]
        if len(self._buf) > self.max_event_bytes:
            raise SSEOverflow(f"server-sent event line longer than {self.max_event_bytes} bytes")
        return events

    def flush(self) -> list[SSEEvent]:
        """End of stream: process a last unterminated line and return a pending event, if any."""
        events: list[SSEEvent] = []
        if self._parts:
            self._buf = b"".join((self._buf, *self._parts))
            self._parts, self._parts_len = [], 0
        if self._buf:
            line, self._buf = self._buf.rstrip(b"\r"), b""
            ev = self._line(line)
            if ev is not None:
                events.append(ev)
        ev = self._dispatch()
        if ev is not None:
            events.append(ev)
        return events

    def _line(self, raw: bytes) -> SSEEvent | None:
        if not raw:
            return self._dispatch()
        line = raw.decode("utf-8", errors="replace")
        if line.startswith(":"):
            return None
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._size += len(raw)
            if self._size > self.max_event_bytes:
                raise SSEOverflow(f"server-sent event larger than {self.max_event_bytes} bytes")
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            self._id = value
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = None
            return None
        ev = SSEEvent("\n".join(self._data), self._event, self._id)
        self._data = []
        self._size = 0
        self._event = None
        return ev
