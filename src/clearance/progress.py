"""Progress as events: the library reports, whoever called it decides how (or whether) to show it.

No module of the library prints or builds a console. A long operation (hashing, an evaluation, a load
test) opens a ``ProgressTask`` with :func:`open_task` and calls ``advance``; the task comes from the
``ProgressSink`` given as the function's ``progress`` argument, or — when that argument is just
``True`` — from the sink installed for the current context with :func:`use_progress` (the CLI installs
one that draws rich bars on stderr; a web server could install one that forwards events). With no sink
the task is a no-op, so the library is quiet when used from Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal, Protocol, runtime_checkable

Unit = Literal["items", "bytes"]


class ProgressTask(Protocol):
    """One running task: ``advance`` by ``n`` units, optionally updating its named counters."""

    def advance(self, n: float = 1, **fields: object) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class ProgressSink(Protocol):
    """Where progress goes: opens one ``ProgressTask`` per long operation."""

    def task(
        self,
        description: str,
        total: float | None,
        *,
        unit: Unit = "items",
        completed: float = 0,
        fields: Mapping[str, object] | None = None,
        transient: bool = True,
    ) -> ProgressTask: ...


class NullTask:
    """A task nobody watches."""

    def advance(self, n: float = 1, **fields: object) -> None:
        return None

    def close(self) -> None:
        return None


_sink: ContextVar[ProgressSink | None] = ContextVar("clearance_progress_sink", default=None)

ProgressArg = bool | ProgressSink | None


@contextmanager
def use_progress(sink: ProgressSink | None) -> Iterator[None]:
    """Within the block, ``progress=True`` reports to ``sink`` (``None``: nowhere)."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


def current_sink() -> ProgressSink | None:
    """The sink installed for this context, if any."""
    return _sink.get()


def open_task(
    progress: ProgressArg,
    description: str,
    total: float | None,
    *,
    unit: Unit = "items",
    completed: float = 0,
    fields: Mapping[str, object] | None = None,
    transient: bool = True,
) -> ProgressTask:
    """A task on the sink ``progress`` names (``True``: the context's sink); a no-op task otherwise."""
    sink = progress if isinstance(progress, ProgressSink) else (_sink.get() if progress is True else None)
    if sink is None:
        return NullTask()
    return sink.task(description, total, unit=unit, completed=completed, fields=fields, transient=transient)


__all__ = [
    "NullTask",
    "ProgressArg",
    "ProgressSink",
    "ProgressTask",
    "Unit",
    "current_sink",
    "open_task",
    "use_progress",
]
