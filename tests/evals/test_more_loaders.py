"""JailbreakBench, generative MMLU and ARC from local files (original-format rows written here); `clearance datasets`."""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from clearance.endpoint import OpenAIClient
from clearance.errors import InputError
from clearance.evals import load_suite, run_suite
from clearance.evals.catalog import find_datasets
from fakes.openai_server import FakeOpenAI

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"  # ../shared beside the repo


def _jbb(d: Path) -> Path:
    d.mkdir(parents=True)
    with (d / "harmful-behaviors.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Index", "Goal", "Target", "Behavior", "Category", "Source"])
        for i, cat in enumerate(["Malware/Hacking", "Fraud/Deception", "Malware/Hacking"], 1):
            w.writerow([i, f"Write request {i}", "Sure, here is", f"b{i}", cat, "Original"])
    (d / "LICENSE").write_text("MIT License\n")
    return d


def _mmlu(d: Path) -> Path:
    (d / "test").mkdir(parents=True)
    (d / "test" / "astronomy_test.csv").write_text(
        '"What orbits the Earth?",The Moon,Mars,Venus,The Sun,A\n"Hottest planet?",Mars,Venus,Earth,Pluto,B\n'
    )
    (d / "test" / "virology_test.csv").write_text(
        '"A virus is?",A bacterium,A fungus,An infectious agent,A plant,C\n'
    )
    return d


def _arc(d: Path) -> Path:
    d.mkdir(parents=True)
    rows = [
        {
            "id": "q1",
            "question": {
                "stem": "Which is a mammal?",
                "choices": [
                    {"text": "Shark", "label": "A"},
                    {"text": "Whale", "label": "B"},
                    {"text": "Trout", "label": "C"},
                    {"text": "Eel", "label": "D"},
                ],
            },
            "answerKey": "B",
        },
        {
            "id": "q2",
            "question": {
                "stem": "Water boils at?",
                "choices": [
                    {"text": "50 C", "label": "1"},
                    {"text": "100 C", "label": "2"},
                    {"text": "150 C", "label": "3"},
                ],
            },
            "answerKey": "2",
        },
    ]
    (d / "ARC-Challenge-Test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return d


def test_jailbreakbench_loader(tmp_path: Path) -> None:
    s = load_suite("jailbreakbench", data=_jbb(tmp_path / "jbb"))
    assert [x.metadata["category"] for x in s.dataset.samples] == [
        "Malware/Hacking",
        "Fraud/Deception",
        "Malware/Hacking",
    ]
    assert (
        s.dataset.ref.license == "MIT License" and s.dataset.ref.rows == 3 and len(s.dataset.ref.sha256) == 64
    )


def test_mmlu_generative_and_scored_by_letter(tmp_path: Path) -> None:
    s = load_suite("mmlu", data=_mmlu(tmp_path / "mmlu"))
    assert len(s.dataset.samples) == 3 and s.dataset.samples[1].target == "B"
    assert "D. The Sun" in s.messages(s.dataset.samples[0])[0]["content"]

    async def go(url: str) -> object:
        async with OpenAIClient(url, max_retries=0) as c:
            return await run_suite(c, s, tmp_path / "o", progress=False)

    with FakeOpenAI("B") as srv:
        res = asyncio.run(go(srv.url))
    assert res.metrics["accuracy"].value == pytest.approx(1 / 3)  # type: ignore[attr-defined]


def test_arc_numeric_labels_become_letters(tmp_path: Path) -> None:
    s = load_suite("arc", data=_arc(tmp_path / "arc"))
    assert [x.target for x in s.dataset.samples] == ["B", "B"]
    text = s.messages(s.dataset.samples[1])[0]["content"]
    assert "A. 50 C" in text and "C. 150 C" in text and "D." not in text


def test_malformed_rows_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "m" / "test"
    bad.mkdir(parents=True)
    (bad / "x_test.csv").write_text("q,a,b\n")
    with pytest.raises(InputError, match="expected question, A, B, C, D, answer"):
        load_suite("mmlu", data=tmp_path / "m")


def test_datasets_lists_shipped_and_found_and_missing(tmp_path: Path) -> None:
    _jbb(tmp_path / "jailbreakbench")
    entries = {e.suite: e for e in find_datasets([tmp_path])}
    assert entries["safety-refusal"].kind == "shipped" and entries["safety-refusal"].found
    assert entries["jailbreakbench"].found and entries["jailbreakbench"].rows == 3
    assert not entries["xstest"].found and "not found" in entries["xstest"].note
    r = subprocess.run(
        [sys.executable, "-m", "clearance", "datasets", "--dir", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    found = {d["suite"]: d for d in json.loads(r.stdout)["datasets"]}
    assert found["jailbreakbench"]["sha256"] == entries["jailbreakbench"].sha256


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets absent")
def test_datasets_finds_the_shared_benchmarks() -> None:
    entries = {e.suite: e for e in find_datasets([SHARED])}
    for name in ("xstest", "harmbench", "bbq", "gsm8k", "advbench", "ifeval"):
        assert entries[name].found and entries[name].sha256 and entries[name].license, name
    assert entries["xstest"].rows == 450 and entries["xstest"].license == "CC-BY-4.0"
