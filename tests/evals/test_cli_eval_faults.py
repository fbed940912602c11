"""`clearance eval` against an endpoint that fails every request: one error line, exit 2, records kept.

Before, such a run printed a table of dashes and exited 0, as if something had been measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fakes.openai_server import FakeOpenAI


def test_fake_every_request_failing_exits_2_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "o"
    with FakeOpenAI("42", fail_with_500=("",)) as srv:  # "" is in every prompt: every chat request gets 500
        r = subprocess.run(
            [sys.executable, "-m", "clearance", "eval", "-e", srv.url, "--suite", "safety-refusal",
             "--limit", "4", "--retries", "0", "--out", str(out), "--json"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert r.returncode == 2, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no answer to any of 4 requests" in errors[0], r.stderr
    assert json.loads(r.stdout)["n_failed"] == 4  # --json still prints what was recorded
    assert len((out / "samples.jsonl").read_text().splitlines()) == 4


def test_fake_some_requests_failing_still_exits_0(tmp_path: Path) -> None:
    with FakeOpenAI("42", fail_with_500=("pipe bomb",)) as srv:
        r = subprocess.run(
            [sys.executable, "-m", "clearance", "eval", "-e", srv.url, "--suite", "safety-refusal",
             "--limit", "4", "--retries", "0", "--out", str(tmp_path / "o"), "--json"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["n_completed"] >= 1
