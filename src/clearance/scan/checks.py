"""The table of scan checks. A check is a function ``(ScanContext) -> Iterable[Finding]``.

Add a check by decorating it with ``@check("RULE-PREFIX", "what it looks for")`` in a module under
``clearance/scan/`` and listing that module in ``clearance.scan.CHECK_MODULES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from clearance.findings import Finding
from clearance.nametable import NameTable


@dataclass(frozen=True)
class ScanContext:
    """What a check sees: the scanned root and its regular files (relative paths, symlinks not followed)."""

    root: Path
    files: tuple[Path, ...]
    symlinks: tuple[Path, ...] = ()
    options: dict[str, object] = field(default_factory=dict)

    def with_suffix(self, *suffixes: str) -> list[Path]:
        """The files whose name ends with one of ``suffixes`` (case-insensitive)."""
        low = tuple(s.lower() for s in suffixes)
        return [p for p in self.files if p.name.lower().endswith(low)]


CheckFn = Callable[[ScanContext], Iterable[Finding]]


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its rule-id prefix, a one-line description and the function."""

    prefix: str
    description: str
    fn: CheckFn


CHECKS: NameTable[CheckSpec] = NameTable("scan check")


def check(prefix: str, description: str) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as a scan check whose findings use rule ids starting with ``prefix``."""

    def deco(fn: CheckFn) -> CheckFn:
        CHECKS.add(prefix, CheckSpec(prefix, description, fn), same=lambda a, b: a.fn is b.fn)
        return fn

    return deco


def registered_checks() -> list[CheckSpec]:
    """All registered checks, in registration order."""
    return CHECKS.values()
