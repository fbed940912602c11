"""`clearance cost` end to end: JSON shape, tables, charts, and one-line errors on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ARGS = ["cost", "Qwen3.5-27B", "--gpus", "1", "--tokens-per-s", "1500", "--requests-per-day", "50000"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_json_is_one_object_with_summary_and_facts(tmp_path: Path) -> None:
    res = run_cli(*ARGS, "--output-tokens", "300", "--json", "--charts", str(tmp_path / "c"))
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["kind"] == "estimate"
    assert data["capacity"]["source"] == "user"
    ids = {row["id"] for row in data["summary"]}
    assert {"onprem", "rental_on_demand", "rental_reserved", "api.openrouter-qwen3.5-27b"} <= ids
    assert data["policy_facts"]["tco.cheapest_option"] in ids
    onprem = next(o for o in data["options"] if o["id"] == "onprem")
    assert onprem["horizon_total"] == sum(onprem["annual"])
    assert all({"key", "unit", "date", "source", "stale"} <= set(a) for a in data["assumptions"])
    for name in ("cumulative.svg", "tornado.svg"):
        assert (tmp_path / "c" / name).read_text().startswith("<svg xmlns=")


def test_measured_throughput_is_labelled() -> None:
    res = run_cli(
        *ARGS[:2], "--gpus", "1", "--measured-tokens-per-s", "900", "--requests-per-day", "1000", "--json"
    )
    assert res.returncode == 0, res.stderr
    cap = json.loads(res.stdout)["capacity"]
    assert cap["source"] == "measured" and cap["tokens_per_s"] == 900


def test_table_lists_options_assumptions_and_stale_flags() -> None:
    res = run_cli(*ARGS, "--api", "openai-gpt-5.4")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "api.openai-gpt-5.4" in out and "onprem" in out
    stale_lines = [line for line in out.splitlines() if "STALE" in line]
    assert any("onprem.electricity_per_kwh" in line for line in stale_lines)
    assert not any("rental_on_demand" in line for line in stale_lines)


def _main_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI entry point in this process (fast); return its exit status and stderr."""
    from clearance.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return int(exc.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*ARGS[:6], "--requests-per-day", "0"], "requests_per_day must be > 0"),
        ([*ARGS[:6], "--requests-per-day", "-3"], "requests_per_day must be > 0"),
        ([*ARGS[:6], "--users", "10", "--requests-per-user", "0"], "requests_per_user must be > 0"),
        ([*ARGS, "--gpu", "Z9000"], "unknown GPU 'Z9000'"),
        ([*ARGS[:6]], "--requests-per-day"),
        (["cost", "--requests-per-day", "10", "--tokens-per-s", "5"], "need --gpus"),
        ([*ARGS, "--api", "nope"], "unknown API 'nope'"),
        ([*ARGS, "--years", "0"], "years must be 1..15"),
    ],
)
def test_bad_inputs_give_one_readable_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, err = _main_in_process(capsys, *args)
    assert code == 2
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err


def test_price_file_missing_unit_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("onprem:\n  pue: {value: 1.1, date: 2026-10, source: our DC}\n")
    code, err = _main_in_process(capsys, *ARGS, "--prices", str(p))
    assert code == 2
    assert "'onprem.pue' has no unit" in " ".join(err.split()) and "Traceback" not in err


def test_help_has_an_example() -> None:
    res = run_cli("cost", "--help")
    assert res.returncode == 0 and "Example" in res.stdout and "--requests-per-day" in res.stdout
