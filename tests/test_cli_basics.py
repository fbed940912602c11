"""The CLI skeleton: version, help, and one-line errors instead of tracebacks."""

from __future__ import annotations

import subprocess
import sys

from clearance import __version__


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=120
    )


def test_version_prints_installed_version() -> None:
    res = run_cli("--version")
    assert res.returncode == 0
    assert res.stdout.strip() == f"clearance {__version__}"


def test_help_lists_commands() -> None:
    res = run_cli("--help")
    assert res.returncode == 0
    assert "Usage" in res.stdout
