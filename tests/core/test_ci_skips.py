"""Under CI, a skip for a tool .ci/run installs becomes a failure; other skips stay skips."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

PROBE = """
import pytest

def test_needs_chromium():
    pytest.skip("chromium not installed")

def test_needs_shared_data():
    pytest.skip("../shared/datasets not present")
"""


def _run(tmp_path: Path, ci: str) -> str:
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "conftest.py").write_text((TESTS / "conftest.py").read_text())
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfs", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "CI": ci},
        timeout=120,
    )
    return r.stdout


def test_ci_turns_tool_skips_into_failures(tmp_path: Path) -> None:
    out = _run(tmp_path, "true")
    assert "1 failed, 1 skipped" in out and "must not skip" in out


def test_without_ci_skips_stay_skips(tmp_path: Path) -> None:
    out = _run(tmp_path, "")
    assert "2 skipped" in out
