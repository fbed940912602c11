"""The CLI's progress sink: rich bars on stderr for the library's progress events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.markup import escape

from clearance.cli.output import err_console
from clearance.progress import Unit

if TYPE_CHECKING:
    from rich.progress import Progress


class _RichTask:
    def __init__(self, progress: Progress, task: object, fields: dict[str, object]) -> None:
        self.progress, self.task, self.fields = progress, task, fields
        self.closed = False

    def advance(self, n: float = 1, **fields: object) -> None:
        self.fields.update(fields)
        self.progress.update(self.task, advance=n, **self.fields)  # type: ignore[arg-type]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.progress.stop()


class RichProgress:
    """One live rich bar per task on stderr: count or bytes, the task's counters, elapsed time."""

    def task(
        self,
        description: str,
        total: float | None,
        *,
        unit: Unit = "items",
        completed: float = 0,
        fields: Mapping[str, object] | None = None,
        transient: bool = True,
    ) -> _RichTask:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        values = dict(fields or {})
        columns: list[str | ProgressColumn] = [TextColumn("[bold]{task.description}"), BarColumn()]
        if unit == "bytes":
            columns += [DownloadColumn(), TransferSpeedColumn()]
        else:
            columns.append(MofNCompleteColumn())
        columns += [TextColumn(f"{{task.fields[{k}]}} {k}") for k in values]
        columns.append(TimeElapsedColumn())
        if not transient:
            columns.append(TimeRemainingColumn())
        progress = Progress(*columns, console=err_console, transient=transient)
        task = progress.add_task(escape(description), total=total, completed=int(completed), **values)  # type: ignore[arg-type]
        progress.start()
        return _RichTask(progress, task, values)
