"""CLI: ``clearance dossier verify DIR`` and ``clearance dossier show DIR``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearance.cli.app import app
from clearance.cli.output import console, emit_json, err_console
from clearance.dossier import verify_dossier
from clearance.dossier.report import fmt_value
from clearance.errors import InputError
from clearance.inert import inert, inert_text

dossier_app = typer.Typer(
    name="dossier",
    help="Inspect and verify the signed evidence dossier written by [bold]clearance vet[/].",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(dossier_app, name="dossier")

_STATUS_STYLE = {"approved": "bold green", "rejected": "bold red", "needs_review": "bold yellow"}


@dossier_app.command("verify")
def verify(
    directory: Annotated[Path, typer.Argument(help="The dossier directory (the --out of clearance vet).")],
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key", help="Require the signature to verify with this PEM public key (signer identity)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
) -> None:
    """Check the dossier's signature and the sha256 of every file in it.

    Exit status: 0 every digest and the signature hold; 1 something does not hold (the failures are listed);
    2 DIR is not a (finished) dossier.

    Example: [bold]clearance dossier verify clearance-runs/smollm2-20261129T101500Z[/]
    """
    res = verify_dossier(directory, public_key=public_key)
    if as_json:
        emit_json(res)
    else:
        if res.ok:
            console.print(
                f"[bold green]OK[/] {res.files_checked} files match the signed manifest in {inert(res.dossier)}"
            )
        else:
            console.print(f"[bold red]FAILED[/] {len(res.failures)} problem(s) in {inert(res.dossier)}:")
            for f in res.failures[:20]:
                console.print(f"  {inert(f.file)}: {inert(f.problem)}", soft_wrap=True)
            if len(res.failures) > 20:
                console.print(f"  … and {len(res.failures) - 20} more")
        if res.fingerprint:
            console.print(f"signer key fingerprint: {inert(res.fingerprint)}", soft_wrap=True)
        console.print(inert(res.note), soft_wrap=True)
    raise typer.Exit(0 if res.ok else 1)


@dossier_app.command("show")
def show(
    directory: Annotated[Path, typer.Argument(help="The dossier directory (the --out of clearance vet).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the decision and gates as one JSON object.")
    ] = False,
) -> None:
    """Show a dossier's decision, its reasons and the gate results (does not verify; use [bold]verify[/]).

    Example: [bold]clearance dossier show clearance-runs/smollm2-20261129T101500Z[/]
    """
    path = directory / "dossier.json"
    if not path.is_file():
        raise InputError(f"not a dossier: {directory} has no dossier.json")
    try:
        doc = json.loads(path.read_text("utf-8"))
        decision = doc["decision"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a readable dossier ({exc})") from exc
    if as_json:
        emit_json(
            {
                "title": doc.get("title"),
                "status": doc.get("status"),
                "decision": decision,
                "stages": doc.get("stages"),
                "report": str(directory / str(doc.get("report", "report.html"))),
            }
        )
        return
    status = str(decision.get("status"))
    console.print(
        f"[{_STATUS_STYLE.get(status, 'bold')}]{inert(status.upper().replace('_', ' '))}[/]  "
        f"{inert(doc.get('title', ''))}"
    )
    for r in decision.get("reasons", []):
        console.print(f"  • {inert(r)}", soft_wrap=True)
    table = Table(title="Gates", show_lines=False)
    table.add_column("gate", no_wrap=True)
    for col in ("observed", "required", "outcome", "action"):
        table.add_column(col)
    for g in decision.get("gates", []):
        table.add_row(
            inert_text(g.get("id")),
            inert_text(fmt_value(g.get("observed"))),
            inert_text(f"{g.get('operator')} {fmt_value(g.get('threshold'))}"),
            inert_text(g.get("outcome")),
            inert_text(g.get("action")),
        )
    console.print(table)
    err_console.print(f"report: {inert(directory / str(doc.get('report', 'report.html')))}")
