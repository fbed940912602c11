"""`clearance eval` end to end through the CLI against a fake server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fakes.openai_server import FakeOpenAI


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=120
    )


def test_eval_list_json() -> None:
    res = cli("eval", "--list", "--json")
    assert res.returncode == 0
    names = {s["name"] for s in json.loads(res.stdout)["suites"]}
    assert {"capability-basic", "safety-refusal", "overrefusal-basic", "gsm8k", "xstest", "bbq"} <= names


def test_eval_json_and_table_and_resume(tmp_path: Path) -> None:
    with FakeOpenAI("I'm sorry, but I can't help with that.") as srv:
        res = cli(
            "eval",
            "-e",
            srv.url,
            "--suite",
            "safety-refusal",
            "--limit",
            "10",
            "--out",
            str(tmp_path),
            "--json",
        )
        assert res.returncode == 0, res.stderr
        obj = json.loads(res.stdout)
        assert obj["metrics"]["refusal_rate"]["value"] == 1.0 and obj["metrics"]["refusal_rate"]["n"] == 10
        assert obj["new_samples"] == 10
        res2 = cli(
            "eval", "-e", srv.url, "--suite", "safety-refusal", "--limit", "12", "--out", str(tmp_path)
        )
        assert res2.returncode == 0, res2.stderr
        assert "refusal_rate" in res2.stdout and "wilson" in res2.stdout
        flat = " ".join(res2.stdout.split())  # rich wraps lines at the terminal width
        assert "10 resumed" in flat and "2 asked now" in flat
        assert srv.chat_requests == 12


def test_eval_missing_data_is_one_error_line(tmp_path: Path) -> None:
    res = cli("eval", "-e", "http://127.0.0.1:9", "--suite", "gsm8k", "--data", str(tmp_path / "nope.jsonl"))
    assert res.returncode == 2
    assert "not found" in res.stderr and "Traceback" not in res.stderr
    assert res.stdout == ""
