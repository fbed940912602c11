"""The session's dossiers from fake endpoints (see compare_fixtures.py for what each one plants)."""

from __future__ import annotations

from pathlib import Path

import pytest
from compare_fixtures import answerer, build


@pytest.fixture(scope="session")
def dossiers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare-dossiers")
    return {
        "good": build(root, "good", answerer()),
        "equal": build(root, "equal", answerer(), delay=0.05),
        "regressed": build(root, "regressed", answerer(0.6)),
        "other_settings": build(root, "other_settings", answerer(), max_tokens=32),
    }
