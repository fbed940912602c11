"""License detection: model-card front matter, LICENSE text fingerprints and GGUF ``general.license``.

Restrictive terms become clauses with stable rule ids (``LICENSE-NONCOMMERCIAL``, ``LICENSE-MAU-THRESHOLD``,
``LICENSE-REGION-EXCLUSION``, ``LICENSE-OUTPUT-USE``, ``LICENSE-AUP``, ...) that scans turn into findings
and policies gate on. The facts here are a reviewer's aid, not legal advice: MAU thresholds are measured at
the licensee level and need the enterprise's own attestation.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

from clearance.findings import Severity

MAX_LICENSE_TEXT = 1 << 20


@dataclass(frozen=True)
class _Known:
    spdx: str
    title: str
    commercial: bool | None
    clauses: tuple[str, ...] = ()
    mau: int | None = None


_M = 1_000_000
KNOWN: dict[str, _Known] = {
    "apache-2.0": _Known("Apache-2.0", "Apache License 2.0", True),
    "mit": _Known("MIT", "MIT License", True),
    "bsd-3-clause": _Known("BSD-3-Clause", "BSD 3-Clause", True),
    "bsd-2-clause": _Known("BSD-2-Clause", "BSD 2-Clause", True),
    "cc-by-4.0": _Known("CC-BY-4.0", "Creative Commons Attribution 4.0", True, ("LICENSE-ATTRIBUTION",)),
    "cc-by-sa-4.0": _Known("CC-BY-SA-4.0", "CC BY-SA 4.0", True, ("LICENSE-COPYLEFT",)),
    "cc-by-nc-4.0": _Known("CC-BY-NC-4.0", "CC BY-NC 4.0", False, ("LICENSE-NONCOMMERCIAL",)),
    "cc-by-nc-sa-4.0": _Known("CC-BY-NC-SA-4.0", "CC BY-NC-SA 4.0", False, ("LICENSE-NONCOMMERCIAL",)),
    "cc-by-nc-nd-4.0": _Known("CC-BY-NC-ND-4.0", "CC BY-NC-ND 4.0", False, ("LICENSE-NONCOMMERCIAL",)),
    "gpl-3.0": _Known("GPL-3.0-only", "GNU GPL v3", True, ("LICENSE-COPYLEFT",)),
    "agpl-3.0": _Known("AGPL-3.0-only", "GNU AGPL v3", True, ("LICENSE-COPYLEFT",)),
    "openrail": _Known("LicenseRef-OpenRAIL", "OpenRAIL", True, ("LICENSE-AUP",)),
    "openrail++": _Known("LicenseRef-OpenRAIL-plus", "OpenRAIL++-M", True, ("LICENSE-AUP",)),
    "creativeml-openrail-m": _Known(
        "LicenseRef-CreativeML-OpenRAIL-M", "CreativeML OpenRAIL-M", True, ("LICENSE-AUP",)
    ),
    "bigscience-openrail-m": _Known(
        "LicenseRef-BigScience-OpenRAIL-M", "BigScience OpenRAIL-M", True, ("LICENSE-AUP",)
    ),
    "bigscience-bloom-rail-1.0": _Known(
        "LicenseRef-BigScience-BLOOM-RAIL-1.0", "BLOOM RAIL 1.0", True, ("LICENSE-AUP",)
    ),
    "llama2": _Known(
        "LicenseRef-llama2",
        "Llama 2 Community License",
        True,
        ("LICENSE-MAU-THRESHOLD", "LICENSE-AUP", "LICENSE-OUTPUT-USE"),
        700 * _M,
    ),
    "llama3": _Known(
        "LicenseRef-llama3",
        "Meta Llama 3 Community License",
        True,
        ("LICENSE-MAU-THRESHOLD", "LICENSE-AUP", "LICENSE-ATTRIBUTION"),
        700 * _M,
    ),
    "llama3.1": _Known(
        "LicenseRef-llama3.1",
        "Llama 3.1 Community License",
        True,
        ("LICENSE-MAU-THRESHOLD", "LICENSE-AUP", "LICENSE-ATTRIBUTION"),
        700 * _M,
    ),
    "llama3.2": _Known(
        "LicenseRef-llama3.2",
        "Llama 3.2 Community License",
        True,
        ("LICENSE-MAU-THRESHOLD", "LICENSE-AUP", "LICENSE-ATTRIBUTION", "LICENSE-REGION-EXCLUSION"),
        700 * _M,
    ),
    "llama3.3": _Known(
        "LicenseRef-llama3.3",
        "Llama 3.3 Community License",
        True,
        ("LICENSE-MAU-THRESHOLD", "LICENSE-AUP", "LICENSE-ATTRIBUTION"),
        700 * _M,
    ),
    "llama4": _Known(
        "LicenseRef-llama4",
        "Llama 4 Community License",
        True,
        ("LICENSE-MAU-THRESHOLD", "LICENSE-AUP", "LICENSE-ATTRIBUTION", "LICENSE-REGION-EXCLUSION"),
        700 * _M,
    ),
    "gemma": _Known(
        "LicenseRef-Gemma",
        "Gemma Terms of Use",
        True,
        ("LICENSE-AUP", "LICENSE-REMOTE-RESTRICTION", "LICENSE-OUTPUT-USE"),
    ),
    "qwen": _Known(
        "LicenseRef-Qwen",
        "Qwen License Agreement",
        True,
        ("LICENSE-MAU-THRESHOLD", "LICENSE-ATTRIBUTION", "LICENSE-OUTPUT-USE"),
        100 * _M,
    ),
    "qwen-research": _Known(
        "LicenseRef-Qwen-Research", "Qwen Research License Agreement", False, ("LICENSE-NONCOMMERCIAL",)
    ),
    "tongyi-qianwen": _Known(
        "LicenseRef-Tongyi-Qianwen",
        "Tongyi Qianwen License Agreement",
        True,
        ("LICENSE-MAU-THRESHOLD", "LICENSE-OUTPUT-USE"),
        100 * _M,
    ),
    "tongyi-qianwen-research": _Known(
        "LicenseRef-Tongyi-Qianwen-Research",
        "Tongyi Qianwen Research License",
        False,
        ("LICENSE-NONCOMMERCIAL",),
    ),
    "deepseek": _Known("LicenseRef-DeepSeek", "DeepSeek License Agreement", True, ("LICENSE-AUP",)),
}
_SPDX_TO_ID = {k.spdx.lower(): name for name, k in KNOWN.items()}
_SPDX_TO_ID.update(
    {"gpl-3.0-or-later": "gpl-3.0", "agpl-3.0-or-later": "agpl-3.0", "apache 2.0": "apache-2.0"}
)

# Title fingerprints of LICENSE texts (normalised: lower case, single spaces). Order matters: research first.
_TITLES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"tongyi qianwen research license agreement"), "tongyi-qianwen-research"),
    (re.compile(r"tongyi qianwen license agreement"), "tongyi-qianwen"),
    (re.compile(r"qwen research license agreement"), "qwen-research"),
    (re.compile(r"qwen license agreement"), "qwen"),
    (re.compile(r"llama 4 community license agreement"), "llama4"),
    (re.compile(r"llama 3\.3 community license agreement"), "llama3.3"),
    (re.compile(r"llama 3\.2 community license agreement"), "llama3.2"),
    (re.compile(r"llama 3\.1 community license agreement"), "llama3.1"),
    (re.compile(r"meta llama 3 community license agreement"), "llama3"),
    (re.compile(r"llama 2 community license agreement"), "llama2"),
    (re.compile(r"gemma terms of use"), "gemma"),
    (re.compile(r"deepseek license agreement"), "deepseek"),
    (re.compile(r"attribution-noncommercial-sharealike 4\.0"), "cc-by-nc-sa-4.0"),
    (re.compile(r"attribution-noncommercial 4\.0"), "cc-by-nc-4.0"),
    (re.compile(r"creativeml open rail-m"), "creativeml-openrail-m"),
    (re.compile(r"bigscience open rail-m"), "bigscience-openrail-m"),
    (re.compile(r"apache license,? version 2\.0"), "apache-2.0"),
    (re.compile(r"gnu affero general public license\s+version 3"), "agpl-3.0"),
    (re.compile(r"gnu general public license\s+version 3"), "gpl-3.0"),
    (re.compile(r"permission is hereby granted, free of charge"), "mit"),
]

# Key phrases that reveal restrictive clauses in any license text.
_PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(\d[\d,\.]*)\s*(million|billion)\s+monthly active users"), "LICENSE-MAU-THRESHOLD"),
    (
        re.compile(r"principal place of business in,? the european union|domiciled in,? the european union"),
        "LICENSE-REGION-EXCLUSION",
    ),
    (
        re.compile(r"non-?commercial (use|purposes)|research purposes only|not for commercial use"),
        "LICENSE-NONCOMMERCIAL",
    ),
    (
        re.compile(r"improve any other large language model|to train, fine-?tune or otherwise improve"),
        "LICENSE-OUTPUT-USE",
    ),
    (re.compile(r"acceptable use policy|prohibited use policy|use restrictions"), "LICENSE-AUP"),
    (re.compile(r"restrict \(remotely or otherwise\)"), "LICENSE-REMOTE-RESTRICTION"),
    (re.compile(r"built with (llama|qwen)|improved using qwen"), "LICENSE-ATTRIBUTION"),
]

CLAUSE_INFO: dict[str, tuple[Severity, str]] = {
    "LICENSE-MISSING": (
        Severity.medium,
        "no license found in the model card, LICENSE files or GGUF metadata",
    ),
    "LICENSE-UNKNOWN": (Severity.medium, "license is not one Clearance recognises; a person must read it"),
    "LICENSE-CONFLICT": (Severity.medium, "license sources disagree (card vs LICENSE text vs GGUF metadata)"),
    "LICENSE-NONCOMMERCIAL": (Severity.high, "non-commercial / research-only terms"),
    "LICENSE-MAU-THRESHOLD": (
        Severity.medium,
        "a monthly-active-user threshold above which a separate license is required",
    ),
    "LICENSE-REGION-EXCLUSION": (
        Severity.high,
        "rights withheld from some regions (e.g. EU-domiciled companies)",
    ),
    "LICENSE-OUTPUT-USE": (
        Severity.medium,
        "restrictions on using the model's outputs (e.g. to improve other models)",
    ),
    "LICENSE-AUP": (Severity.low, "an acceptable-use policy is incorporated into the license"),
    "LICENSE-REMOTE-RESTRICTION": (
        Severity.medium,
        "the licensor reserves the right to restrict usage remotely",
    ),
    "LICENSE-ATTRIBUTION": (Severity.info, "attribution / display requirements (e.g. 'Built with ...')"),
    "LICENSE-COPYLEFT": (Severity.low, "copyleft terms apply to redistribution"),
    "LICENSE-INHERITED": (Severity.low, "derived from a base model whose license terms also apply"),
}


class LicenseClause(BaseModel):
    """One restrictive term found, with the rule id policies gate on and where it was seen."""

    rule: str
    severity: Severity
    message: str
    source: str


class LicenseInfo(BaseModel):
    """What the license of a model is, where that was read, and its restrictive clauses."""

    id: str | None = None
    spdx: str | None = None
    name: str | None = None
    link: str | None = None
    commercial_use: bool | None = None
    mau_threshold: int | None = None
    sources: dict[str, str] = Field(default_factory=dict)
    text_file: str | None = None
    text_sha256: str | None = None
    clauses: list[LicenseClause] = Field(default_factory=list)
    base_models: list[str] = Field(default_factory=list)

    def rules(self) -> list[str]:
        """Sorted rule ids of the clauses."""
        return sorted({c.rule for c in self.clauses})

    def policy_facts(self) -> dict[str, object]:
        """Flat facts for policy gates (``license.*``)."""
        return {
            "license.id": self.id or "unknown",
            "license.spdx": self.spdx or "NOASSERTION",
            "license.known": self.id in KNOWN,
            "license.commercial_use": self.commercial_use,
            "license.mau_threshold": self.mau_threshold,
            "license.restrictions": self.rules(),
            "license.conflict": "LICENSE-CONFLICT" in self.rules(),
            "license.missing": "LICENSE-MISSING" in self.rules(),
        }


def normalise_id(value: str) -> str:
    """A Hub license id from a card value, SPDX id or GGUF ``general.license`` (lower case)."""
    v = value.strip().lower()
    return _SPDX_TO_ID.get(v, v)


def normalise_text(text: str) -> str:
    """Lower case, collapsed whitespace: the form fingerprints match on."""
    return re.sub(r"\s+", " ", text.lower()).strip()


def fingerprint_text(text: str) -> str | None:
    """The license id whose title appears in the first part of ``text``, or ``None``."""
    head = normalise_text(text[:6000])
    for pat, lid in _TITLES:
        if pat.search(head):
            return lid
    return None


def _phrase_clauses(text: str, source: str) -> tuple[list[LicenseClause], int | None]:
    norm = normalise_text(text[:MAX_LICENSE_TEXT])
    clauses: list[LicenseClause] = []
    mau: int | None = None
    for pat, rule in _PHRASES:
        m = pat.search(norm)
        if not m:
            continue
        sev, msg = CLAUSE_INFO[rule]
        if rule == "LICENSE-MAU-THRESHOLD":
            try:
                mau = int(float(m.group(1).replace(",", "")) * (1e9 if m.group(2) == "billion" else 1e6))
            except ValueError:
                mau = None
        excerpt = norm[max(0, m.start() - 60) : m.end() + 60]
        clauses.append(LicenseClause(rule=rule, severity=sev, message=f"{msg}: “…{excerpt}…”", source=source))
    return clauses, mau


def detect_license(
    card_data: dict[str, object] | None,
    texts: dict[str, str] | None = None,
    gguf_license: str | None = None,
    *,
    card_path: str = "README.md",
    gguf_path: str = "model.gguf",
) -> LicenseInfo:
    """Combine the card's ``license``/``license_name``/``license_link``, LICENSE texts and GGUF metadata."""
    info = LicenseInfo()
    card = card_data or {}
    ids: dict[str, str] = {}
    lic = card.get("license")
    if isinstance(lic, str) and lic.strip():
        lid = normalise_id(lic)
        if lid == "other":
            lname = card.get("license_name")
            lid = normalise_id(lname) if isinstance(lname, str) and lname.strip() else "other"
        ids[card_path] = lid
    if isinstance(card.get("license_name"), str):
        info.name = str(card["license_name"])
    if isinstance(card.get("license_link"), str):
        info.link = str(card["license_link"])
    bm = card.get("base_model")
    info.base_models = (
        [bm] if isinstance(bm, str) else [b for b in bm if isinstance(b, str)] if isinstance(bm, list) else []
    )
    if gguf_license and gguf_license.strip():
        ids[f"{gguf_path}:general.license"] = normalise_id(gguf_license)
    clauses: list[LicenseClause] = []
    for rel, text in sorted((texts or {}).items()):
        fp = fingerprint_text(text)
        if fp is not None:
            ids[rel] = fp
            if info.text_file is None:
                info.text_file = rel
                info.text_sha256 = hashlib.sha256(normalise_text(text).encode()).hexdigest()
        found, mau = _phrase_clauses(text, rel)
        clauses.extend(found)
        if mau is not None:
            info.mau_threshold = mau
    info.sources = dict(ids)
    distinct = {v for v in ids.values() if v not in ("other", "unknown")}
    # Precedence: LICENSE text fingerprint, then card, then GGUF.
    chosen = (
        (ids.get(info.text_file) if info.text_file else None)
        or ids.get(card_path)
        or next((v for k, v in ids.items() if k.endswith("general.license")), None)
    )
    info.id = chosen
    known = KNOWN.get(chosen or "")
    if known is not None:
        info.spdx = known.spdx
        info.name = info.name or known.title
        info.commercial_use = known.commercial
        if info.mau_threshold is None:
            info.mau_threshold = known.mau
        src = info.text_file or card_path
        for rule in known.clauses:
            if not any(c.rule == rule for c in clauses):
                sev, msg = CLAUSE_INFO[rule]
                clauses.append(
                    LicenseClause(rule=rule, severity=sev, message=f"{known.title}: {msg}", source=src)
                )
    if any(c.rule == "LICENSE-NONCOMMERCIAL" for c in clauses):
        info.commercial_use = False
    if not ids:
        sev, msg = CLAUSE_INFO["LICENSE-MISSING"]
        clauses.append(LicenseClause(rule="LICENSE-MISSING", severity=sev, message=msg, source=card_path))
    elif known is None:
        sev, msg = CLAUSE_INFO["LICENSE-UNKNOWN"]
        label = chosen or "unknown"
        clauses.append(
            LicenseClause(
                rule="LICENSE-UNKNOWN", severity=sev, message=f"{msg} ({label!r})", source=next(iter(ids))
            )
        )
    if len(distinct) > 1:
        sev, msg = CLAUSE_INFO["LICENSE-CONFLICT"]
        detail = ", ".join(f"{k}={v}" for k, v in sorted(ids.items()))
        clauses.append(
            LicenseClause(rule="LICENSE-CONFLICT", severity=sev, message=f"{msg}: {detail}", source=card_path)
        )
    if info.base_models:
        sev, msg = CLAUSE_INFO["LICENSE-INHERITED"]
        clauses.append(
            LicenseClause(
                rule="LICENSE-INHERITED",
                severity=sev,
                message=f"{msg}: {', '.join(info.base_models[:5])}",
                source=card_path,
            )
        )
    info.clauses = clauses
    return info
