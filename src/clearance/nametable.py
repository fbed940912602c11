"""Things registered by name with a decorator: scorers, metrics, dataset loaders, scan checks.

One helper behind every ``@scorer``, ``@metric``, ``@loader`` and ``@check``: a ``NameTable`` maps a
name to an entry, refuses a second, different entry under the same name, and turns an unknown name into
one ``InputError`` that lists the known ones (with a did-you-mean). The word "registry" is kept for the
approval registry (``clearance.registry``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from clearance.errors import InputError

T = TypeVar("T")


class NameTable(Generic[T]):
    """An ordered ``name -> entry`` table filled by decorators at import time."""

    def __init__(self, what: str) -> None:
        self.what = what  # "scorer", "metric", "dataset loader", "scan check"
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T, *, same: Callable[[T, T], bool] | None = None) -> T:
        """Register ``entry`` under ``name``; a different entry already there is a programming error."""
        old = self._entries.get(name)
        if old is not None and old is not entry and not (same is not None and same(old, entry)):
            raise ValueError(f"{self.what} {name!r} registered twice")
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T:
        """The entry for ``name``; an unknown name raises ``InputError`` listing the known ones."""
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._entries), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(
                f"unknown {self.what} {name!r}; known: {', '.join(sorted(self._entries))}{hint}"
            ) from None

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def values(self) -> list[T]:
        """Registered entries, in registration order."""
        return list(self._entries.values())

    def items(self) -> list[tuple[str, T]]:
        """``(name, entry)`` pairs, in registration order."""
        return list(self._entries.items())

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["NameTable"]
