"""Scan check: code that ``trust_remote_code`` would execute (``auto_map``, custom ``*.py``, native libs)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from clearance.errors import FormatError
from clearance.findings import Finding, Severity
from clearance.model.artifact import read_json_bounded
from clearance.model.layout import layout_for_listing
from clearance.scan.checks import ScanContext, check

_CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyw", ".so", ".dll", ".dylib", ".sh", ".ipynb")
_RISKY = re.compile(
    rb"\b(os\.system|subprocess|eval\(|exec\(|__import__|socket|requests\.|urllib|base64\.b64decode|"
    rb"pickle\.loads|marshal\.loads|ctypes)"
)
_CONFIG_FILES = (
    "config.json",
    "tokenizer_config.json",
    "processor_config.json",
    "preprocessor_config.json",
    "feature_extractor_config.json",
    "image_processor_config.json",
)


@check(
    "REMOTE-CODE", "auto_map entries and custom code files that loading with trust_remote_code would execute"
)
def check_remote_code(ctx: ScanContext) -> Iterator[Finding]:
    """``REMOTE-CODE`` for ``auto_map`` in configs, ``REMOTE-CODE-FILE`` for each code file."""
    lay = layout_for_listing(ctx.root, ctx.files, ctx.symlinks)
    by = lay.by_rel()
    for rel in _CONFIG_FILES:
        f = by.get(rel)
        if f is None:
            continue
        try:
            cfg = read_json_bounded(f.real, rel=rel)
        except FormatError:
            continue  # malformed configs are reported by the config checks
        if not isinstance(cfg, dict):
            continue
        auto_map = cfg.get("auto_map")
        if auto_map:
            targets = sorted({str(v) for v in _flatten(auto_map)})[:20]
            yield Finding(
                file=rel,
                rule="REMOTE-CODE",
                severity=Severity.high,
                message=f"auto_map requires trust_remote_code=True and would run repository code: {', '.join(targets)}",
                details={"auto_map": auto_map if len(str(auto_map)) < 4000 else str(auto_map)[:4000]},
            )
        if cfg.get("trust_remote_code") is True:
            yield Finding(
                file=rel,
                rule="REMOTE-CODE",
                severity=Severity.high,
                message="config asks for trust_remote_code=True",
                details={},
            )
    for f in lay.files:
        low = f.rel.lower()
        if not low.endswith(_CODE_SUFFIXES):
            continue
        head = b""
        try:
            with open(f.real, "rb") as fh:
                head = fh.read(1 << 20)
        except OSError:
            pass
        risky = sorted({m.decode() for m in _RISKY.findall(head)})
        sev = Severity.critical if risky and low.endswith(".py") else Severity.high
        msg = "code file in the model repository (executed with trust_remote_code, or a native library)"
        if risky:
            msg += f"; uses {', '.join(risky[:8])}"
        yield Finding(
            file=f.rel,
            rule="REMOTE-CODE-FILE",
            severity=sev,
            message=msg,
            details={"size": f.size, "risky_calls": risky},
        )


def _flatten(obj: object) -> Iterator[object]:
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _flatten(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _flatten(v)
    elif obj is not None:
        yield obj
