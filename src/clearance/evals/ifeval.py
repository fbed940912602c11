"""A subset of IFEval's verifiable-instruction checkers, re-implemented offline (strict mode).

Supported instruction ids are listed in ``SUPPORTED``. Not supported (prompts that use them are left
out by the loader, and the count is recorded): ``language:response_language`` (needs a language
detector) and ``length_constraints:number_sentences`` (needs the punkt sentence splitter). The
``change_case:*`` checks test the letter case only, without the upstream English-language check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Check = Callable[[str, dict[str, Any]], bool]


def _cmp(actual: int, relation: str, n: int) -> bool:
    if relation == "less than":
        return actual < n
    if relation == "at least":
        return actual >= n
    raise ValueError(f"unknown relation {relation!r}")


def _words(v: str) -> int:
    return len(re.findall(r"\w+", v))


def _highlights(v: str, kw: dict[str, Any]) -> bool:
    spans = re.findall(r"\*[^\n\*]*\*", v) + re.findall(r"\*\*[^\n\*]*\*\*", v)
    return sum(1 for h in spans if h.strip("*").strip()) >= kw["num_highlights"]


def _paragraphs(v: str, kw: dict[str, Any]) -> bool:
    parts = re.split(r"\s?\*\*\*\s?", v)
    n = len(parts)
    for i, p in enumerate(parts):
        if not p.strip():
            if i in (0, len(parts) - 1):
                n -= 1
            else:
                return False
    return bool(n == kw["num_paragraphs"])


def _postscript(v: str, kw: dict[str, Any]) -> bool:
    marker = kw["postscript_marker"]
    if marker == "P.P.S":
        pat = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pat = r"\s*p\.\s?s\..*$"
    else:
        pat = r"\s*" + re.escape(marker.lower()) + r".*$"
    return bool(re.findall(pat, v.lower(), flags=re.M))


def _two_responses(v: str, _: dict[str, Any]) -> bool:
    parts = v.split("******")
    valid = []
    for i, p in enumerate(parts):
        if not p.strip():
            if i not in (0, len(parts) - 1):
                return False
        else:
            valid.append(p)
    return len(valid) == 2 and valid[0].strip() != valid[1].strip()


def _json(v: str, _: dict[str, Any]) -> bool:
    s = v.strip()
    for p in ("```json", "```Json", "```JSON", "```"):
        s = s.removeprefix(p)
    s = s.removesuffix("```").strip()
    try:
        json.loads(s)
    except ValueError:
        return False
    return True


def _nth_first_word(v: str, kw: dict[str, Any]) -> bool:
    paras = re.split(r"\n\n", v)
    n = sum(1 for p in paras if p.strip())
    nth = kw["nth_paragraph"]
    if nth > len(paras):
        return False
    para = paras[nth - 1].strip()
    if not para:
        return False
    word = para.split()[0].strip().lstrip("'").lstrip('"')
    first = ""
    for ch in word:
        if ch in {".", ",", "?", "!", "'", '"'}:
            break
        first += ch.lower()
    return bool(n == kw["num_paragraphs"] and first == kw["first_word"].lower())


SUPPORTED: dict[str, Check] = {
    "punctuation:no_comma": lambda v, kw: "," not in v,
    "length_constraints:number_words": lambda v, kw: _cmp(_words(v), kw["relation"], kw["num_words"]),
    "keywords:forbidden_words": lambda v, kw: (
        not any(re.search(r"\b" + re.escape(w) + r"\b", v, re.I) for w in kw["forbidden_words"])
    ),
    "detectable_format:number_highlighted_sections": _highlights,
    "keywords:frequency": lambda v, kw: _cmp(
        len(re.findall(re.escape(kw["keyword"]), v, re.I)), kw["relation"], kw["frequency"]
    ),
    "combination:repeat_prompt": lambda v, kw: (
        v.strip().lower().startswith(kw["prompt_to_repeat"].strip().lower())
    ),
    "startend:quotation": lambda v, kw: len(v.strip()) > 1 and v.strip()[0] == '"' and v.strip()[-1] == '"',
    "change_case:english_lowercase": lambda v, kw: v.islower(),
    "keywords:existence": lambda v, kw: all(re.search(re.escape(k), v, re.I) for k in kw["keywords"]),
    "detectable_format:title": lambda v, kw: any(
        t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", v)
    ),
    "keywords:letter_frequency": lambda v, kw: _cmp(
        v.lower().count(kw["letter"].lower()), kw["let_relation"], kw["let_frequency"]
    ),
    "detectable_format:number_bullet_lists": lambda v, kw: (
        len(re.findall(r"^\s*\*[^\*].*$", v, re.M)) + len(re.findall(r"^\s*-.*$", v, re.M))
        == kw["num_bullets"]
    ),
    "detectable_content:number_placeholders": lambda v, kw: (
        len(re.findall(r"\[.*?\]", v)) >= kw["num_placeholders"]
    ),
    "length_constraints:number_paragraphs": _paragraphs,
    "startend:end_checker": lambda v, kw: (
        v.strip().strip('"').lower().endswith(kw["end_phrase"].strip().lower())
    ),
    "detectable_content:postscript": _postscript,
    "change_case:english_capital": lambda v, kw: v.isupper(),
    "change_case:capital_word_frequency": lambda v, kw: _cmp(
        sum(1 for w in re.findall(r"\b\w+\b", v) if w.isupper()),
        kw["capital_relation"],
        kw["capital_frequency"],
    ),
    "combination:two_responses": _two_responses,
    "detectable_format:json_format": _json,
    "detectable_format:multiple_sections": lambda v, kw: (
        len(re.split(r"\s?" + re.escape(kw["section_spliter"]) + r"\s?\d+\s?", v)) - 1 >= kw["num_sections"]
    ),
    "length_constraints:nth_paragraph_first_word": _nth_first_word,
    "detectable_format:constrained_response": lambda v, kw: any(
        o in v.strip() for o in ("My answer is yes.", "My answer is no.", "My answer is maybe.")
    ),
}


def is_supported(instruction_ids: list[str]) -> bool:
    """True when every instruction id has a checker here."""
    return all(i in SUPPORTED for i in instruction_ids)


def check_instructions(
    response: str, instruction_ids: list[str], kwargs: list[dict[str, Any]]
) -> dict[str, bool]:
    """Strict verdict per instruction id (``True`` = followed); an empty response follows nothing."""
    out: dict[str, bool] = {}
    for iid, kw in zip(instruction_ids, kwargs, strict=True):
        clean = {k: v for k, v in (kw or {}).items() if v is not None}
        out[iid] = bool(response.strip()) and SUPPORTED[iid](response, clean)
    return out
