"""Controls: which NIST AI 600-1 actions, EU AI Act articles and ISO/IEC 42001 Annex A controls a gate
gives evidence for.

The shipped table (``controls/data/controls.yaml``) maps every gate of the default policy, names its
sources, and says for each mapping whether the link is direct or the project's judgement. A policy adds
its own mapping with a ``controls:`` block on a gate; a gate neither names is mapped by the namespace of
its fact (``evals.*``, ``scan.*``, ...) and labelled as such.

Public surface: ``ControlRefs``, ``controls_for(gate_id, fact, own=None)``, ``process_controls()``,
``control_title(framework, id)``, ``sources()``, ``FRAMEWORKS``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

FRAMEWORKS: dict[str, str] = {
    "nist_ai_600_1": "NIST AI 600-1",
    "eu_ai_act": "EU AI Act",
    "iso_iec_42001": "ISO/IEC 42001 Annex A",
}

Basis = Literal["direct", "judgement", "family", "policy"]


class ControlRefs(BaseModel):
    """The controls one gate supports, per framework, with how direct the link is."""

    model_config = ConfigDict(extra="forbid")

    nist_ai_600_1: list[str] = Field(default_factory=list)
    eu_ai_act: list[str] = Field(default_factory=list)
    iso_iec_42001: list[str] = Field(default_factory=list)
    basis: Basis = "policy"
    note: str | None = None

    def by_framework(self) -> list[tuple[str, str, list[str]]]:
        """``[(framework key, label, ids), ...]`` for the frameworks that have ids."""
        return [(key, label, getattr(self, key)) for key, label in FRAMEWORKS.items() if getattr(self, key)]

    def is_empty(self) -> bool:
        """True when no framework lists a control."""
        return not (self.nist_ai_600_1 or self.eu_ai_act or self.iso_iec_42001)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_: str = Field(alias="schema")
    sources: dict[str, dict[str, str]]
    titles: dict[str, dict[str, str]]
    process: ControlRefs
    gates: dict[str, ControlRefs]
    families: dict[str, ControlRefs]


@lru_cache(maxsize=1)
def _table() -> _Table:
    text = resources.files("clearance.controls").joinpath("data/controls.yaml").read_text("utf-8")
    return _Table.model_validate(yaml.safe_load(text))


def sources() -> dict[str, dict[str, str]]:
    """Title and URL of each framework's source document."""
    return _table().sources


def control_title(framework: str, control_id: str) -> str:
    """The short title of a control id (empty when the table does not hold one)."""
    return _table().titles.get(framework, {}).get(control_id, "")


def process_controls() -> ControlRefs:
    """The controls the approval process itself (sign-offs, waivers, ledger) gives evidence for."""
    return _table().process


def controls_for(
    gate_id: str, fact: str = "", own: ControlRefs | dict[str, Any] | None = None
) -> ControlRefs:
    """The mapping of one gate: the policy's own, else the shipped table's, else its fact family's.

    A policy's own mapping replaces the shipped one for that gate (it is labelled ``policy``); an empty
    result means no framework control is claimed for the gate.
    """
    if own is not None:
        refs = own if isinstance(own, ControlRefs) else ControlRefs.model_validate(own)
        if not refs.is_empty():
            return refs.model_copy(update={"basis": "policy"})
    table = _table()
    if gate_id in table.gates:
        return table.gates[gate_id]
    family = fact.split(".", 1)[0] if fact else ""
    if family in table.families:
        return table.families[family]
    return ControlRefs(basis="family", note="no control mapped for this gate")


def known_ids(framework: str) -> set[str]:
    """Every control id of ``framework`` the table has a title for (used to check mappings)."""
    return set(_table().titles.get(framework, {}))


__all__ = [
    "FRAMEWORKS",
    "ControlRefs",
    "control_title",
    "controls_for",
    "known_ids",
    "process_controls",
    "sources",
]
