"""Command-line interface: a thin skin over the library. ``main`` is the console-script entry point."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Each module registers its commands on ``app`` when imported.
from clearance.cli import commands  # noqa: F401  (registration side effect)
from clearance.cli.app import app
from clearance.cli.output import (
    INTERRUPTED_EXIT,
    error_line,
    flag_message,
    interrupt_reported,
    report_interrupt,
)
from clearance.cli.progress import RichProgress
from clearance.errors import ClearanceError
from clearance.progress import use_progress

_OUT_FLAGS = ("--out", "-o")


def _out_dir(args: list[str]) -> str | None:
    """The ``--out``/``-o`` value on the command line, if the command was given one that exists."""
    for i, a in enumerate(args):
        value = None
        if a in _OUT_FLAGS and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith("--out="):
            value = a.split("=", 1)[1]
        if value and Path(value).exists():
            return value
    return None


def _interrupted(args: list[str]) -> None:
    """Print the one Ctrl-C line unless the command already did (it knows best where its results are)."""
    if interrupt_reported():
        return
    out = _out_dir(args)
    where = f"results so far are kept in {out}" if out else "nothing more was written"
    report_interrupt(f"stopped by Ctrl-C; {where}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; expected failures print one line and exit non-zero (traceback with ``--debug``).

    Ctrl-C in any command prints one ``interrupted:`` line and exits 130. Typer turns a
    ``KeyboardInterrupt`` inside a command into a silent exit 130; that exit is caught here and given
    its line, so every command behaves the same without handling Ctrl-C itself.
    """
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("CLEARANCE_DEBUG") == "1"
    try:
        with use_progress(RichProgress()):  # the library's progress events become bars on stderr
            app(args=args, prog_name="clearance")
    except ClearanceError as exc:
        if debug:
            raise
        error_line(flag_message(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _interrupted(args)
        sys.exit(INTERRUPTED_EXIT)
    except SystemExit as exc:
        if exc.code == INTERRUPTED_EXIT:
            _interrupted(args)
        raise


__all__ = ["app", "main"]
