"""CLI: ``clearance dossier verify DIR`` and ``clearance dossier show DIR``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearance.cli.app import app
from clearance.cli.output import JsonOption, console, emit_json, err_console
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
        typer.Option("--public-key", help="Require the signature to verify with this PEM public key."),
    ] = None,
    trusted_keys: Annotated[
        Path | None,
        typer.Option(
            "--trusted-keys",
            help="Your trust list: a PEM public key, a directory of them (holder = file name), or a "
            "file of 'sha256:FINGERPRINT NAME' lines. The signing key must be in it.",
        ),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry", help="Trust the run-signer keys enrolled in this registry (SQLite file or URL)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check the dossier's signature, the sha256 of every file, that no unsigned file or symlink is present,
    and (with --trusted-keys or --registry) whose key signed it. A flag inside the dossier never decides.

    Exit status: 0 everything holds (and the signer is trusted, when a trust list is given); 1 something
    does not hold (the failures are listed); 2 DIR is not a (finished) dossier.

    Example: [bold]clearance dossier verify clearance-runs/smollm2-20261129T101500Z --trusted-keys keys/runners/[/]
    """
    from clearance.dossier import TrustList, load_trust_list, verify_dossier

    trust = load_trust_list(trusted_keys) if trusted_keys is not None else None
    if registry is not None:
        from clearance.registry import Registry

        with Registry(registry) as reg:
            enrolled = reg.run_signer_keys()
        keys = {**(trust.keys if trust else {}), **enrolled}
        source = f"{trust.source} and " if trust else ""
        trust = TrustList(source=f"{source}run-signers of {reg.where}", keys=keys)
    res = verify_dossier(directory, public_key=public_key, trusted_keys=trust)
    if as_json:
        emit_json(res)
    else:
        if res.ok:
            console.print(
                f"[bold green]OK[/] {res.files_checked} files match the signed manifest in "
                f"{inert(res.dossier)}, nothing unsigned is present",
                soft_wrap=True,
            )
        else:
            console.print(
                f"[bold red]FAILED[/] {len(res.failures)} problem(s) in {inert(res.dossier)}:",
                soft_wrap=True,
            )
            for f in res.failures[:20]:
                console.print(f"  {inert(f.file)}: {inert(f.problem)}", soft_wrap=True)
            if len(res.failures) > 20:
                console.print(f"  … and {len(res.failures) - 20} more")
        if res.fingerprint:
            who = f" — {inert(res.signer or '')}" if res.trusted else ""
            console.print(f"signer key sha256:{res.fingerprint}{who}", soft_wrap=True)
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
    from clearance.dossier.report import fmt_value

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
