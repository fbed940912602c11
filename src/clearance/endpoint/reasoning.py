"""Reasoning separated from the final answer, in every form OpenAI-compatible engines produce it.

How engines deliver a reasoning model's thoughts (checked against the engines' own parsers):

- **A separate field.** vLLM and SGLang with ``--reasoning-parser`` put them in ``message.reasoning``
  (vLLM since late 2025) or ``message.reasoning_content`` (DeepSeek's original name, older vLLM, SGLang,
  llama.cpp with ``--reasoning-format deepseek``); streamed, in ``delta.reasoning`` /
  ``delta.reasoning_content``. When the reasoning is cut off by ``max_tokens`` these parsers return
  everything as reasoning and ``content`` null: there is no final answer.
- **Tags in the content.** Without a parser (llama.cpp ``--reasoning-format none``, TGI, Ollama's raw
  mode, older vLLM Qwen3 parsers that leave untagged output alone) the text holds ``<think>…</think>``
  or a variant (``<thinking>``, ``<reasoning>``, ``<thought>``, ``<seed:think>``, ``◁think▷``,
  ``[THINK]…[/THINK]``, gpt-oss harmony channels).
- **A closing tag only.** Templates of Qwen3-2507 thinking models, Qwen3.5 and DeepSeek-R1 pre-fill the
  opening tag in the prompt, so the output starts inside the reasoning and only ``</think>`` appears.
- **An opening tag never closed**: cut off while reasoning (or a model that never stops thinking).

``split_answer`` turns one response into an :class:`Answer`: the final answer (what scorers judge),
the reasoning (kept as evidence), the form it came in, and whether it is *incomplete* — cut off before
the reasoning closed, no final answer at all, or empty. An incomplete answer is never a refusal, never
correct and never unbiased; evaluation counts it on its own.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

ReasoningForm = Literal["none", "field", "tags", "closing_tag", "unclosed", "harmony"]

# (opening, closing) pairs; names are matched case-insensitively, attributes on the opening tag allowed.
_TAG_NAMES = ("think", "thinking", "reasoning", "thought", "seed:think")
_OPEN = re.compile(r"<(" + "|".join(re.escape(n) for n in _TAG_NAMES) + r")(?:\s[^>]*)?>", re.I)
_CLOSE = re.compile(r"</(" + "|".join(re.escape(n) for n in _TAG_NAMES) + r")\s*>", re.I)
# Kimi's ◁think▷…◁/think▷ and Mistral Magistral's [THINK]…[/THINK]
_ALT = [
    (re.compile(r"◁think▷"), re.compile(r"◁/think▷")),
    (re.compile(r"\[THINK\]"), re.compile(r"\[/THINK\]")),
]
# gpt-oss harmony, when an engine returns the raw channels: analysis (reasoning) then final (answer).
_HARMONY_FINAL = re.compile(r"<\|channel\|>\s*final\s*<\|message\|>", re.I)
_HARMONY_ANY = re.compile(r"<\|channel\|>\s*(analysis|commentary)\s*<\|message\|>", re.I)
_HARMONY_TOKENS = re.compile(r"<\|(start|end|return|call|message|channel)\|>|^assistant", re.I | re.M)


class Answer(BaseModel):
    """One response split into final answer and reasoning; ``incomplete`` names why there is no answer."""

    final: str
    reasoning: str | None = None
    form: ReasoningForm = "none"
    incomplete: str | None = None

    @property
    def complete(self) -> bool:
        """True when there is a final answer to judge."""
        return self.incomplete is None


def _join(*parts: str | None) -> str | None:
    text = "\n".join(p.strip() for p in parts if p and p.strip())
    return text or None


def _cut_reason(finish_reason: str | None, what: str) -> str:
    if finish_reason == "length":
        return f"cut off by max_tokens {what}"
    return f"ended {what}"


def _split_tags(text: str) -> tuple[str, str | None, ReasoningForm, bool]:
    """(final, reasoning, form, unclosed) for reasoning written into the content itself."""
    m = _HARMONY_FINAL.search(text)
    if m or _HARMONY_ANY.search(text):
        if m is None:
            return "", _HARMONY_TOKENS.sub(" ", text).strip(), "harmony", True
        reasoning = _HARMONY_TOKENS.sub(" ", text[: m.start()]).strip()
        final = _HARMONY_TOKENS.sub("", text[m.end() :]).strip()
        return final, reasoning or None, "harmony", False
    for open_re, close_re in [(_OPEN, _CLOSE), *_ALT]:
        o = open_re.search(text)
        c = close_re.search(text)
        if c is not None and (o is None or o.start() > c.start()):
            # Closing tag first: the template pre-filled the opening one. Everything before it is reasoning.
            reasoning = text[: c.start()]
            rest = text[c.end() :]
            final, more, _, unclosed = _split_tags(rest)
            return final, _join(reasoning, more), "closing_tag", unclosed
        if o is not None:
            before = text[: o.start()]
            after_open = text[o.end() :]
            c2 = close_re.search(after_open)
            if c2 is None:
                return before.strip(), _join(after_open), "unclosed", True
            reasoning = after_open[: c2.start()]
            final, more, _, unclosed = _split_tags(before + after_open[c2.end() :])
            return final, _join(reasoning, more), "tags", unclosed
    return text.strip(), None, "none", False


def split_answer(
    content: str | None,
    reasoning_field: str | None = None,
    finish_reason: str | None = None,
) -> Answer:
    """Split one chat response into final answer and reasoning; mark it incomplete when there is no answer.

    ``content`` is ``message.content`` (or the joined content deltas), ``reasoning_field`` the
    ``reasoning`` / ``reasoning_content`` field (or its joined deltas), ``finish_reason`` the engine's.
    """
    text = content or ""
    final, tagged, form, unclosed = _split_tags(text)
    field = reasoning_field if reasoning_field and reasoning_field.strip() else None
    if field is not None and form == "none":
        form = "field"
    reasoning = _join(field, tagged)
    incomplete: str | None = None
    if unclosed:
        incomplete = _cut_reason(finish_reason, "before the reasoning closed")
    elif not final.strip():
        if reasoning is not None:
            incomplete = _cut_reason(finish_reason, "while reasoning, with no final answer")
        else:
            incomplete = "empty answer"
    return Answer(final=final, reasoning=reasoning, form=form, incomplete=incomplete)


def strip_reasoning(text: str) -> str:
    """The final answer of ``text`` alone (reasoning in any tag form removed; unclosed reasoning → '')."""
    return split_answer(text).final


__all__ = ["Answer", "ReasoningForm", "split_answer", "strip_reasoning"]
