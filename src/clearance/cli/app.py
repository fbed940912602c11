"""The Typer application object that every command module attaches to."""

from __future__ import annotations

import typer

from clearance import __version__

app = typer.Typer(
    name="clearance",
    help=(
        "Offline approval runs for open-weight LLMs: can we run it (plan), what will it cost (cost), "
        "is the artifact what it claims (manifest, scan), is it good, safe and stable (eval, loadtest), "
        "and can we prove it (vet, dossier)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"clearance {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Clearance command-line interface."""
