"""Bad input is one `error:` line and exit 2, never a traceback; numeric options are validated.

Every case here was a traceback (or silently accepted) before: a policy nested 5,000 deep, non-UTF-8
suite and data files, --out on a file or with a 300-byte name, an endpoint with port 99999 or a broken
IPv6 literal, --max-tokens 0, --timeout nan, --rate inf, an empty model directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fakes.openai_server import free_port


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def one_error_line(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, r.stderr
    for n in needles:
        assert n in errors[0], errors[0]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "deep.yaml").write_text("name: x\ngates: " + "[" * 5000 + "]" * 5000 + "\n")
    (tmp_path / "latin1-suite.yaml").write_bytes(
        b"name: caf\xe9\ndataset: {loader: jsonl, path: ok.jsonl, license: t}\nscorers: [numeric]\nmetrics: [accuracy]\n"
    )
    (tmp_path / "ok.jsonl").write_text('{"id": "1", "input": "1+1?", "target": "2"}\n')
    (tmp_path / "bad-data.yaml").write_text(
        "name: y\ndataset: {loader: jsonl, path: bad.jsonl, license: t}\nscorers: [numeric]\nmetrics: [accuracy]\n"
    )
    (tmp_path / "bad.jsonl").write_bytes(b'{"id": "1", "input": "caf\xe9", "target": "2"}\n')
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "empty-model").mkdir()
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text('{"model_type": "llama"}')
    return tmp_path


def test_policy_nested_5000_deep(files: Path) -> None:
    r = cli("vet", str(files / "model"), "--policy", str(files / "deep.yaml"), "--out", str(files / "o"))
    one_error_line(r, "nested too deeply")


@pytest.mark.parametrize(
    ("suite", "needle"), [("latin1-suite.yaml", "not UTF-8"), ("bad-data.yaml", "bad.jsonl: not UTF-8")]
)
def test_non_utf8_suite_and_data_files(files: Path, suite: str, needle: str) -> None:
    r = cli(
        "eval",
        "-e",
        f"http://127.0.0.1:{free_port()}",
        "--suite",
        str(files / suite),
        "--out",
        str(files / "o"),
    )
    one_error_line(r, needle)


@pytest.mark.parametrize("command", ["eval", "vet", "loadtest"])
def test_out_pointing_at_a_file(files: Path, command: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    args = {
        "eval": ["eval", "-e", url, "--suite", "safety-refusal"],
        "vet": ["vet", str(files / "model"), "--endpoint", url],
        "loadtest": ["loadtest", "-e", url, "-c", "1"],
    }[command]
    r = cli(*args, "--out", str(files / "a-file"))
    one_error_line(r, "not a directory")


@pytest.mark.parametrize("command", ["eval", "vet"])
def test_out_with_a_300_byte_name(files: Path, command: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    args = {
        "eval": ["eval", "-e", url, "--suite", "safety-refusal"],
        "vet": ["vet", str(files / "model"), "--endpoint", url],
    }[command]
    r = cli(*args, "--out", str(files / ("n" * 300)))
    one_error_line(r, "255 bytes")


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://[::1", "http://:8000", "http://h:0/v1"])
@pytest.mark.parametrize("command", ["eval", "vet", "loadtest"])
def test_malformed_endpoint_urls(files: Path, url: str, command: str) -> None:
    args = {
        "eval": ["eval", "-e", url, "--suite", "safety-refusal", "--out", str(files / "o")],
        "vet": ["vet", str(files / "model"), "--endpoint", url, "--out", str(files / "o")],
        "loadtest": ["loadtest", "-e", url, "-c", "1"],
    }[command]
    r = cli(*args)
    one_error_line(r, "endpoint URL")
    assert not (files / "o" / "stages").exists()  # refused before any stage ran


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["vet", "{model}", "--max-tokens", "0"], "--max-tokens"),
        (["vet", "{model}", "--concurrency", "0"], "--concurrency"),
        (["loadtest", "-e", "{url}", "-c", "1", "--max-tokens", "0"], "--max-tokens"),
        (["loadtest", "-e", "{url}", "-c", "1", "--timeout", "nan"], "--timeout"),
        (["loadtest", "-e", "{url}", "--rate", "inf"], "--rate"),
        (["loadtest", "-e", "{url}", "--rate", "nan"], "--rate"),
        (["loadtest", "-e", "{url}", "-c", "1", "--duration", "inf"], "--duration"),
        (["eval", "-e", "{url}", "--suite", "safety-refusal", "--timeout", "nan"], "--timeout"),
        (["eval", "-e", "{url}", "--suite", "safety-refusal", "--timeout", "-1"], "--timeout"),
        (["eval", "-e", "{url}", "--suite", "safety-refusal", "--concurrency", "0"], "--concurrency"),
        (["eval", "-e", "{url}", "--suite", "safety-refusal", "--limit", "0"], "--limit"),
    ],
)
def test_numeric_options_are_validated(files: Path, args: list[str], needle: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    r = cli(*[a.format(model=files / "model", url=url) for a in args], "--out", str(files / "o"))
    one_error_line(r, needle)


def test_empty_model_directory(files: Path) -> None:
    r = cli("vet", str(files / "empty-model"), "--out", str(files / "o"))
    one_error_line(r, "holds no files")
    r = cli("scan", str(files / "empty-model"))
    one_error_line(r, "empty directory")
