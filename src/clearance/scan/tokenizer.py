"""Scan check: tokenizer configs that add unexpected special tokens or remap chat roles (``TOKENIZER-*``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from clearance.errors import FormatError
from clearance.findings import Finding, Severity
from clearance.model.artifact import read_json_bounded
from clearance.model.layout import LayoutFile, layout_for_listing
from clearance.scan.checks import ScanContext, check

MAX_TOKENIZER_JSON = 64 << 20
_ROLES = {"system", "user", "assistant", "tool", "developer", "model", "human", "bot", "ipython", "function"}
_CONTROL = re.compile(r"[<>\[\]|｜▁]")


def _content(tok: object) -> str | None:
    if isinstance(tok, str):
        return tok
    if isinstance(tok, dict) and isinstance(tok.get("content"), str):
        return str(tok["content"])
    return None


def _special_tokens(f: LayoutFile) -> tuple[dict[str, str], dict[str, str]]:
    """``(named, added)``: named slots (bos/eos/...) → content and special added-token id → content."""
    limit = MAX_TOKENIZER_JSON if f.rel.endswith("tokenizer.json") else 16 << 20
    try:
        data = read_json_bounded(f.real, limit=limit, rel=f.rel)
    except FormatError:
        return {}, {}
    if not isinstance(data, dict):
        return {}, {}
    named: dict[str, str] = {}
    for key in ("bos_token", "eos_token", "pad_token", "unk_token", "sep_token", "cls_token", "mask_token"):
        c = _content(data.get(key))
        if c is not None:
            named[key] = c
    added: dict[str, str] = {}
    dec = data.get("added_tokens_decoder")
    if isinstance(dec, dict):
        for tid, tok in list(dec.items())[:200_000]:
            if isinstance(tok, dict) and tok.get("special") and (c := _content(tok)) is not None:
                added[str(tid)] = c
    lst = data.get("added_tokens")
    if isinstance(lst, list):
        for tok in lst[:200_000]:
            if isinstance(tok, dict) and tok.get("special") and (c := _content(tok)) is not None:
                added[str(tok.get("id"))] = c
    extra = data.get("additional_special_tokens")
    if isinstance(extra, list):
        for i, tok in enumerate(extra[:200_000]):
            if (c := _content(tok)) is not None:
                added.setdefault(f"additional[{i}]", c)
    return named, added


def _looks_like_text(c: str) -> bool:
    s = c.strip()
    return bool(s) and len(s) > 1 and not _CONTROL.search(s) and bool(re.search(r"[A-Za-z]{2,}", s))


@check(
    "TOKENIZER", "special tokens that look like ordinary text, role names used as control tokens, conflicts"
)
def check_tokenizer(ctx: ScanContext) -> Iterator[Finding]:
    """Findings ``TOKENIZER-SPECIAL-TOKENS``, ``TOKENIZER-ROLE-REMAP`` and ``TOKENIZER-CONFLICT``."""
    lay = layout_for_listing(ctx.root, ctx.files, ctx.symlinks)
    by_file: dict[str, dict[str, str]] = {}
    for f in lay.files:
        name = f.rel.rsplit("/", 1)[-1]
        if name not in ("tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"):
            continue
        named, added = _special_tokens(f)
        by_file[f.rel] = added
        odd = sorted({c for c in added.values() if _looks_like_text(c)})
        roles = sorted({c for c in (*added.values(), *named.values()) if c.strip().lower() in _ROLES})
        if roles:
            yield Finding(
                file=f.rel,
                rule="TOKENIZER-ROLE-REMAP",
                severity=Severity.high,
                message=f"chat role names are special/control tokens: {', '.join(map(repr, roles))}",
                details={"tokens": roles},
            )
        odd = [c for c in odd if c not in roles]
        if odd:
            yield Finding(
                file=f.rel,
                rule="TOKENIZER-SPECIAL-TOKENS",
                severity=Severity.medium,
                message=f"{len(odd)} special token(s) look like ordinary text: "
                + ", ".join(repr(c[:40]) for c in odd[:8]),
                details={"tokens": odd[:100]},
            )
        plain_named = {k: v for k, v in named.items() if _looks_like_text(v)}
        if plain_named:
            yield Finding(
                file=f.rel,
                rule="TOKENIZER-SPECIAL-TOKENS",
                severity=Severity.medium,
                message="control tokens set to ordinary text: "
                + ", ".join(f"{k}={v[:40]!r}" for k, v in plain_named.items()),
                details=dict(plain_named),
            )
    ids: dict[str, tuple[str, str]] = {}
    for rel, added in sorted(by_file.items()):
        for tid, c in added.items():
            if tid.startswith("additional["):
                continue
            if tid in ids and ids[tid][1] != c:
                yield Finding(
                    file=rel,
                    rule="TOKENIZER-CONFLICT",
                    severity=Severity.medium,
                    message=f"token id {tid} is {c!r} here but {ids[tid][1]!r} in {ids[tid][0]}",
                    details={"id": tid},
                )
            ids.setdefault(tid, (rel, c))
