"""Strings a model, endpoint or model file controls never drive the terminal and never break the printer.

Before: ANSI/OSC escapes in a served model id retitled the window and cleared the screen, and ``[/x]``
in a model id crashed ``eval`` with a rich markup error (and ``dossier show`` once it was in a dossier).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clearance.inert import inert, inert_text, strip_control, visible
from fakes.openai_server import REFUSAL, Conn, FakeOpenAI, FakeServer, Request

HOSTILE_ID = "[/x][bold green]APPROVED[/] \x1b]0;pwned\x07\x1b[2J\u202eevil"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=120
    )


def _inert_output(r: subprocess.CompletedProcess[str]) -> None:
    out = r.stdout + r.stderr
    assert "Traceback" not in out, out[-3000:]
    assert "MarkupError" not in out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out


def test_helpers() -> None:
    assert visible("a\x1bb\nc\u202e") == "a\\x1bb\\nc\\u202e"
    assert visible("a\nb\tc", multiline=True) == "a\nb\tc"
    assert inert("[/x] \x1b[2J") == "\\[/x] \\x1b[2J"
    assert inert_text("[bold]x").plain == "[bold]x"
    assert strip_control("a\x00b\x1b[2Jc\u202ed\ne") == "ab[2Jcd\ne"


def test_fake_hostile_model_id_in_eval_is_shown_not_obeyed(tmp_path: Path) -> None:
    with FakeOpenAI(REFUSAL, model=HOSTILE_ID) as srv:
        r = cli(
            "eval", "-e", srv.url, "--suite", "safety-refusal", "--limit", "3", "--out", str(tmp_path / "o")
        )
    assert r.returncode == 0, r.stderr
    _inert_output(r)
    flat = "".join(r.stdout.split())
    assert "[/x][boldgreen]APPROVED[/]" in flat and "\\x1b" in flat  # shown literally, escapes visible


def test_fake_hostile_model_id_and_model_name_in_vet_and_dossier_show(tmp_path: Path) -> None:
    from vet.test_vet import tiny_model

    model = tiny_model(tmp_path / "tiny[/x]\x1b[2J")
    out = tmp_path / "run"
    with FakeOpenAI(REFUSAL, model=HOSTILE_ID) as srv:
        r = cli(
            "vet",
            str(model),
            "--endpoint",
            srv.url,
            "--out",
            str(out),
            "--suites",
            "safety-refusal",
            "--limit",
            "3",
        )
    assert r.returncode in (0, 1, 3), r.stderr[-3000:]
    _inert_output(r)
    assert "tiny\\[/x]" in r.stderr or "tiny[/x]" in r.stderr
    shown = cli("dossier", "show", str(out))
    assert shown.returncode == 0, shown.stderr
    _inert_output(shown)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "\x1b" not in html and "\u202e" not in html


def test_fake_hostile_error_body_reaches_the_error_line_inert(tmp_path: Path) -> None:
    async def handler(req: Request, conn: Conn) -> None:
        await conn.send(404, b"[/x] \x1b]0;pwned\x07 \x1b[2J no such thing", content_type="text/plain")

    with FakeServer(handler) as srv:
        r = cli(
            "eval", "-e", srv.url, "--suite", "safety-refusal", "--limit", "2", "--out", str(tmp_path / "o")
        )
    assert r.returncode == 2
    _inert_output(r)
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "[/x]" in errors[0]
