"""Integrity and supply-chain scan: runs every registered check over a model file or directory.

Public surface: ``scan_path(path) -> ScanReport``, ``ScanReport``, and the ``check`` decorator.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from pydantic import BaseModel, Field

from clearance.errors import InputError
from clearance.evidence import utc_now
from clearance.findings import Finding, Severity
from clearance.scan.checks import ScanContext, check, registered_checks

# Modules whose import registers checks. Add yours here.
CHECK_MODULES: list[str] = [
    "clearance.scan.manifest_rules",
    "clearance.scan.remote_code",
    "clearance.scan.chat_template",
    "clearance.scan.tokenizer",
    "clearance.scan.license_rules",
    "clearance.scan.formats",
]


class ScanReport(BaseModel):
    """All findings of one scan, with the root scanned and which checks ran."""

    root: str
    scanned_files: int
    checks: list[str]
    findings: list[Finding] = Field(default_factory=list)
    started_at: str = Field(default_factory=utc_now)

    def max_severity(self) -> Severity | None:
        """The worst severity found, or ``None`` when there are no findings."""
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def at_or_above(self, threshold: Severity) -> list[Finding]:
        """Findings whose severity is at least ``threshold``."""
        return [f for f in self.findings if f.severity >= threshold]

    def policy_facts(self) -> dict[str, object]:
        """Flat facts for policy gates (``scan.*``)."""
        counts = {s.value: 0 for s in Severity}
        for f in self.findings:
            counts[f.severity.value] += 1
        worst = self.max_severity()
        facts: dict[str, object] = {f"scan.findings.{k}": v for k, v in counts.items()}
        facts["scan.max_severity"] = worst.value if worst else "none"
        facts["scan.rules"] = sorted({f.rule for f in self.findings})
        return facts


def _load_checks() -> None:
    for name in CHECK_MODULES:
        importlib.import_module(name)


#: Most entries (files, links, special files) a scanned directory may hold.
MAX_ENTRIES = 200_000


def _walk(root: Path) -> tuple[tuple[Path, ...], tuple[Path, ...], tuple[Path, ...]]:
    """Regular files, symlinks and special files (FIFOs, devices, sockets) under ``root``; iterative."""
    files: list[Path] = []
    links: list[Path] = []
    special: list[Path] = []
    stack = [root]
    while stack:
        base = stack.pop()
        try:
            entries = list(os.scandir(base))
        except OSError:
            continue
        for ent in entries:
            rel = Path(ent.path).relative_to(root)
            try:
                if ent.is_symlink():
                    links.append(rel)
                elif ent.is_dir(follow_symlinks=False):
                    stack.append(Path(ent.path))
                elif ent.is_file(follow_symlinks=False):
                    files.append(rel)
                else:  # opening a FIFO blocks forever; a device can be endless
                    special.append(rel)
            except OSError:
                special.append(rel)
            if len(files) + len(links) + len(special) > MAX_ENTRIES:
                raise InputError(f"scan: {root} holds more than {MAX_ENTRIES} entries; not a model directory")
    return tuple(sorted(files)), tuple(sorted(links)), tuple(sorted(special))


def scan_path(path: str | Path, **options: object) -> ScanReport:
    """Scan a model file or directory with every registered check; never executes or unpickles anything."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"scan: path does not exist: {p}")
    _load_checks()
    special: tuple[Path, ...] = ()
    if p.is_file():
        ctx = ScanContext(root=p.parent, files=(Path(p.name),), options=dict(options))
    elif p.is_dir():
        files, links, special = _walk(p)
        if not files and not links and not special:
            raise InputError(f"scan: {p} is an empty directory: nothing to scan")
        ctx = ScanContext(root=p, files=files, symlinks=links, options=dict(options))
    else:
        raise InputError(
            f"scan: {p} is neither a regular file nor a directory (a FIFO or device is never read)"
        )
    findings: list[Finding] = [
        Finding(
            file=str(rel),
            rule="SPECIAL-FILE",
            severity=Severity.high,
            message="not a regular file (FIFO, device or socket): not read, since reading it can block or never end",
        )
        for rel in special
    ]
    specs = registered_checks()
    for spec in specs:
        try:
            findings.extend(spec.fn(ctx))
        except Exception as exc:  # a check crashing is itself a finding, never a lost scan
            findings.append(
                Finding(
                    file=str(ctx.root),
                    rule="SCAN-CHECK-ERROR",
                    severity=Severity.high,
                    message=f"check {spec.prefix} could not complete: {type(exc).__name__}: {exc}",
                )
            )
    return ScanReport(
        root=str(p), scanned_files=len(ctx.files), checks=[s.prefix for s in specs], findings=findings
    )


__all__ = ["CHECK_MODULES", "ScanContext", "ScanReport", "check", "registered_checks", "scan_path"]
