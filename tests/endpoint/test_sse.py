"""The SSE decoder: any byte split gives the same events; comments, CRLF, multi-line data."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clearance.endpoint.sse import SSEDecoder, SSEEvent

STREAM = (
    b": ping comment\r\n\r\n"
    b'data: {"a": 1}\n\n'
    b'data:{"b":"\xc3\xa9t\xc3\xa9"}\r\n\r\n'
    b"event: note\ndata: line one\ndata: line two\nid: 7\n\n"
    b"data: [DONE]\r\r"
)
EXPECTED = [
    SSEEvent('{"a": 1}'),
    SSEEvent('{"b":"été"}'),
    SSEEvent("line one\nline two", event="note", id="7"),
    SSEEvent("[DONE]", id="7"),  # the last event id persists (WHATWG)
]


def decode(pieces: list[bytes]) -> list[SSEEvent]:
    d = SSEDecoder()
    out: list[SSEEvent] = []
    for p in pieces:
        out.extend(d.feed(p))
    out.extend(d.flush())
    return out


def test_whole_stream_decodes_all_event_kinds() -> None:
    assert decode([STREAM]) == EXPECTED


def test_byte_by_byte_split_including_inside_utf8_and_crlf() -> None:
    assert decode([STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_points_give_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    pieces = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert decode(pieces) == EXPECTED


def test_trailing_event_without_blank_line_is_flushed() -> None:
    d = SSEDecoder()
    assert d.feed(b'data: {"x": 2}') == []
    assert d.flush() == [SSEEvent('{"x": 2}')]


def test_comment_only_and_empty_data_lines() -> None:
    d = SSEDecoder()
    assert d.feed(b":keepalive\n\n:another\n\n") == []
    assert d.feed(b"data:\n\n") == [SSEEvent("")]
