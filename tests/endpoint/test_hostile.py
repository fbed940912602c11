"""OpenAIClient against hostile fake endpoints: bodies that never end, and every malformed reply shape.

Each case was a traceback, an unbounded read or a silently empty answer before the client bounded
its reads (size cap, total deadline per request) and checked every shape it reads.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from clearance.endpoint import ChatRequest, OpenAIClient, Timeouts
from clearance.endpoint.sse import SSEDecoder, SSEOverflow
from clearance.errors import EndpointProtocolError, EndpointTimeoutError, EndpointTooLargeError
from fakes.openai_server import (
    FakeServer,
    completion,
    hostile_endless_handler,
    shaped_reply_handler,
    stream_chunks,
)

Q = ChatRequest(messages=[{"role": "user", "content": "hi"}], model="m", max_tokens=8)


def _ask(handler: Any, *, stream: bool, **client_kw: Any) -> Any:
    async def go() -> Any:
        async with FakeServer(handler) as srv, OpenAIClient(srv.url, max_retries=0, **client_kw) as c:
            return await (c.chat_stream(Q) if stream else c.chat(Q))

    return asyncio.run(go())


# ------------------------------------------------------------------ bodies that never end


@pytest.mark.parametrize(
    ("kind", "stream"), [("sse", True), ("sse-noline", True), ("close", False), ("length", False)]
)
def test_fake_endless_body_is_cut_at_the_size_cap(kind: str, stream: bool) -> None:
    with pytest.raises(EndpointTooLargeError, match=r"cut off|larger than"):
        _ask(hostile_endless_handler(kind), stream=stream, max_response_bytes=256 * 1024)


@pytest.mark.parametrize(("kind", "stream"), [("sse", True), ("sse-noline", True), ("close", False)])
def test_fake_trickling_body_is_cut_at_the_total_deadline(kind: str, stream: bool) -> None:
    # one small piece every 20 ms: the read timeout (5 s) never fires, the body never reaches the cap
    handler = hostile_endless_handler(kind, piece=b"y" * 16, every_s=0.02)
    t0 = time.perf_counter()
    with pytest.raises(EndpointTimeoutError, match="total timeout"):
        _ask(handler, stream=stream, timeouts=Timeouts(read=5.0, total=0.4))
    assert time.perf_counter() - t0 < 4.0  # cut by the deadline, long before the read timeout


def test_total_deadline_is_on_by_default() -> None:
    assert Timeouts().total is not None and Timeouts().total > 0


def test_sse_decoder_refuses_an_event_past_its_cap() -> None:
    d = SSEDecoder(max_event_bytes=1000)
    with pytest.raises(SSEOverflow):
        for _ in range(20):
            d.feed(b"x" * 100)  # one line that never ends
    d = SSEDecoder(max_event_bytes=1000)
    with pytest.raises(SSEOverflow):
        for _ in range(20):
            d.feed(b"data: " + b"z" * 94 + b"\n")  # many data lines of one event, never dispatched


# ------------------------------------------------------------------ malformed shapes, non-streaming


def _reply(content: Any, **message: Any) -> dict[str, Any]:
    body = completion("placeholder")
    body["choices"][0]["message"] = {"role": "assistant", "content": content, **message}
    return body


def test_fake_multipart_content_list_is_read_as_text() -> None:
    parts = [{"type": "text", "text": "Paris"}, {"type": "image_url", "image_url": {"url": "x"}}, " is it"]
    r = _ask(shaped_reply_handler(_reply(parts)), stream=False)
    assert r.text == "Paris is it" and not r.incomplete


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (_reply(42), "content is a int"),
        (_reply({"text": 1}), "content is a dict"),
        (_reply([{"type": "text", "text": 7}]), "part 0 is not text"),
        ({**completion("x"), "choices": ["Paris"]}, r"choices\[0\] is a str"),
        ({**completion("x"), "choices": [{"message": "Paris"}]}, "message is not an object"),
        (
            {**completion("x"), "choices": [{"index": 0, "text": "Paris", "finish_reason": "stop"}]},
            "completions shape",
        ),
        (_reply(None), "content is null"),
        (_reply(None, tool_calls=[{"id": "t"}]), "tool calls"),
        (
            {**completion("x"), "choices": [{"message": {"content": "a"}, "finish_reason": 3}]},
            "finish_reason",
        ),
        ({**completion("x"), "choices": "Paris"}, "no choices"),
        ([1, 2], "not a JSON object"),
        ({**completion("x"), "usage": {"prompt_tokens": "many"}}, "malformed usage"),
    ],
)
def test_fake_malformed_chat_reply_is_a_typed_error(reply: Any, match: str) -> None:
    with pytest.raises(EndpointProtocolError, match=match):
        _ask(shaped_reply_handler(reply), stream=False)


def test_fake_null_content_with_reasoning_is_incomplete_not_empty() -> None:
    r = _ask(shaped_reply_handler(_reply(None, reasoning_content="Let me think about")), stream=False)
    assert r.incomplete and r.text == "" and r.reasoning == "Let me think about"


def test_fake_odd_id_and_model_types_do_not_crash() -> None:
    body = {**completion("fine"), "id": 17, "model": ["x"]}
    r = _ask(shaped_reply_handler(body), stream=False)
    assert r.text == "fine" and r.response_id is None and r.model == "m"


# ------------------------------------------------------------------ malformed shapes, streaming


def _delta(content: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}]}


def test_fake_stream_multipart_delta_is_read_as_text() -> None:
    events = [_delta([{"type": "text", "text": "Par"}]), _delta("is"), *stream_chunks([], usage=False)]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    r = _ask(shaped_reply_handler(events=events), stream=True)
    assert r.text == "Paris" and r.finish_reason == "stop"


@pytest.mark.parametrize(
    ("events", "match"),
    [
        ([_delta(5)], "content is a int"),
        ([_delta({"a": 1})], "content is a dict"),
        ([{"choices": ["Paris"]}], r"choices\[0\] is not an object"),
        ([{"choices": "Paris"}], "'choices' is not a list"),
        ([{"choices": [{"delta": "Paris"}]}], "delta is not an object"),
        ([{"choices": [{"index": 0, "text": "Paris", "finish_reason": "stop"}]}], "completions shape"),
        ([{"choices": [{"delta": {"content": "a"}, "finish_reason": 1}]}], "finish_reason"),
        (["[1, 2]"], "not a JSON object"),
        (["[" * 100_000], "not JSON"),
    ],
)
def test_fake_malformed_stream_event_is_a_typed_error(events: list[Any], match: str) -> None:
    with pytest.raises(EndpointProtocolError, match=match):
        _ask(shaped_reply_handler(events=events), stream=True)


def test_fake_stream_with_only_reasoning_is_incomplete() -> None:
    events: list[Any] = [
        {"choices": [{"index": 0, "delta": {"reasoning_content": "hmm "}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"reasoning_content": "so"}, "finish_reason": "length"}]},
    ]
    r = _ask(shaped_reply_handler(events=events), stream=True)
    assert r.incomplete and r.text == "" and r.reasoning == "hmm so" and r.finish_reason == "length"


def test_fake_stream_keeps_reasoning_apart_from_the_answer() -> None:
    events: list[Any] = [
        {"choices": [{"index": 0, "delta": {"reasoning_content": "think"}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": "Paris"}, "finish_reason": "stop"}]},
    ]
    r = _ask(shaped_reply_handler(events=events), stream=True)
    assert r.text == "Paris" and r.reasoning == "think" and not r.incomplete
    assert len(r.chunk_times_s) == 2  # time to first token counts the reasoning token
