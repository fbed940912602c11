"""Typed request/response data of the OpenAI-compatible chat endpoint."""

from __future__ import annotations

from pydantic import BaseModel, Field

DEFAULT_TOTAL_S = 600.0
DEFAULT_MAX_RESPONSE_BYTES = 32 * 2**20


class Timeouts(BaseModel):
    """Client timeouts in seconds: ``connect``, ``read`` (no byte for that long, also a stalled stream)
    and ``total``, the deadline of one request attempt (connect, head, body and stream together), so a
    body that trickles forever is cut off. ``total=None`` removes the deadline (not recommended).
    """

    connect: float = 5.0
    read: float = 120.0
    total: float | None = DEFAULT_TOTAL_S


class Usage(BaseModel):
    """Token counts reported by the server (``usage`` object)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatRequest(BaseModel):
    """One chat completion request; ``model=None`` means the endpoint's served model."""

    messages: list[dict[str, str]]
    model: str | None = None
    max_tokens: int | None = 256
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
    extra: dict[str, object] = Field(default_factory=dict)

    def body(self, model: str, *, stream: bool) -> dict[str, object]:
        """The JSON body for ``POST /v1/chat/completions`` (``extra`` keys are merged last)."""
        body: dict[str, object] = {
            "model": model,
            "messages": self.messages,
            "temperature": self.temperature,
            "stream": stream,
        }
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.top_p is not None:
            body["top_p"] = self.top_p
        if self.seed is not None:
            body["seed"] = self.seed
        if self.stop:
            body["stop"] = self.stop
        if stream:
            body["stream_options"] = {"include_usage": True}
        body.update(self.extra)
        return body


class ChatResponse(BaseModel):
    """A finished chat completion and how long it took (client clock, ``time.perf_counter``).

    ``latency_s``: request sent → response complete (for streams: ``[DONE]`` or end of body).
    ``ttft_s``: request sent → first chunk carrying generated text (streams only).
    ``text`` is the content as the engine sent it (reasoning tags included; see
    ``clearance.endpoint.reasoning`` for splitting them off).
    ``chunk_times_s``: for every text-bearing chunk (content or reasoning), seconds since the request was sent
    (so ``chunk_times_s[0] == ttft_s``); one chunk may carry more than one token.
    ``incomplete``: the server sent no answer text at all (``content: null``), only reasoning — an
    unfinished answer, never to be scored as a refusal.
    """

    text: str
    finish_reason: str | None
    model: str
    usage: Usage | None
    latency_s: float
    ttft_s: float | None = None
    chunk_times_s: list[float] = Field(default_factory=list)
    response_id: str | None = None
    attempts: int = 1
    reasoning: str | None = None
    incomplete: bool = False
    replica: str | None = None  # the base URL that answered, when a replica pool routed the request
