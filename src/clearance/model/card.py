"""Model card: the YAML front matter of ``README.md``, parsed with ``yaml.safe_load`` and bounded."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field

MAX_CARD_BYTES = 4 << 20
MAX_FRONT_MATTER_BYTES = 256 << 10
MAX_NODES = 50_000


class ModelCard(BaseModel):
    """The parsed model card: front matter fields (``license``, ``base_model``, ...) or the parse error."""

    path: str
    data: dict[str, object] = Field(default_factory=dict)
    error: str | None = None
    body_chars: int = 0

    def field(self, key: str) -> object:
        """One front-matter field, or ``None``."""
        return self.data.get(key)

    def base_models(self) -> list[str]:
        """``base_model`` as a list (it may be a string or a list in the card)."""
        bm = self.data.get("base_model")
        if isinstance(bm, str):
            return [bm]
        if isinstance(bm, list):
            return [str(b) for b in bm if isinstance(b, str)]
        return []


def _count_nodes(obj: object, budget: list[int], depth: int = 0) -> None:
    budget[0] -= 1
    if budget[0] < 0 or depth > 64:
        raise ValueError("front matter is too large or too deeply nested (possible alias bomb)")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _count_nodes(k, budget, depth + 1)
            _count_nodes(v, budget, depth + 1)
    elif isinstance(obj, list):
        for v in obj:
            _count_nodes(v, budget, depth + 1)


def split_front_matter(text: str) -> tuple[str | None, str]:
    """``(front_matter_yaml, body)``; front matter is the block between a leading ``---`` line and the next."""
    t = text.removeprefix("\ufeff")
    if not t.startswith("---"):
        return None, t
    first_nl = t.find("\n")
    if first_nl < 0 or t[:first_nl].strip() != "---":
        return None, t
    rest = t[first_nl + 1 :]
    pos = 0
    while True:
        end = rest.find("\n", pos)
        line = rest[pos:] if end < 0 else rest[pos:end]
        if line.rstrip() in ("---", "..."):
            return rest[:pos], "" if end < 0 else rest[end + 1 :]
        if end < 0:
            return None, t
        pos = end + 1


def parse_card_text(text: str, path: str = "README.md") -> ModelCard:
    """Parse a model card's text; malformed or hostile front matter yields ``error`` (never an exception)."""
    fm, body = split_front_matter(text)
    card = ModelCard(path=path, body_chars=len(body))
    if fm is None:
        return card
    if len(fm.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
        card.error = f"front matter is larger than {MAX_FRONT_MATTER_BYTES} bytes"
        return card
    try:
        data = yaml.safe_load(fm)
        _count_nodes(data, [MAX_NODES])
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        card.error = f"front matter is not valid YAML: {str(exc).splitlines()[0][:200]}"
        return card
    if data is None:
        return card
    if not isinstance(data, dict):
        card.error = f"front matter is a YAML {type(data).__name__}, not a mapping"
        return card
    card.data = {str(k): _plain(v) for k, v in data.items()}
    return card


def _plain(v: object) -> object:
    """Dates and other YAML scalars become strings so the card is JSON-able."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)


def read_card(path: Path, rel: str = "README.md") -> ModelCard:
    """Read and parse a model card file (at most ``MAX_CARD_BYTES`` are read)."""
    with open(path, "rb") as f:
        raw = f.read(MAX_CARD_BYTES + 1)
    card = parse_card_text(raw[:MAX_CARD_BYTES].decode("utf-8", errors="replace"), rel)
    if len(raw) > MAX_CARD_BYTES and card.error is None and not card.data:
        card.error = f"model card is larger than {MAX_CARD_BYTES} bytes; only the start was read"
    return card
