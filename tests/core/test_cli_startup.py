"""Start-up cost of the CLI: ``clearance --help`` and one command's help load no library box.

Every command module is imported to register its command, so each keeps its library imports inside the
command functions. These tests count the modules a fresh interpreter has loaded (no timing); the times
are measured in ``bench/cli_startup.py``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import clearance.registry

# Third-party packages that only some commands need (the store, signing, reports, the web app, YAML).
HEAVY_PACKAGES = (
    "sqlalchemy",
    "cryptography",
    "jinja2",
    "starlette",
    "yaml",
    "httpx",
    "asyncio",
)
# Loaded with the first progress bar, not before.
HEAVY_MODULES = ("rich.progress",)

# The only ``clearance`` modules start-up may load: the CLI itself and small leaf modules its option
# declarations need (help texts and defaults). A command's library box is imported when it runs.
ALLOWED_CLEARANCE = {
    "clearance",
    "clearance.checks",
    "clearance.errors",
    "clearance.inert",
    "clearance.lazy",
    "clearance.outlock",
    "clearance.progress",
    "clearance.registry",
    "clearance.registry.names",
    "clearance.severity",
}

_LIST = "import sys; print('\\n'.join(sorted(sys.modules)), file=sys.stderr)"


def _modules(code: str) -> set[str]:
    """Modules loaded after running ``code`` in a fresh interpreter (listed on stderr)."""
    proc = subprocess.run(
        [sys.executable, "-c", f"{code}\n{_LIST}"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(proc.stderr.split())


def _unwanted(mods: set[str]) -> list[str]:
    heavy = sorted(m for m in mods if m.split(".")[0] in HEAVY_PACKAGES or m in HEAVY_MODULES)
    boxes = sorted(
        m
        for m in mods
        if m.split(".")[0] == "clearance"
        and m not in ALLOWED_CLEARANCE
        and not (m == "clearance.cli" or m.startswith("clearance.cli."))
    )
    return heavy + boxes


def test_importing_the_cli_loads_no_library_box() -> None:
    mods = _modules("import clearance.cli")
    assert "clearance.cli.cmd_registry" in mods  # every command is registered
    assert _unwanted(mods) == []
    assert "pydantic" not in mods  # typer loads it only to parse a command's options


@pytest.mark.parametrize(
    "args", [["--help"], ["plan", "--help"], ["registry", "status", "--help"], ["vet", "--help"]]
)
def test_help_loads_no_library_box(args: list[str]) -> None:
    code = f"from clearance.cli import main\ntry:\n    main({args!r})\nexcept SystemExit as e:\n    assert not e.code"
    mods = _modules(code)
    assert _unwanted(mods) == []
    if args == ["--help"]:
        assert "pydantic" not in mods


def test_a_command_loads_what_it_runs() -> None:
    """The box is still there when the command runs (the imports moved, they did not go away)."""
    code = "from clearance.cli import main\ntry:\n    main(['plan', '--list-gpus', '--json'])\nexcept SystemExit as e:\n    assert not e.code"
    mods = _modules(code)
    assert "clearance.plan.gpus" in mods
    assert "sqlalchemy" not in mods


def test_every_public_name_of_the_registry_package_resolves() -> None:
    for name in clearance.registry.__all__:
        assert getattr(clearance.registry, name) is not None, name
    with pytest.raises(AttributeError):
        _ = clearance.registry.no_such_name  # type: ignore[attr-defined]


def test_the_registry_verifies_dossiers_without_loading_the_report_templates() -> None:
    """Registry commands verify dossiers; only writing one renders its report (jinja2, templates)."""
    mods = _modules("import clearance.registry.store, clearance.dossier; clearance.dossier.verify_dossier")
    assert "clearance.dossier.writer" in mods
    assert not {"jinja2", "clearance.dossier.report"} & mods
