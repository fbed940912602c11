"""Fixtures for model intake tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelbuild import make_hf_dir


@pytest.fixture()
def hf_dir(tmp_path: Path) -> Path:
    return make_hf_dir(tmp_path / "tiny")
