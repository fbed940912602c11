"""Built-in model catalog: real Hugging Face configs stored as data files, each with its source.

Each ``plan/data/models/<name>.json`` holds ``{"name", "aliases", "source", "notes", "config"}`` where
``config`` is the model's ``config.json``. Users add their own models by pointing ``clearance plan`` at a
config (or a directory); the catalog only spares them the download.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, Field

from clearance.errors import CatalogError


class CatalogModel(BaseModel):
    """One catalog entry: canonical name, aliases, where its config came from, and the config itself."""

    name: str
    aliases: list[str] = Field(default_factory=list)
    source: str
    notes: str = ""
    config: dict[str, Any]


def _norm(name: str) -> str:
    return (
        re.sub(r"[^a-z0-9.]", "", name.lower().split("/")[-1])
        if "/" in name
        else re.sub(r"[^a-z0-9.]", "", name.lower())
    )


@lru_cache(maxsize=1)
def _entries() -> tuple[CatalogModel, ...]:
    root = resources.files("clearance.plan").joinpath("data/models")
    out = []
    for item in sorted(root.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            out.append(CatalogModel.model_validate(json.loads(item.read_text(encoding="utf-8"))))
    return tuple(out)


def list_models() -> list[CatalogModel]:
    """Every built-in catalog model, sorted by name."""
    return list(_entries())


def find_model(name: str) -> CatalogModel | None:
    """The catalog entry for a name or alias (case-insensitive; ``org/`` prefixes allowed), else None."""
    key = _norm(name)
    for e in _entries():
        if key == _norm(e.name) or key in {_norm(a) for a in e.aliases}:
            return e
    return None


def get_model(name: str) -> CatalogModel:
    """The catalog entry for a name or alias; ``CatalogError`` listing the known names when absent."""
    e = find_model(name)
    if e is None:
        known = ", ".join(m.name for m in _entries())
        raise CatalogError(f"unknown catalog model {name!r}; known: {known}")
    return e
