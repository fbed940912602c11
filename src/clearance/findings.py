"""Findings: the unit of evidence produced by scans and checks (``file``, ``rule``, ``severity``, ``message``).

``Severity`` lives in ``clearance.severity`` (no pydantic, so the CLI's help can name the levels) and is
re-exported here.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from clearance.severity import Severity


class Finding(BaseModel):
    """One observation about one file, with a stable rule id (e.g. ``SAFETENSORS-OFFSET``)."""

    file: str
    rule: str
    severity: Severity
    message: str
    details: dict[str, object] = Field(default_factory=dict)
