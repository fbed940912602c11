"""Make strings that a model, an endpoint, a model file or a policy controls inert for terminal and browser.

A served model id, a GGUF name, an error body or a policy reason may carry ANSI/OSC escapes (which
retitle the window, clear the screen or plant a hyperlink), bidirectional overrides (which reorder
what a reviewer reads) or rich markup (``[/x]`` crashes the printer, ``[bold green]APPROVED`` fakes a
verdict). Every such string passes through one of these before it is shown:

- :func:`inert` for text inside rich markup (control characters shown as ``\\x1b``-style escapes,
  markup escaped);
- :func:`inert_text` for a table cell or any place a rich ``Text`` is wanted (never parsed as markup);
- :func:`visible` for plain text (control characters shown as escapes, nothing else changed);
- :func:`strip_control` for the HTML report (control bytes removed; HTML escaping is Jinja's job).

The console in :mod:`clearance.cli.output` also renders every text segment through :func:`visible`,
so a string that reached it without the helper still cannot drive the terminal.
"""

from __future__ import annotations

import re

from rich.markup import escape
from rich.text import Text

# C0 (except \t \n handled below), DEL, C1, and the Unicode format characters that reorder or hide
# text: bidi embeddings/overrides/isolates, zero-width and invisible characters, BOM, line separators.
_BIDI_AND_INVISIBLE = (
    "\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
)
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_AND_INVISIBLE}]")
_CONTROL_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_INVISIBLE}]")
_HTML_CONTROL = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_AND_INVISIBLE}]")


def _escape_char(m: re.Match[str]) -> str:
    c = m.group()
    o = ord(c)
    if c == "\n":
        return "\\n"
    if c == "\t":
        return "\\t"
    if c == "\r":
        return "\\r"
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def visible(value: object, *, multiline: bool = False) -> str:
    """``str(value)`` with every control or invisible character replaced by a visible escape.

    With ``multiline`` newlines and tabs stay (for answers and notes printed as blocks of text);
    otherwise they are escaped too, so one field can never forge a further line of output.
    """
    text = value if isinstance(value, str) else str(value)
    pattern = _CONTROL if multiline else _CONTROL_ONE_LINE
    return pattern.sub(_escape_char, text)


def inert(value: object, *, multiline: bool = False) -> str:
    """:func:`visible`, then rich markup escaped: safe inside a markup string given to ``console.print``."""
    return escape(visible(value, multiline=multiline))


def inert_text(value: object, *, style: str = "", multiline: bool = False) -> Text:
    """A rich ``Text`` of :func:`visible` text (table cells: ``Text`` is never parsed as markup)."""
    return Text(visible(value, multiline=multiline), style=style)


def strip_control(value: str) -> str:
    """``value`` without control, bidi-override or invisible characters (newline, tab and CR kept).

    For HTML: a browser ignores most of them, but NUL and ESC in a report are still bytes an
    auditor's tooling may choke on, and bidi overrides change what a reader sees.
    """
    return _HTML_CONTROL.sub("", value)
