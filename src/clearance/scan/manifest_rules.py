"""Scan checks: files against a reference manifest (``MANIFEST-*``) and symlinks that were refused (``SYMLINK-*``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from clearance.errors import InputError
from clearance.findings import Finding, Severity
from clearance.model.layout import layout_for_listing
from clearance.model.manifest import compare, load_reference, manifest_from_layout
from clearance.scan.checks import ScanContext, check

_LINK_RULES = {
    "escapes-root": (
        "SYMLINK-ESCAPE",
        Severity.high,
        "symlink points outside the model directory; not followed",
    ),
    "broken": ("SYMLINK-BROKEN", Severity.low, "symlink target does not exist"),
    "loop": ("SYMLINK-LOOP", Severity.medium, "symlink loops; not followed"),
    "directory": ("SYMLINK-DIR", Severity.medium, "symlink to a directory; not followed"),
    "special": ("SYMLINK-SPECIAL", Severity.high, "symlink to a device, socket or FIFO; not followed"),
}


@check(
    "SYMLINK",
    "symlinks that leave the model directory (or HF cache entry), are broken, loop or point at dirs",
)
def check_symlinks(ctx: ScanContext) -> Iterator[Finding]:
    """One finding per refused symlink."""
    lay = layout_for_listing(ctx.root, ctx.files, ctx.symlinks)
    for p in lay.problems:
        rule, sev, msg = _LINK_RULES.get(p.reason, ("SYMLINK-ESCAPE", Severity.high, "symlink refused"))
        yield Finding(
            file=p.rel,
            rule=rule,
            severity=sev,
            message=f"{msg} (→ {p.target})",
            details={"target": p.target, "reason": p.reason},
        )


@check(
    "MANIFEST", "files missing from, extra to, or different from a reference manifest (option against=FILE)"
)
def check_against_manifest(ctx: ScanContext) -> Iterator[Finding]:
    """With ``against=FILE``: hash every file and report ``MANIFEST-MISSING/EXTRA/MISMATCH``."""
    against = ctx.options.get("against")
    if against is None:
        return
    ref = load_reference(Path(str(against)))
    lay = layout_for_listing(ctx.root, ctx.files, ctx.symlinks)
    progress = bool(ctx.options.get("progress", False))
    workers = ctx.options.get("workers")
    man = manifest_from_layout(lay, workers=workers if isinstance(workers, int) else None, progress=progress)
    try:
        cmp = compare(man, ref, root=lay.root)
    except OSError as exc:
        raise InputError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    src = ref.source
    for path in cmp.missing:
        yield Finding(
            file=path,
            rule="MANIFEST-MISSING",
            severity=Severity.high,
            message=f"listed in {src} but not present",
            details={"reference": src},
        )
    for path in cmp.extra:
        yield Finding(
            file=path,
            rule="MANIFEST-EXTRA",
            severity=Severity.medium,
            message=f"present but not listed in {src}",
            details={"reference": src},
        )
    for mm in cmp.mismatched:
        yield Finding(
            file=str(mm["path"]),
            rule="MANIFEST-MISMATCH",
            severity=Severity.critical,
            message=f"{mm['field']} differs from {src}: expected {mm['expected']}, got {mm['actual']}",
            details={"reference": src, **mm},
        )
    if cmp.ok:
        yield Finding(
            file=str(ctx.root),
            rule="MANIFEST-MATCH",
            severity=Severity.info,
            message=f"all {len(cmp.matched)} files match {src} ({ref.format})",
            details={"reference": src, "root_digest": man.root_digest},
        )
