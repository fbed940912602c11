"""The policy file's schema: gates over flat, namespaced facts, validated strictly."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clearance.controls import ControlRefs
from clearance.findings import Severity


class Operator(StrEnum):
    """How a gate compares the observed fact with its threshold."""

    ge = ">="
    le = "<="
    gt = ">"
    lt = "<"
    eq = "=="
    ne = "!="
    in_ = "in"
    not_in = "not_in"
    max_severity_below = "max_severity_below"
    max_severity_at_most = "max_severity_at_most"


NUMERIC_OPERATORS = {Operator.ge, Operator.le, Operator.gt, Operator.lt}
LIST_OPERATORS = {Operator.in_, Operator.not_in}
SEVERITY_OPERATORS = {Operator.max_severity_below, Operator.max_severity_at_most}

Action = Literal["reject", "review"]
MissingAction = Literal["reject", "review", "skip"]
Use = Literal["value", "ci_low", "ci_high"]

Threshold = bool | int | float | str | list[bool | int | float | str]


class Gate(BaseModel):
    """One rule: ``fact <operator> threshold``; what to do when it fails or the fact is missing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    description: str = Field(min_length=1)
    fact: str = Field(min_length=1)
    operator: Operator
    threshold: Threshold
    on_fail: Action = "reject"
    on_missing: MissingAction = "review"
    use: Use = "value"
    rationale: str | None = None
    controls: ControlRefs | None = None  # the policy's own mapping to NIST AI 600-1 / EU AI Act / ISO 42001

    @model_validator(mode="after")
    def _threshold_matches_operator(self) -> Gate:
        t = self.threshold
        if self.operator in NUMERIC_OPERATORS and (isinstance(t, bool) or not isinstance(t, int | float)):
            raise ValueError(f"operator {self.operator.value!r} needs a number as threshold, got {t!r}")
        if self.operator in LIST_OPERATORS and not isinstance(t, list):
            raise ValueError(f"operator {self.operator.value!r} needs a list as threshold, got {t!r}")
        if self.operator in SEVERITY_OPERATORS:
            valid = [s.value for s in Severity]
            if not isinstance(t, str) or t not in valid:
                raise ValueError(
                    f"operator {self.operator.value!r} needs a severity ({', '.join(valid)}), got {t!r}"
                )
        return self

    @property
    def fact_key(self) -> str:
        """The fact actually looked up: ``fact`` itself, or ``fact.ci_low`` / ``fact.ci_high``."""
        return self.fact if self.use == "value" else f"{self.fact}.{self.use}"


class Policy(BaseModel):
    """A named, versioned set of gates; ``source`` and ``sha256`` say which bytes it was read from.

    ``warnings`` (set by the loader) name gates that judge a rate on its point estimate or on the lenient
    end of its confidence interval.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    version: str | int = 1
    description: str = ""
    gates: list[Gate] = Field(min_length=1)
    source: str | None = None
    sha256: str | None = None
    warnings: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> Policy:
        seen: set[str] = set()
        for g in self.gates:
            if g.id in seen:
                raise ValueError(f"duplicate gate id {g.id!r}")
            seen.add(g.id)
        return self
