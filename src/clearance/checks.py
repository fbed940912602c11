"""Validation of numeric inputs (CLI options, library options): one ``InputError`` line naming the option.

``name`` is a library parameter (``max_tokens``: the error carries ``param`` and the CLI shows its flag)
or a CLI flag itself (``--timeout``).

``nan`` and ``inf`` parse as floats; every check here refuses them, so a timeout, a rate or a
duration is always a finite number a person meant.
"""

from __future__ import annotations

import math

from clearance.errors import InputError


def positive_finite(name: str, value: float | None) -> None:
    """``value`` must be a finite number > 0 (``None`` means not given and passes)."""
    if value is None:
        return
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a finite number > 0, got {value}", param=_param(name))


def at_least(name: str, value: int | None, low: int) -> None:
    """``value`` must be an integer >= ``low`` (``None`` means not given and passes)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(f"{name} must be an integer >= {low}, got {value}", param=_param(name))


def _param(name: str) -> str | None:
    return None if name.startswith("-") else name
