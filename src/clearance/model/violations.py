"""``FormatViolation``: a ``FormatError`` that also carries the stable scan rule id it maps to."""

from __future__ import annotations

from clearance.errors import FormatError


class FormatViolation(FormatError):
    """A format error from a bounded reader, tagged with a stable rule id (e.g. ``GGUF-OFFSET``)."""

    def __init__(self, message: str, *, file: str | None, field: str | None, rule: str) -> None:
        self.rule = rule
        super().__init__(message, file=file, field=field)


def rule_of(err: FormatError, default: str) -> str:
    """The rule id of ``err`` when it carries one, else ``default``."""
    return err.rule if isinstance(err, FormatViolation) else default
