"""CLI: ``clearance policy facts`` (the declared facts a gate can use) and ``clearance policy check FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from clearance.cli.app import app
from clearance.cli.output import JsonOption, console, emit_json

policy_app = typer.Typer(
    name="policy",
    help="The facts a policy gate can judge, and a check of a policy file before a run.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(policy_app, name="policy")

SuiteOption = Annotated[
    list[str] | None,
    typer.Option(
        "--suite",
        help="Also declare this suite's metrics (a built-in name or a suite .yaml file); repeatable.",
    ),
]


@policy_app.command("facts")
def facts_cmd(suite: SuiteOption = None, as_json: JsonOption = False) -> None:
    """List every fact a policy gate can name: type, unit, confidence bounds, meaning, and the box that publishes it.

    Names with [bold]{suite}[/], [bold]{option}[/] or [bold]{severity}[/] stand for each suite, cost option or
    severity. A fact with bounds can be judged on them with [bold]use: ci_low[/] or [bold]use: ci_high[/].

    Example: [bold]clearance policy facts --json[/]
    """
    from clearance.evals.facts import suites_facts
    from clearance.facts import declared_facts

    catalog = declared_facts(suites_facts(suite or []))
    if as_json:
        emit_json(
            {
                "facts": [
                    {
                        "name": s.name,
                        "type": s.type,
                        "unit": s.unit,
                        "bounds": list(s.bounds),
                        "meaning": s.meaning,
                        "box": s.box,
                    }
                    for s in catalog.specs
                ],
                "placeholders": {
                    k: {"meaning": p.meaning, "values": list(p.values)}
                    for k, p in catalog.placeholders.items()
                },
            }
        )
        return
    table = Table(show_edge=False, pad_edge=False, box=None)
    for col in ("fact", "type", "unit", "bounds", "meaning"):
        table.add_column(col, overflow="fold")
    for s in catalog.specs:
        table.add_row(escape(s.name), s.type, escape(s.unit), ", ".join(s.bounds), escape(s.meaning))
    console.print(table)
    console.print(
        f"{len(catalog.specs)} declared facts; {{suite}} is one of: {', '.join(catalog.placeholders['suite'].values)}"
    )


@policy_app.command("check")
def check_cmd(
    policy: Annotated[Path, typer.Argument(help="The policy YAML file.")],
    suite: SuiteOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a policy file without running anything: keys, operators, thresholds and that every fact is declared.

    Exit status: 0 the policy is valid; 2 it is not (one line naming the file, line and problem).

    Example: [bold]clearance policy check my-policy.yaml[/]
    """
    from clearance.policy import load_policy

    pol = load_policy(policy, suites=suite or [])
    if as_json:
        emit_json({"ok": True, "policy": pol.name, "gates": len(pol.gates), "sha256": pol.sha256})
    else:
        console.print(
            f"[bold green]OK[/] {escape(str(policy))}: policy {escape(pol.name)!s}, {len(pol.gates)} gates"
        )
