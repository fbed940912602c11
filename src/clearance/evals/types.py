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
    """Sampling parameters sent with every request of a suite (recorded as evidence)."""

    max_tokens: int | None = 256
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
