"""The workload file: the documented example loads; every mistake names the file and line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clearance.tco.compare import _select_apis, model_family
from clearance.tco.prices import load_prices
from clearance.workload import WorkloadFileError, load_workload, parse_workload

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "workload.yaml"

BASE = """\
name: t
traffic:
  requests_per_day: 1000
tokens:
  prompt: {p50: 100, p90: 300}
  output: {mean: 50}
"""


def test_example_workload_loads_and_derives_its_shape() -> None:
    wl = load_workload(EXAMPLE)
    t = wl.traffic_workload()
    # the daily profile sets hours of use (12 non-zero hours) and the peak factor (max / mean of those)
    weights = [w for w in wl.traffic.daily_profile or [] if w > 0]
    assert t.hours_per_day == len(weights) == 12
    assert t.peak_factor == pytest.approx(max(weights) / (sum(weights) / len(weights)))
    assert t.requests_per_day == 40000 and t.days_per_year == 250 and t.growth == 0.3
    # prompt mean from percentiles lies between p50 and p99 and says it is an estimate
    mean, how = wl.tokens.prompt.expected()
    assert 900 < mean < 6000 and "estimated from percentiles" in how
    assert wl.max_model_len() == 8192
    assert wl.hardware.gpu_types() == ["H100-SXM", "L40S"]
    assert any("estimated from percentiles" in a for a in wl.assumptions())


def test_histogram_mean_uses_bucket_midpoints() -> None:
    wl = parse_workload(
        BASE.replace(
            "output: {mean: 50}", "output: {histogram: [{upto: 100, share: 1}, {upto: 300, share: 1}]}"
        )
    )
    assert wl.tokens.output.expected()[0] == pytest.approx((50 + 200) / 2)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (BASE + "slo: {ttft_p95: 2}\n", 7, ["unknown key", "slo.ttft_p95", "ttft_p95_s"]),
        (
            BASE.replace("requests_per_day: 1000", "requests_per_day: -5"),
            3,
            ["requests_per_day", "greater than 0"],
        ),
        (BASE.replace("p90: 300", "p90: 30"), 5, ["percentiles must not decrease"]),
        (BASE + "hardware:\n  purchasable: [H100-SXM, NoSuchGPU]\n", 8, ["NoSuchGPU"]),
        (BASE + "traffic2: 1\n", 7, ["unknown key", "did you mean 'traffic'"]),
        (
            BASE.replace(
                "traffic:\n  requests_per_day: 1000\n",
                "traffic:\n  daily_profile: [1, 2]\n  requests_per_day: 5\n",
            ),
            2,
            ["24 hourly weights"],
        ),
        ("name: t\ntraffic: {requests_per_day: 10}\n", 1, ["missing required key 'tokens'"]),
        ("traffic: [1\n", 2, ["not valid YAML"]),
    ],
)
def test_errors_name_file_line_and_key(text: str, line: int, words: list[str]) -> None:
    with pytest.raises(WorkloadFileError) as e:
        parse_workload(text, source="w.yaml")
    msg = str(e.value)
    assert msg.startswith(f"workload w.yaml:{line}:"), msg
    for w in words:
        assert w in msg, msg
    assert "\n" not in msg


def test_hosted_api_is_the_same_family_or_none_never_an_unrelated_model() -> None:
    book = load_prices()
    assert model_family("Qwen3.5-122B-A10B") == model_family("Qwen3.5-9B") == "qwen3.5"
    assert model_family("SmolLM2 135M 8k Lc100K Mix1 Ep2") == "smollm2"
    assert model_family("tiny") == ""
    exact = _select_apis(book, None, "Qwen3.5-27B")
    assert exact and all(book.api_model(a) == "Qwen3.5-27B" for a in exact)
    family = _select_apis(book, None, "Qwen3.5-35B-A3B")  # no API serves this size: its family's do
    assert family and all(model_family(book.api_model(a) or "") == "qwen3.5" for a in family)
    assert _select_apis(book, None, "SmolLM2-135M-Instruct") == []
    assert _select_apis(book, None, "tiny") == []
    assert _select_apis(book, ["anthropic-claude-haiku-4.5"], "tiny") == ["anthropic-claude-haiku-4.5"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=120
    )


def test_cost_and_plan_take_the_workload_file() -> None:
    r = _cli("cost", "Qwen3.5-27B", "--workload", str(EXAMPLE), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["gpu"] == "H100-SXM"  # the file's first GPU type, as no --gpu was given
    assert doc["workload"]["requests_per_day"] == 40000 and doc["years"] == 3
    assert doc["workload"]["hours_per_day"] == 12
    p = _cli("plan", "Qwen3.5-27B", "--workload", str(EXAMPLE), "--gpu", "L40S", "--json")
    assert p.returncode == 0, p.stderr
    plan = json.loads(p.stdout)
    assert plan["estimate"] is True and [s["gpu"] for s in plan["sizings"]] == ["L40S"]
    s = plan["sizings"][0]
    assert s["fits"] and s["gpus_per_replica"] >= 1 and s["replicas"] >= 1


def test_bad_workload_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    f = tmp_path / "w.yaml"
    f.write_text(BASE + "slo: {ttft_p95_s: -1}\n")
    r = _cli("cost", "Qwen3.5-9B", "--workload", str(f))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and f"{f}:7" in r.stderr


def test_cost_sizes_each_sequence_for_the_files_context_length(tmp_path: Path) -> None:
    long = tmp_path / "long.yaml"
    long.write_text(EXAMPLE.read_text().replace("context_length: 8192 ", "context_length: 200000 "))
    caps = []
    for f in (EXAMPLE, long):
        r = _cli("cost", "Qwen3.5-27B", "--workload", str(f), "--json")
        assert r.returncode == 0, r.stderr
        caps.append(json.loads(r.stdout)["capacity"])
    # 200k-token sequences leave room for far fewer at once than 8k ones on the same GPU
    assert caps[1]["concurrency"] < caps[0]["concurrency"]
    assert caps[1]["tokens_per_s"] < caps[0]["tokens_per_s"]
