"""CLI contracts every command keeps: --help with an example, --json as one object on stdout, one error line.

Help is checked in process (fast); the JSON, error and Ctrl-C contracts run the real console entry point
as a subprocess, as a user would.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clearance.cli import app
from fakes.openai_server import REFUSAL, FakeOpenAI, fake_server

sys.path.insert(0, str(Path(__file__).parent / "vet"))
from test_vet import tiny_model


def _command_paths() -> Iterator[list[str]]:
    root = typer.main.get_command(app)
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        sub = getattr(cmd, "commands", None)
        if sub:
            for s in sub:
                yield [name, s]
        else:
            yield [name]


COMMANDS = list(_command_paths())


def cli(*args: str, timeout: float = 60, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    """The run failed with exactly one ``error:`` line on stderr, no traceback, nothing on stdout."""
    assert r.returncode not in (0, None), r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, r.stderr
    assert r.stdout.strip() == "", r.stdout
    return errors[0]


def test_the_command_list_is_complete() -> None:
    names = {" ".join(p) for p in COMMANDS}
    assert {"vet", "demo", "serve", "plan", "cost", "scan", "eval", "loadtest", "dossier verify"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_has_help_with_an_example_and_a_json_option(path: list[str]) -> None:
    res = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "Example" in res.output, f"`clearance {' '.join(path)} --help` shows no example"
    assert "--json" in res.output, f"`clearance {' '.join(path)}` has no --json"


def _json_only(r: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert "Traceback" not in r.stderr, r.stderr
    doc = json.loads(r.stdout)  # the whole of stdout is one JSON document
    assert isinstance(doc, dict)
    return doc


def test_artifact_commands_print_one_json_object(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    keys = tmp_path / "keys"
    doc = _json_only(cli("keygen", str(keys), "--json"))
    assert cli("keygen", str(keys), "--json").returncode == 2  # never overwrites a private key
    priv = next(p for p in keys.iterdir() if p.suffix == ".key")
    pub = next(p for p in keys.iterdir() if p.suffix == ".pub")
    assert doc
    sig = tmp_path / "m.sig"
    _json_only(cli("sign", str(model), "--key", str(priv), "--out", str(sig), "--json"))
    ok = cli("verify-signature", str(model), "--sig", str(sig), "--key", str(pub), "--json")
    assert ok.returncode == 0 and _json_only(ok)
    (model / "config.json").write_text("{}")  # tamper: the signature must no longer hold
    bad = cli("verify-signature", str(model), "--sig", str(sig), "--key", str(pub), "--json")
    assert bad.returncode == 1 and "config.json" in one_error_line(bad)
    assert _json_only(cli("bom", str(model), "--json"))
    man = _json_only(cli("manifest", str(model), "--json"))
    assert "config.json" in json.dumps(man)


def test_vet_and_dossier_commands_print_one_json_object(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    out = tmp_path / "run"
    r = cli("vet", str(model), "--out", str(out), "--json")
    assert r.returncode == 3 and _json_only(r)["status"] == "needs_review"
    v = cli("dossier", "verify", str(out), "--json")
    assert v.returncode == 0 and _json_only(v)["ok"] is True
    s = cli("dossier", "show", str(out), "--json")
    assert s.returncode == 0 and _json_only(s)


@pytest.mark.parametrize(
    "args",
    [
        ["vet", "{missing}"],
        ["scan", "{missing}"],
        ["manifest", "{missing}"],
        ["bom", "{missing}"],
        ["plan", "{missing}"],
        ["dossier", "verify", "{missing}"],
        ["dossier", "show", "{missing}"],
    ],
    ids=lambda a: " ".join(a[:-1]),
)
def test_missing_path_is_one_error_line(args: list[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model")
    line = one_error_line(cli(*[a.replace("{missing}", missing) for a in args], "--json"))
    assert "no-such-model" in line


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    r = cli("--debug", "vet", str(tmp_path / "nope"))
    assert r.returncode != 0 and "Traceback" in r.stderr and "InputError" in r.stderr


def test_bad_numbers_and_unknown_gpu_are_one_error_line(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    assert "H1000" in one_error_line(cli("plan", str(model), "--gpu", "H1000"))
    assert "users" in one_error_line(cli("cost", "Qwen3.5-9B", "--users", "-5", "--requests-per-user", "2"))
    assert "--limit" in one_error_line(cli("vet", str(model), "--limit", "0", "--out", str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()


def test_malformed_policy_yaml_is_one_error_line_and_nothing_is_written(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    pol = tmp_path / "bad.yaml"
    pol.write_text("name: x\ngates: [\n")
    line = one_error_line(cli("vet", str(model), "--policy", str(pol), "--out", str(tmp_path / "run")))
    assert "bad.yaml" in line and not (tmp_path / "run").exists()


def test_endpoint_refusing_connections_is_one_error_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = one_error_line(cli("loadtest", "--endpoint", f"http://127.0.0.1:{port}", "-c", "1", "--json"))
    assert str(port) in line


def test_serve_on_a_port_in_use_is_one_error_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        line = one_error_line(cli("serve", "--port", str(port), "--json"))
    assert str(port) in line or "llama" in line  # without the local extra it names what is missing


def test_usage_errors_keep_typers_rendering_and_exit_2() -> None:
    r = cli("plan", "--no-such-option")
    assert r.returncode == 2 and "No such option" in r.stderr and "Traceback" not in r.stderr


def _interrupt(
    args: list[str], wait_for: Path | None, delay_s: float, started: Callable[[], bool] | None = None
) -> subprocess.CompletedProcess[str]:
    p = subprocess.Popen(
        [sys.executable, "-m", "clearance", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    if wait_for is not None:
        while time.monotonic() < deadline and not (wait_for.is_file() and wait_for.stat().st_size > 0):
            time.sleep(0.1)
    elif started is not None:
        while time.monotonic() < deadline and not started():
            time.sleep(0.05)
    else:
        time.sleep(delay_s)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def test_ctrl_c_in_loadtest_against_slow_fake_prints_one_line_and_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "load"
    with fake_server(delay_s=1.0) as url:
        r = _interrupt(
            ["loadtest", "--endpoint", url, "-c", "1", "--requests", "100", "--out", str(out)],
            out / "requests.jsonl",
            0,
        )
    assert r.returncode == 130, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("interrupted:")]
    assert len(lines) == 1 and str(out) in lines[0], r.stderr
    assert "Traceback" not in r.stderr and "Aborted" not in r.stderr
    assert (out / "requests.jsonl").read_text().count("\n") >= 1  # what finished is kept


def test_ctrl_c_without_an_out_dir_says_nothing_was_kept(tmp_path: Path) -> None:
    # Ctrl-C once the command is sending requests (not while Python still imports): wait for the first one.
    with FakeOpenAI(REFUSAL, delay=2.0) as srv:
        r = _interrupt(
            ["loadtest", "--endpoint", f"{srv.url}/v1", "-c", "1", "--requests", "50"],
            None,
            0,
            started=lambda: srv.chat_requests >= 1,
        )
    assert r.returncode == 130, r.stderr
    assert [ln for ln in r.stderr.splitlines() if ln.startswith("interrupted:")] == [
        "interrupted: stopped by Ctrl-C; nothing more was written"
    ]


_SIGINT_DURING_IMPORT = """
import os, signal, sys
class Hook:  # delivers Ctrl-C while the CLI's own modules are being imported
    def find_spec(self, name, path=None, target=None):
        if name == "clearance.cli.app":
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, Hook())
import clearance.__main__ as m
m.run()
"""


def test_ctrl_c_while_the_cli_is_still_importing_is_one_line_not_a_traceback() -> None:
    p = subprocess.run(
        [sys.executable, "-c", _SIGINT_DURING_IMPORT, "--help"], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 130, p.stderr
    assert "Traceback" not in p.stderr
    assert p.stderr.strip() == "interrupted: stopped by Ctrl-C while starting; nothing was written"
