"""The library never prints: only ``clearance.cli`` talks to the terminal; the rest reports via events."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import clearance
from clearance.errors import InputError
from clearance.progress import NullTask, ProgressTask, open_task, use_progress

ROOT = Path(clearance.__file__).resolve().parent
LIBRARY = sorted(
    p for p in ROOT.rglob("*.py") if p.relative_to(ROOT).parts[0] != "cli" and p.name != "__main__.py"
)


# What draws on a terminal (rich's markup and Text helpers only build strings and stay allowed).
TERMINAL_MODULES = ("rich.console", "rich.progress", "rich.live", "rich.status", "rich.prompt")


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for n in names:
            if n == "clearance.cli" or n.startswith(("clearance.cli.", *TERMINAL_MODULES)):
                out.append(f"{path.name}:{node.lineno} imports {n}")
        if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == "Console":
            out.append(f"{path.name}:{node.lineno} creates a Console")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("print", "input")
        ):
            out.append(f"{path.name}:{node.lineno} calls {node.func.id}()")
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("stdout", "stderr")
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            out.append(f"{path.name}:{node.lineno} uses sys.{node.attr}")
    return out


def test_no_library_module_imports_the_cli_or_a_console_or_prints() -> None:
    assert len(LIBRARY) > 50
    offences = [o for p in LIBRARY for o in _offences(p)]
    assert offences == []


def test_the_scan_would_catch_an_offender(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sys\nfrom clearance.cli.output import err_console\nprint('x')\nsys.stderr.write('y')\n"
    )
    assert len(_offences(bad)) == 3


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def task(self, description: str, total: float | None, **kw: object) -> ProgressTask:
        self.events.append(("open", (description, total, kw.get("unit"))))
        rec = self

        class _T:
            def advance(self, n: float = 1, **fields: object) -> None:
                rec.events.append(("advance", n))

            def close(self) -> None:
                rec.events.append(("close", None))

        return _T()


def test_progress_goes_to_the_sink_given_or_installed_and_is_silent_otherwise(tmp_path: Path) -> None:
    from clearance.model.manifest import build_manifest

    (tmp_path / "a.bin").write_bytes(b"x" * 1000)
    (tmp_path / "b.bin").write_bytes(b"y" * 24)
    assert isinstance(open_task(True, "t", 1), NullTask)  # nothing installed: quiet
    rec = _Recorder()
    build_manifest(tmp_path, progress=True)  # still quiet: no sink installed
    with use_progress(rec):
        m = build_manifest(tmp_path, progress=True)
    assert rec.events[0] == ("open", ("sha256 2 files", 1024, "bytes"))
    assert sum(n for kind, n in rec.events if kind == "advance") == 1024  # type: ignore[misc]
    assert rec.events[-1] == ("close", None) and m.total_bytes == 1024
    other = _Recorder()
    build_manifest(tmp_path, progress=other)  # type: ignore[arg-type]
    assert other.events and other.events[0][0] == "open"


def test_library_errors_name_the_parameter_and_the_cli_shows_the_flag() -> None:
    from clearance.cli.output import flag_message
    from clearance.vet import VetOptions, run_vet

    with pytest.raises(InputError) as err:
        run_vet(VetOptions(model=str(ROOT), limit=0))
    assert err.value.param == "limit" and str(err.value).startswith("limit must be")
    assert flag_message(err.value).startswith("--limit must be")
    with pytest.raises(InputError) as err:
        run_vet(VetOptions(model=str(ROOT), eval_concurrency=0))
    assert flag_message(err.value).startswith("--concurrency must be")
    from clearance.plan import PlanOptions, load_spec, plan

    with pytest.raises(InputError) as err:
        plan(load_spec("Qwen3-32B"), PlanOptions(gpu="H100-SXM", engine="vlm"))
    assert err.value.param == "engine" and flag_message(err.value).startswith("[--engine] unknown engine")


def test_load_config_errors_name_the_parameter() -> None:
    from clearance.cli.output import flag_message
    from clearance.load import LoadConfig

    with pytest.raises(InputError) as err:
        LoadConfig(rate=0.0)
    assert err.value.param == "rate" and flag_message(err.value).startswith("--rate must be > 0")
    with pytest.raises(InputError) as err:
        LoadConfig(concurrency=1, duration_s=-1.0)
    assert flag_message(err.value).startswith("--duration must be > 0 s")
