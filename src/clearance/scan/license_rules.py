"""Scan check: license terms from the card, LICENSE texts and GGUF metadata as ``LICENSE-*`` findings."""

from __future__ import annotations

from collections.abc import Iterator

from clearance.errors import FormatError
from clearance.findings import Finding
from clearance.model.artifact import MAX_LICENSE_BYTES, classify, read_text_bounded
from clearance.model.card import read_card
from clearance.model.layout import layout_for_listing
from clearance.model.license import detect_license
from clearance.scan.checks import ScanContext, check

_MODEL_ROLES = {"config", "weights-safetensors", "weights-index", "weights-gguf", "weights-pickle", "card"}


@check(
    "LICENSE",
    "license missing, unknown, conflicting or restrictive (non-commercial, MAU threshold, regions...)",
)
def check_license(ctx: ScanContext) -> Iterator[Finding]:
    """One finding per restrictive clause; only for model directories and GGUF files."""
    lay = layout_for_listing(ctx.root, ctx.files, ctx.symlinks)
    roles = {f.rel: classify(f.rel) for f in lay.files}
    if not set(roles.values()) & _MODEL_ROLES:
        return
    if len(lay.files) == 1 and roles[lay.files[0].rel] != "weights-gguf":
        return  # a single weights file carries no license information
    card_data: dict[str, object] | None = None
    card_path = "README.md"
    texts: dict[str, str] = {}
    gguf_lic: str | None = None
    gguf_rel = "model.gguf"
    for f in lay.files:
        role = roles[f.rel]
        if "/" in f.rel:
            continue
        if role == "card" and card_data is None:
            card = read_card(f.real, f.rel)
            card_data, card_path = card.data, f.rel
        elif role == "license":
            texts[f.rel] = read_text_bounded(f.real, MAX_LICENSE_BYTES)
        elif role == "weights-gguf" and gguf_lic is None:
            try:
                from clearance.model.gguf import read_gguf

                v = read_gguf(f.real).metadata.get("general.license")
            except (FormatError, ImportError):
                continue
            if isinstance(v, str):
                gguf_lic, gguf_rel = v, f.rel
    info = detect_license(card_data, texts, gguf_lic, card_path=card_path, gguf_path=gguf_rel.split(":")[0])
    for c in info.clauses:
        yield Finding(
            file=c.source.split(":general.license")[0],
            rule=c.rule,
            severity=c.severity,
            message=c.message,
            details={"license": info.id, "spdx": info.spdx},
        )
