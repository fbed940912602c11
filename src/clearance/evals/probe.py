"""Notice a reasoning model before the suites run: from its chat template and from its first answer.

A reasoning model given a suite's short ``max_tokens`` (16 tokens for a multiple-choice letter) is cut off
while still reasoning, and every answer would be incomplete. ``probe_reasoning`` asks one short question
with room to reason and reports whether reasoning came back (and in which form); ``template_reasoning``
reads the chat template shipped with the model (``tokenizer_config.json``, ``chat_template.jinja`` or the
GGUF's ``tokenizer.chat_template``) for reasoning tags and a thinking switch. Vet uses both to give each
suite a reasoning budget on top of its own answer length, and says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from clearance.endpoint.reasoning import split_answer
from clearance.endpoint.records import ChatRequest
from clearance.errors import ClearanceError

PROBE_PROMPT = "What is 17 + 25? Answer with the number only."
PROBE_MAX_TOKENS = 1024
DEFAULT_REASONING_BUDGET = 2048
_TEMPLATE_LIMIT = 1_000_000


class ReasoningProbe(BaseModel):
    """What the first answer and the chat template say about reasoning."""

    answer_reasoned: bool = False
    form: str | None = None
    answer_complete: bool = True
    template_reasoning: bool = False
    template_switch: bool = False
    note: str = ""

    @property
    def is_reasoning_model(self) -> bool:
        """True when the answer carried reasoning or the template writes reasoning tags."""
        return self.answer_reasoned or self.template_reasoning


def template_reasoning(model: str | Path) -> tuple[bool, bool]:
    """(writes reasoning tags, has an ``enable_thinking`` switch) for the model's chat template, if found."""
    text = _template_text(Path(model))
    if not text:
        return False, False
    low = text.lower()
    tags = any(t in low for t in ("<think>", "</think>", "<thinking>", "<|channel|>analysis", "[think]"))
    return tags, "enable_thinking" in low


def _template_text(p: Path) -> str | None:
    try:
        if p.is_file() and p.suffix.lower() == ".gguf":
            from clearance.model.gguf import read_gguf

            v = read_gguf(p).metadata.get("tokenizer.chat_template")
            return v if isinstance(v, str) else None
        if p.is_dir():
            jinja = p / "chat_template.jinja"
            if jinja.is_file() and jinja.stat().st_size <= _TEMPLATE_LIMIT:
                return jinja.read_text(encoding="utf-8", errors="replace")
            cfg = p / "tokenizer_config.json"
            if cfg.is_file() and cfg.stat().st_size <= 20 * _TEMPLATE_LIMIT:
                ct = json.loads(cfg.read_text(encoding="utf-8", errors="replace")).get("chat_template")
                if isinstance(ct, str):
                    return ct
                if isinstance(ct, list):
                    return "\n".join(str(i.get("template", "")) for i in ct if isinstance(i, dict))
    except (OSError, ValueError, ClearanceError, AttributeError):
        return None
    return None


async def probe_reasoning(
    client: object, *, model: str | Path | None = None, extra: dict[str, object] | None = None
) -> ReasoningProbe:
    """Ask one short question with room to reason; combine the answer's form with the template's hints."""
    tags, switch = template_reasoning(model) if model is not None else (False, False)
    req = ChatRequest(
        messages=[{"role": "user", "content": PROBE_PROMPT}],
        max_tokens=PROBE_MAX_TOKENS,
        temperature=0.0,
        extra=dict(extra or {}),
    )
    resp = await client.chat(req)  # type: ignore[attr-defined]
    ans = split_answer(resp.text, resp.reasoning, resp.finish_reason)
    reasoned = ans.reasoning is not None
    parts = []
    if reasoned:
        parts.append(f"the first answer carried reasoning ({ans.form})")
    if tags:
        parts.append(
            "the chat template writes reasoning tags" + (" (enable_thinking switch)" if switch else "")
        )
    if not ans.complete:
        parts.append(f"the probe answer was incomplete ({ans.incomplete})")
    return ReasoningProbe(
        answer_reasoned=reasoned,
        form=ans.form if reasoned else None,
        answer_complete=ans.complete,
        template_reasoning=tags,
        template_switch=switch,
        note="; ".join(parts) or "no reasoning in the first answer or the chat template",
    )


__all__ = [
    "DEFAULT_REASONING_BUDGET",
    "PROBE_PROMPT",
    "ReasoningProbe",
    "probe_reasoning",
    "template_reasoning",
]
