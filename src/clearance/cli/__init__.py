"""Command-line interface: a thin skin over the library. ``main`` is the console-script entry point."""

from __future__ import annotations

import os
import sys

# Each module registers its commands on ``app`` when imported.
from clearance.cli import commands  # noqa: F401  (registration side effect)
from clearance.cli.app import app
from clearance.cli.output import error_line
from clearance.errors import ClearanceError


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; expected failures print one line and exit non-zero (traceback with ``--debug``)."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("CLEARANCE_DEBUG") == "1"
    try:
        app(args=args, prog_name="clearance")
    except ClearanceError as exc:
        if debug:
            raise
        error_line(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        error_line("interrupted; results obtained so far are kept on disk")
        sys.exit(130)


__all__ = ["app", "main"]
