"""Fixtures for dossier tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from dossier_fixtures import _run_dir

from clearance.dossier import RunDir


@pytest.fixture
def run_dir(tmp_path: Path) -> RunDir:
    """A begun run directory with one stage file and one per-sample JSONL file."""
    return _run_dir(tmp_path)
