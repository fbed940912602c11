"""CLI: ``clearance datasets`` — the datasets Clearance knows, where it found them, sha256 and license."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from clearance.cli.app import app
from clearance.cli.output import JsonOption, console, emit_json


@app.command()
def datasets(
    dirs: Annotated[
        list[Path] | None,
        typer.Option(
            "--dir",
            help="Folder holding benchmark subfolders (xstest/, harmbench/, bbq/, …); repeatable. "
            "Default: $CLEARANCE_DATASETS, else ./datasets.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """List the shipped suites' data and the public benchmarks found locally: path, sha256, license, rows.

    Nothing is downloaded; a benchmark that is not found says where it was looked for.

    Example: [bold]clearance datasets --dir ../shared/datasets[/]
    """
    from clearance.evals.catalog import default_dirs, find_datasets

    entries = find_datasets(list(dirs) if dirs else default_dirs())
    if json_out:
        emit_json({"datasets": entries})
        return
    t = Table(title="datasets", title_justify="left")
    for col in ("suite", "kind", "found", "rows", "sha256", "license", "where"):
        t.add_column(col, justify="right" if col == "rows" else "left")
    for e in entries:
        t.add_row(
            e.suite,
            e.kind,
            "yes" if e.found else "no",
            str(e.rows) if e.rows is not None else "-",
            (e.sha256 or "-")[:16],
            escape(e.license or "-"),
            escape((e.path if e.found else e.note) or ""),
        )
    console.print(t)
