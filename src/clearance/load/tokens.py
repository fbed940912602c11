"""Exact prompt lengths in tokens: the server's own tokenizer, or a local ``tokenizer.json`` (offline).

Where the count comes from (:class:`Tokenizer` implementations):

- :class:`ServerTokenizer` — the serving engine's tokenize endpoint, tried in this order:
  vLLM and SGLang ``POST /tokenize {"model", "prompt", "add_special_tokens": false}`` → ``{"count",
  "tokens"}``; llama.cpp's server ``POST /tokenize {"content", "add_special": false}`` → ``{"tokens"}``;
  llama-cpp-python's ``POST /extras/tokenize {"input"}`` → ``{"tokens"}``. The first that answers is kept.
- :class:`LocalTokenizer` — a Hugging Face ``tokenizer.json`` through the ``tokenizers`` library (the
  optional ``tokens`` extra); nothing is downloaded.

:class:`PromptBuilder` makes unique prompts of exactly ``n`` content tokens: each filler word's token
count (with its leading space) is measured once, words are added until the sum reaches ``n``, and every
finished prompt is tokenized once more to confirm it (adjusted with one-token words when not). The chat
template adds a fixed number of tokens on the server; the warm-up request measures it from the server's
``usage.prompt_tokens`` (``template_overhead``), so a prompt can be aimed at exactly ``n`` tokens as the
server counts them, and every request's ``usage`` is checked against that aim.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any, Protocol

from clearance.errors import EndpointError, InputError

FILLER_WORDS = [
    "river", "mountain", "signal", "harbor", "copper", "lantern", "meadow", "orbit", "granite", "willow",
    "ember", "canyon", "falcon", "prairie", "quartz", "thunder", "velvet", "glacier", "compass", "horizon",
    "marble", "cedar", "beacon", "tundra", "saffron", "anchor", "meteor", "violet", "summit", "cobalt",
    "ripple", "sparrow", "delta", "lagoon", "basalt", "aurora", "juniper", "ocean", "pepper", "the",
    "and", "of", "to", "in", "is", "on", "at", "a",
]  # fmt: skip


class Tokenizer(Protocol):
    """Counts tokens of a text exactly as the served model's tokenizer does (no special tokens)."""

    source: str

    async def count(self, text: str) -> int: ...


class LocalTokenizer:
    """A ``tokenizer.json`` file read by the ``tokenizers`` library (offline)."""

    def __init__(self, path: str | Path) -> None:
        p = Path(path)
        if p.is_dir():
            p = p / "tokenizer.json"
        if not p.is_file():
            raise InputError(f"--tokenizer {path}: no tokenizer.json there")
        try:
            from tokenizers import Tokenizer as HFTokenizer
        except ImportError:
            raise InputError(
                "--tokenizer FILE needs the `tokenizers` library: pip install 'clearance[tokens]'"
            ) from None
        try:
            self._tok = HFTokenizer.from_file(str(p))
        except Exception as exc:  # the library raises its own Exception subclass on a bad file
            raise InputError(f"--tokenizer {p}: not a tokenizer.json ({str(exc)[:120]})") from None
        self.source = f"tokenizer.json ({p.name}, tokenizers library)"

    async def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)


class ServerTokenizer:
    """The serving engine's tokenize endpoint (vLLM, SGLang, llama.cpp, llama-cpp-python)."""

    DIALECTS: tuple[tuple[str, str], ...] = (
        ("/tokenize", "vllm"),  # also SGLang: same request and response fields
        ("/tokenize", "llama.cpp"),
        ("/extras/tokenize", "llama-cpp-python"),
    )

    def __init__(self, client: Any, model: str | None = None) -> None:
        self.client = client
        self.model = model
        self.dialect: tuple[str, str] | None = None
        self.source = "server tokenize endpoint"

    def _body(self, dialect: str, text: str) -> dict[str, object]:
        if dialect == "vllm":
            body: dict[str, object] = {"prompt": text, "add_special_tokens": False}
            if self.model:
                body["model"] = self.model
            return body
        if dialect == "llama.cpp":
            return {"content": text, "add_special": False}
        return {"input": text}

    @staticmethod
    def _parse(data: Any) -> int | None:
        if not isinstance(data, dict):
            return None
        count, tokens = data.get("count"), data.get("tokens")
        if isinstance(count, int) and count >= 0:
            return count
        if isinstance(tokens, list):
            return len(tokens)
        return None

    async def count(self, text: str) -> int:
        if self.dialect is not None:
            path, name = self.dialect
            n = self._parse(await self.client.post_json_at(path, self._body(name, text)))
            if n is None:
                raise EndpointError(f"{path}: the tokenize answer has no 'count' or 'tokens'")
            return n
        tried = []
        for path, name in self.DIALECTS:
            try:
                n = self._parse(await self.client.post_json_at(path, self._body(name, text)))
            except EndpointError as exc:
                tried.append(f"{path} ({name}): {str(exc)[:80]}")
                continue
            if n is not None and (n > 0 or not text):  # 0 tokens for a text: the field was ignored
                self.dialect = (path, name)
                self.source = f"server {path} ({name} dialect)"
                return n
            tried.append(f"{path} ({name}): no count in the answer")
        raise InputError(
            "the endpoint has no tokenize endpoint Clearance knows (tried "
            + "; ".join(tried)
            + "); give --tokenizer PATH/tokenizer.json for exact lengths"
        )


class PromptBuilder:
    """Unique prompts of an exact number of content tokens (see the module docstring)."""

    def __init__(self, tokenizer: Tokenizer, seed: int = 0) -> None:
        self.tok = tokenizer
        self.seed = seed
        self._word_tokens: dict[str, int] = {}
        self.verified = 0
        self.adjusted = 0

    async def _measure_words(self) -> None:
        if self._word_tokens:
            return
        counts = await asyncio.gather(*(self.tok.count(" " + w) for w in FILLER_WORDS))
        self._word_tokens = {w: c for w, c in zip(FILLER_WORDS, counts, strict=True) if c >= 1}
        if not any(c == 1 for c in self._word_tokens.values()):
            raise InputError(f"{self.tok.source}: no filler word is a single token; cannot hit exact lengths")

    async def build(self, index: int, n_tokens: int, *, prefix: str | None = None) -> tuple[str, int]:
        """A prompt of ``n_tokens`` content tokens (or the nearest reachable), and its exact count."""
        await self._measure_words()
        head = prefix if prefix is not None else f"Request {index}. Continue this list with more words:"
        have = await self.tok.count(head)
        rng = random.Random(self.seed * 1_000_003 + index)
        words = list(self._word_tokens)
        ones = [w for w, c in self._word_tokens.items() if c == 1]
        parts = [head]
        total = have
        while total < n_tokens:
            w = rng.choice(words) if n_tokens - total > 4 else rng.choice(ones)
            if total + self._word_tokens[w] > n_tokens:
                w = rng.choice(ones)
            parts.append(w)
            total += self._word_tokens[w]
        text = " ".join(parts)
        exact = await self.tok.count(text)
        for _ in range(8):  # merges across word boundaries are rare; fix them with one-token words
            if exact == n_tokens or len(parts) <= 1:
                break
            self.adjusted += 1
            if exact > n_tokens:
                parts.pop()
            else:
                parts.append(rng.choice(ones))
            text = " ".join(parts)
            exact = await self.tok.count(text)
        self.verified += 1
        return text, exact


def make_tokenizer(spec: str | None, client: Any, model: str | None = None) -> Tokenizer | None:
    """``None`` (no tokenizer: word counts), ``"server"`` or a path to a ``tokenizer.json``/its folder."""
    if spec is None:
        return None
    if spec == "server":
        return ServerTokenizer(client, model)
    return LocalTokenizer(spec)


__all__ = ["LocalTokenizer", "PromptBuilder", "ServerTokenizer", "Tokenizer", "make_tokenizer"]
