"""Provenance records shared by every box: what produced a result, so it can be traced as evidence."""

from __future__ import annotations

import hashlib
import platform
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from clearance import __version__


def utc_now() -> str:
    """The current time as an ISO-8601 UTC string with seconds precision."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of one file, read sequentially in ``chunk``-byte pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class ToolInfo(BaseModel):
    """The tool and platform that produced a result."""

    name: str = "clearance"
    version: str = __version__
    python: str = Field(default_factory=platform.python_version)
    platform: str = Field(default_factory=platform.platform)


class DatasetRef(BaseModel):
    """A dataset used as evidence: its name, where it came from, its bytes and its license."""

    name: str
    source: str
    sha256: str
    license: str
    rows: int


class EndpointRef(BaseModel):
    """The endpoint that served a model, and the identity it reported in ``/v1/models``."""

    url: str
    served_model: str | None = None
    server: str | None = None
    replicas: list[str] = Field(default_factory=list)
