"""A model name with rich markup and terminal escapes, once registered, is shown inert by every command.

Before, ``[/x]`` in a registered model name crashed ``registry list`` and ``registry show`` for everyone
(a rich markup error), and ANSI/OSC escapes in it reached the reviewer's terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from registry_fixtures import PEOPLE, REVIEW_FACTS

from clearance.cli import main

HOSTILE = "[/x][bold green]APPROVED[/]\x1b]0;pwned\x07\x1b[2J\u202eevil"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ei:
        main(list(args))
    out, err = capsys.readouterr()
    code = ei.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_hostile_model_name_in_registry_list_show_status(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    dossier_factory: Callable[..., Path],
    keys: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLEARANCE_REGISTRY", str(tmp_path / "reg.db"))
    cli(capsys, "registry", "init", "--admin", "admin", "--admin-key", str(keys["admin"]))
    cli(capsys, "registry", "enrol", str(keys["runner"].with_suffix(".pub")), "--role", "run-signer",
        "--person", "runner", "--admin-key", str(keys["admin"]))  # fmt: skip
    for person, roles in PEOPLE.items():
        cli(capsys, "registry", "enrol", str(keys[person].with_suffix(".pub")), "--role", ",".join(roles),
            "--person", person, "--admin-key", str(keys["admin"]))  # fmt: skip
    d = dossier_factory(REVIEW_FACTS, name=HOSTILE)
    code, out, err = cli(capsys, "registry", "add", str(d))
    assert code == 0, err
    for args in (
        ["registry", "list"],
        ["registry", "show", "1"],
        ["registry", "status", "1"],
        ["dossier", "show", str(d)],
    ):
        code, out, err = cli(capsys, *args)
        text = out + err
        assert code in (0, 3), (args, text)
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text, args
        assert "Traceback" not in text and "MarkupError" not in text, args
    code, out, _ = cli(capsys, "registry", "show", "1")
    assert "[/x][bold green]APPROVED[/]" in "".join(out.split()).replace("boldgreen", "bold green")
