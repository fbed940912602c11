"""The typed nouns of an evaluation: samples, datasets, scores, metric values and generation parameters."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from clearance.evidence import DatasetRef
from clearance.stats import WILSON, wilson_interval


class Sample(BaseModel):
    """One evaluation item: an id, a prompt (text or chat messages), an optional target and metadata."""

    id: str
    input: str | list[dict[str, str]]
    target: str | list[str] | None = None
    choices: list[str] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def targets(self) -> list[str]:
        """The acceptable answers as a list (empty when the sample has no target)."""
        if self.target is None:
            return []
        return [self.target] if isinstance(self.target, str) else list(self.target)


class Dataset(BaseModel):
    """A loaded dataset: its rows and the evidence record (name, source, sha256, license, rows)."""

    name: str
    samples: list[Sample]
    ref: DatasetRef
    notes: list[str] = Field(default_factory=list)


class Score(BaseModel):
    """One scorer's verdict on one output: ``value`` (1.0 = yes/correct), the extracted answer, the rule that fired."""

    value: float
    answer: str | None = None
    rule: str
    explanation: str | None = None


class MetricValue(BaseModel):
    """A metric with its confidence interval, the number of samples behind it and the CI method."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int
    method: str
    confidence: float = 0.95
    description: str = ""
    n_incomplete: int = 0
    n_invalid: int = 0
    measured: bool = True
    note: str = ""

    @property
    def n_total(self) -> int:
        """Answers this metric was asked to judge: valid ones plus incomplete and invalid ones."""
        return self.n + self.n_incomplete + self.n_invalid

    @property
    def incomplete_share(self) -> float | None:
        """Share of this metric's answers that were incomplete or invalid (``None`` with no answers)."""
        total = self.n_total
        return (self.n_incomplete + self.n_invalid) / total if total else None

    @classmethod
    def proportion(
        cls, k: int, n: int, *, confidence: float = 0.95, description: str = "", method_note: str = ""
    ) -> MetricValue:
        """``k / n`` with its Wilson score interval (value and bounds ``None`` when ``n == 0``)."""
        lo, hi = wilson_interval(k, n, confidence)
        return cls(
            value=k / n if n else None,
            ci_low=lo if n else None,
            ci_high=hi if n else None,
            n=n,
            method=WILSON + method_note,
            confidence=confidence,
            description=description,
        )


class GenerationParams(BaseModel):
    """Sampling parameters sent with every request of a suite (recorded as evidence).

    ``max_tokens`` bounds reasoning and answer together (a reasoning model needs room for both: its
    reasoning budget). ``chat_template_kwargs`` (e.g. ``{"enable_thinking": false}`` for Qwen3, read by
    vLLM, SGLang and llama.cpp) and ``extra_body`` (any other engine-specific field) pass through as sent.
    """

    max_tokens: int | None = 256
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
    chat_template_kwargs: dict[str, Any] | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)

    def request_extra(self) -> dict[str, object]:
        """The request body fields beyond the standard ones."""
        extra: dict[str, object] = dict(self.extra_body)
        if self.chat_template_kwargs is not None:
            extra["chat_template_kwargs"] = dict(self.chat_template_kwargs)
        return extra
