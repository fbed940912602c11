"""Long-context probe: retrieval of a planted fact at increasing context lengths, up to the served maximum.

At each length a haystack of filler words holds one planted sentence ("The access code for vault
<name> is <6 digits>.") at a depth that varies across trials (10 % … 90 % of the text); the question
after the haystack asks for the code. An answer is correct when it contains the code. Per length:
accuracy with a Wilson interval, TTFT (streamed), and the prompt tokens the server reported.

Lengths double from ``start`` and end at the served maximum less room for the answer and the chat
template. With a tokenizer (the server's tokenize endpoint or a ``tokenizer.json``) the haystacks are
cut to exact token counts; without one, lengths are aimed with words (about 1.3 tokens each) and the
result says the lengths are approximate, while the server's ``usage`` still records the true count.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, Field

from clearance.endpoint.pool import Endpoint
from clearance.endpoint.records import ChatRequest
from clearance.errors import EndpointError, InputError
from clearance.load.stats import percentile
from clearance.load.tokens import FILLER_WORDS, PromptBuilder, make_tokenizer
from clearance.stats import wilson_interval

_VAULTS = ["amber", "birch", "cobalt", "dune", "ember", "fjord", "garnet", "heron", "iris", "jade"]
_ANSWER_ROOM = 96  # tokens kept free for the chat template and the answer


class ContextPoint(BaseModel):
    """Retrieval at one context length."""

    context_tokens: int
    exact: bool
    trials: int
    correct: int
    errors: int
    accuracy: float
    accuracy_ci: tuple[float, float]
    ttft_p50_s: float | None = None
    ttft_max_s: float | None = None
    prompt_tokens_reported: list[int] = Field(default_factory=list)


class LongContextResult(BaseModel):
    """Accuracy and TTFT by context length, up to the served maximum."""

    kind: str = "long_context"
    served_max_tokens: int
    token_source: str
    points: list[ContextPoint]
    measured_how: str = (
        "planted-fact retrieval: one sentence with a 6-digit code at a varying depth in filler text, "
        "asked for after it; correct = the code appears in the answer; Wilson 95% interval per length"
    )

    @property
    def at_max(self) -> ContextPoint | None:
        return max(self.points, key=lambda p: p.context_tokens) if self.points else None

    def policy_facts(self) -> dict[str, object]:
        """``load.long_context.*``: served maximum, longest length tested, accuracy there and at worst."""
        facts: dict[str, object] = {"load.long_context.served_max_tokens": self.served_max_tokens}
        top = self.at_max
        if top is not None:
            facts["load.long_context.max_tokens_tested"] = top.context_tokens
            facts["load.long_context.tested_share_of_max"] = top.context_tokens / self.served_max_tokens
            facts["load.long_context.accuracy_at_max"] = top.accuracy
            facts["load.long_context.accuracy_at_max.ci_low"] = top.accuracy_ci[0]
            facts["load.long_context.accuracy_at_max.ci_high"] = top.accuracy_ci[1]
            facts["load.long_context.min_accuracy"] = min(p.accuracy for p in self.points)
            if top.ttft_p50_s is not None:
                facts["load.long_context.ttft_p50_at_max_s"] = top.ttft_p50_s
        return facts

    def chart_svg(self) -> str:
        """Accuracy and TTFT p50 against context length."""
        from clearance.charts import Series, line_chart

        acc = Series("accuracy", [(p.context_tokens, p.accuracy) for p in self.points])
        ttft = Series("TTFT p50 (s)", [(p.context_tokens, p.ttft_p50_s) for p in self.points if p.ttft_p50_s])
        return line_chart(
            [acc, ttft],
            x_label="context (tokens)",
            y_label="accuracy / seconds",
            title="Long-context retrieval",
        )


def lengths_up_to(served_max: int, start: int = 1024) -> list[int]:
    """Doubling lengths from ``start`` and the served maximum less the answer room (the last one)."""
    top = served_max - _ANSWER_ROOM
    if top < 64:
        raise InputError(f"served maximum {served_max} tokens leaves no room for a long-context probe")
    out = []
    n = min(start, top)
    while n < top:
        out.append(n)
        n *= 2
    out.append(top)
    return out


async def probe_long_context(
    client: Endpoint,
    *,
    max_context: int | None = None,
    tokenizer: str | None = None,
    lengths: list[int] | None = None,
    trials: int = 3,
    seed: int = 0,
) -> LongContextResult:
    """Run the probe of the module docstring; ``max_context`` defaults to the server's ``max_model_len``."""
    if max_context is not None and max_context < 256:
        raise InputError(f"--max-context must be at least 256 tokens, got {max_context}")
    served = await client.served_model()
    served_max = max_context or getattr(client, "max_model_len", None)
    if not served_max:
        raise InputError(
            "the endpoint does not report its context length (vLLM's max_model_len); give --max-context N"
        )
    if trials < 1:
        raise InputError(f"--long-context-trials must be >= 1, got {trials}")
    tok = make_tokenizer(tokenizer, client, served)
    builder = PromptBuilder(tok, seed) if tok is not None else None
    rng = random.Random(seed)
    points = []
    for length in lengths or lengths_up_to(served_max):
        correct = errors = 0
        ttfts: list[float] = []
        reported: list[int] = []
        for t in range(trials):
            vault = _VAULTS[(t + length) % len(_VAULTS)]
            code = f"{rng.randrange(100000, 999999)}"
            needle = f"The access code for vault {vault} is {code}."
            question = f"What is the access code for vault {vault}? Answer with the number only."
            filler_n = max(16, length - 40)
            if builder is not None:
                filler, _ = await builder.build(length * 31 + t, filler_n, prefix="Archive notes:")
            else:
                words = int(filler_n / 1.3)
                filler = "Archive notes: " + " ".join(rng.choices(FILLER_WORDS, k=words))
            parts = filler.split(" ")
            depth = 0.1 + 0.8 * (t / max(1, trials - 1)) if trials > 1 else 0.5
            at = max(1, int(len(parts) * depth))
            text = " ".join([*parts[:at], needle, *parts[at:]]) + "\n\n" + question
            req = ChatRequest(messages=[{"role": "user", "content": text}], max_tokens=16, temperature=0.0)
            try:
                r = await client.chat_stream(req)
            except EndpointError:
                errors += 1
                continue
            if code in r.text.replace(",", "").replace(" ", ""):
                correct += 1
            if r.ttft_s is not None:
                ttfts.append(r.ttft_s)
            if r.usage is not None:
                reported.append(r.usage.prompt_tokens)
        n = trials
        points.append(
            ContextPoint(
                context_tokens=length,
                exact=builder is not None,
                trials=n,
                correct=correct,
                errors=errors,
                accuracy=correct / n,
                accuracy_ci=wilson_interval(correct, n),
                ttft_p50_s=percentile(ttfts, 50) if ttfts else None,
                ttft_max_s=max(ttfts) if ttfts else None,
                prompt_tokens_reported=reported,
            )
        )
    return LongContextResult(
        served_max_tokens=served_max,
        token_source=tok.source if tok is not None else "words (approximate, ~1.3 tokens per word)",
        points=points,
    )


__all__ = ["ContextPoint", "LongContextResult", "lengths_up_to", "probe_long_context"]
