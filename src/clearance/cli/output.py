"""Shared output helpers for commands: one console, JSON emission, readable errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.segment import Segment

from clearance.errors import ClearanceError
from clearance.inert import inert, visible

# The ``--json`` flag shared by every command (one JSON object on stdout, nothing else).
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


class InertConsole(Console):
    """A console whose text can never drive the terminal: control and bidi characters in any printed
    text are shown as visible escapes (rich's own cursor and style codes are unaffected).

    A safety net under :func:`clearance.inert.inert`, which call sites still use for strings that a
    model, endpoint, model file or policy controls (it also escapes rich markup, which this cannot).
    """

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            seg if seg.control else Segment(visible(seg.text, multiline=True), seg.style, seg.control)
            for seg in buffer
        )


console = InertConsole(highlight=False)
err_console = InertConsole(stderr=True, highlight=False)


def emit_json(obj: Any) -> None:
    """Print one JSON document on stdout (nothing else goes to stdout under ``--json``)."""
    from clearance.jsonio import to_jsonable

    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


# Library parameters whose flag is not ``--`` + the name with dashes.
FLAG_FOR_PARAM = {"eval_concurrency": "--concurrency", "duration_s": "--duration"}


def flag_for(param: str) -> str:
    """The CLI flag of a library parameter (``max_tokens`` → ``--max-tokens``)."""
    return FLAG_FOR_PARAM.get(param, "--" + param.replace("_", "-"))


def flag_message(exc: ClearanceError) -> str:
    """The error's line with the library parameter it names shown as the CLI flag."""
    text, param = str(exc), exc.param
    if param is None:
        return text
    for lead in (f"[{param}]", param):
        if text.startswith(lead):
            flag = f"[{flag_for(param)}]" if lead.startswith("[") else flag_for(param)
            return flag + text[len(lead) :]
    return text


def error_line(message: str) -> None:
    """Print the one readable error line on stderr."""
    err_console.print(f"[bold red]error:[/] {inert(message)}", soft_wrap=True)


INTERRUPTED_EXIT = 130
_interrupt_reported = False


def report_interrupt(message: str) -> None:
    """Print the one Ctrl-C line (a command that knows where its partial results are says so here)."""
    global _interrupt_reported
    _interrupt_reported = True
    err_console.print(f"[bold yellow]interrupted:[/] {inert(message)}", soft_wrap=True)


def interrupt_reported() -> bool:
    """Whether a command already printed its Ctrl-C line (so ``main`` does not print a second one)."""
    return _interrupt_reported
