"""CLI: ``clearance scan PATH`` — integrity and supply-chain findings; exit 0 clean, 1 findings, 2 could not scan."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from clearance.cli.app import app
from clearance.cli.output import console, emit_json, err_console, error_line
from clearance.errors import ClearanceError
from clearance.inert import inert, inert_text
from clearance.severity import Severity

if TYPE_CHECKING:
    from clearance.findings import Finding

_SEVERITIES = [s.value for s in Severity]
_STYLE = {
    "info": "dim",
    "low": "cyan",
    "medium": "yellow",
    "high": "bold red",
    "critical": "bold white on red",
}


@app.command()
def scan(
    path: Annotated[
        Path,
        typer.Argument(
            help="Model file or directory to scan (safetensors, GGUF, PyTorch, pickles, configs)."
        ),
    ],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the report) on stdout.")
    ] = False,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            help=f"Exit 1 when a finding is at or above this severity ({', '.join(_SEVERITIES)}).",
        ),
    ] = "high",
    against: Annotated[
        Path | None,
        typer.Option(
            "--against", help="Publisher manifest to compare against: missing, extra and mismatched files."
        ),
    ] = None,
) -> None:
    """Scan a model artifact without loading it: bounded format validation, static pickle analysis, zip
    traversal/bombs, remote code, chat templates, licence and manifest checks.

    Nothing is unpickled, imported or rendered. Exit status: 0 clean, 1 findings at or above
    --fail-on, 2 could not scan.

    Example: [bold]clearance scan ./models/SmolLM2 --fail-on medium --json[/]
    """
    from clearance.scan import scan_path

    if fail_on.lower() not in _SEVERITIES:
        error_line(f"--fail-on must be one of {', '.join(_SEVERITIES)}, not {fail_on!r}")
        raise typer.Exit(2)
    threshold = Severity(fail_on.lower())
    options: dict[str, object] = {}
    if against is not None:
        options["against"] = against
    try:
        with (
            err_console.status(f"scanning {escape(str(path))} ...", spinner="dots")
            if not json_out
            else _null()
        ):
            report = scan_path(path, **options)
    except ClearanceError as exc:
        error_line(str(exc))
        raise typer.Exit(2) from None
    failing = report.at_or_above(threshold)
    if json_out:
        doc = report.model_dump(mode="json")
        doc["fail_on"] = threshold.value
        doc["failed"] = bool(failing)
        doc["facts"] = report.policy_facts()
        emit_json(doc)
    else:
        _print_table(report.findings, report.root, report.scanned_files, threshold, len(failing))
    raise typer.Exit(1 if failing else 0)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _print_table(
    findings: list[Finding], root: str, n_files: int, threshold: Severity, n_failing: int
) -> None:
    order = sorted(findings, key=lambda f: (-f.severity.rank, f.file, f.rule))
    if order:
        table = Table(
            title=f"Scan of {inert(root)}: {len(order)} finding(s) in {n_files} file(s)", show_lines=False
        )
        table.add_column("severity", no_wrap=True)
        table.add_column("rule", overflow="fold")
        table.add_column("file", overflow="fold")
        table.add_column("message", overflow="fold")
        for f in order:
            table.add_row(  # file names and messages come from the artifact: never parsed as markup
                Text(f.severity.value, style=_STYLE[f.severity.value]),
                inert_text(f.rule),
                inert_text(f.file),
                inert_text(f.message),
            )
        console.print(table)
    else:
        console.print(f"Scan of {inert(root)}: no findings in {n_files} file(s).")
    verdict = (
        f"[bold red]FAIL[/]: {n_failing} finding(s) at or above {threshold.value}"
        if n_failing
        else (f"[bold green]PASS[/]: nothing at or above {threshold.value}")
    )
    console.print(verdict)
