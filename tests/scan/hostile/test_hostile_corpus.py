"""The hostile corpus end to end: every file ends in the right finding (or a clean error) within bounded
time and memory, in a child process under an address-space cap; plus the CLI and fuzzing of the readers
that the corpus exercises (zip members, tar, compressed pickles, .npy, card YAML, JSON configs, templates).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hostile_corpus import CASES, EVIL, Case, benign_torch_zip, put, torch_zip_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import clearance.cli.cmd_scan  # noqa: F401  (registers the command)
from clearance.cli.app import app
from clearance.errors import FormatError
from clearance.findings import Severity
from clearance.model.artifact import read_json_bounded
from clearance.model.card import parse_card_text
from clearance.model.pytorch_zip import read_zip_directory
from clearance.scan import scan_path
from clearance.scan.chat_template import analyze_template

RUNNER = Path(__file__).with_name("hostile_runner.py")
MEM_BYTES = 1536 << 20  # address space for the whole child (interpreter, pydantic, jinja2 included)
CASE_SECONDS = 20
RANK = {s.value: s.rank for s in Severity}


@pytest.fixture(scope="module")
def corpus_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    """Build every case and scan them all in one capped child process; results by case name."""
    base = tmp_path_factory.mktemp("hostile")
    listing = []
    for c in CASES:
        d = base / c.name
        d.mkdir()
        listing.append([c.name, str(c.build(d))])
    spec = base / "spec.json"
    spec.write_text(json.dumps({"mem_bytes": MEM_BYTES, "seconds": CASE_SECONDS, "cases": listing}))
    proc = subprocess.run(
        [sys.executable, str(RUNNER), str(spec)], capture_output=True, text=True, timeout=600
    )
    results = {}
    for line in proc.stdout.splitlines():
        o = json.loads(line)
        results[o["name"]] = o
    _remove_deep(base / "hf-deep-directories")  # pytest's own cleanup recurses and would overflow
    if proc.returncode != 0:
        last = [ln for ln in proc.stderr.splitlines() if ln.startswith("START ")][-1:]
        pytest.fail(f"corpus child died (rc {proc.returncode}) during {last}: {proc.stderr[-2000:]}")
    return results


def _remove_deep(root: Path) -> None:
    """Delete a very deep directory tree bottom-up without recursion."""
    for dirpath, _subdirs, filenames in _walk_bottom_up(root):
        for fn in filenames:
            os.unlink(os.path.join(dirpath, fn))
        os.rmdir(dirpath)


def _walk_bottom_up(root: Path) -> list[tuple[str, list[str], list[str]]]:
    """(dir, subdirs, files) deepest first, iteratively."""
    out: list[tuple[str, list[str], list[str]]] = []
    stack = [str(root)]
    while stack:
        d = stack.pop()
        if not os.path.isdir(d):
            continue
        subdirs, files = [], []
        for e in os.scandir(d):
            (subdirs if e.is_dir(follow_symlinks=False) else files).append(e.name)
        out.append((d, subdirs, files))
        stack.extend(os.path.join(d, s) for s in subdirs)
    return out[::-1]


def _verdict(c: Case, o: dict[str, object]) -> str | None:
    """None when the outcome is acceptable, else why not."""
    if "findings" not in o:
        if o.get("outcome") == "error" and c.min_sev not in ("clean",):
            return None  # a clear typed error is acceptable for hostile input
        return f"{o.get('outcome')}: {o.get('error')}"
    findings = o["findings"]
    assert isinstance(findings, list)
    crashed = [f for f in findings if f[0] == "SCAN-CHECK-ERROR"]
    if crashed:
        return f"a check crashed: {crashed}"
    if c.min_sev == "any":
        return None
    if c.min_sev == "clean":
        bad = [f for f in findings if RANK[f[1]] >= RANK["medium"] and not f[0].startswith("LICENSE")]
        return f"benign file has findings: {bad}" if bad else None
    good = [f for f in findings if RANK[f[1]] >= RANK[c.min_sev] and (not c.rules or f[0] in c.rules)]
    if good:
        return None
    return (
        f"expected {c.rules or 'any rule'} at >= {c.min_sev}, got {sorted({(f[0], f[1]) for f in findings})}"
    )


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_hostile_case_ends_in_the_right_finding_within_bounds(
    c: Case, corpus_results: dict[str, dict[str, object]]
) -> None:
    o = corpus_results.get(c.name)
    assert o is not None, f"{c.name}: no result (child killed?)"
    assert float(o["seconds"]) < CASE_SECONDS  # type: ignore[arg-type]
    why = _verdict(c, o)
    assert why is None, f"{c.name}: {why}"


def test_corpus_peak_memory_is_bounded(corpus_results: dict[str, dict[str, object]]) -> None:
    peak = max(int(o["peak_rss_mb"]) for o in corpus_results.values())  # type: ignore[call-overload]
    assert 0 < peak < 1024, f"peak RSS {peak} MB"


def test_cli_json_on_a_directory_of_hostile_files_exits_1_with_one_json_object(tmp_path: Path) -> None:
    names = {"pickle-p0-os-system", "zip-encrypted-flag-plaintext", "st-nan", "gguf-nested-arrays",
             "hf-fifo", "hf-markup-filename", "tar-legacy-torch", "npz-object-array"}  # fmt: skip
    for c in CASES:
        if c.name in names:
            d = tmp_path / c.name
            d.mkdir()
            c.build(d)
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-c", "from clearance.cli import main; main()", "scan", str(tmp_path), "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    rules = {f["rule"] for f in doc["findings"]}
    assert {
        "PICKLE-GLOBAL-DANGEROUS",
        "SPECIAL-FILE",
        "SAFETENSORS-HEADER",
        "GGUF-ARRAY",
        "NPY-OBJECT",
    } <= rules
    assert "SCAN-CHECK-ERROR" not in rules


def test_cli_table_prints_file_names_that_look_like_rich_markup(tmp_path: Path) -> None:
    put(tmp_path / "[bold]x[/bold]", "[/link][/]model.pkl", EVIL)
    res = CliRunner().invoke(app, ["scan", str(tmp_path / "[bold]x[/bold]")])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.exit_code == 1
    assert "[/link][/]model.pkl" in res.output.replace("\n", "")


def test_scan_of_a_fifo_path_is_a_clean_error_not_a_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.bin")
    res = CliRunner().invoke(app, ["scan", str(tmp_path / "pipe.bin")])
    assert res.exit_code == 2
    assert "neither a regular file nor a directory" in res.output


# ----------------------------------------------------------------------------------------------- fuzzing
def _flip(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    b = bytearray(data)
    for pos, val in edits:
        b[pos % len(b)] = val
    return bytes(b)


_SEEDS = {
    "torch.pt": benign_torch_zip(),
    "evil.pt": torch_zip_bytes({"archive/data.pkl": EVIL}, compression=zipfile.ZIP_DEFLATED),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.sampled_from(sorted(_SEEDS)),
    edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.integers(0, 4000),
)
def test_fuzz_mutated_zip_checkpoints_never_crash_a_check(
    tmp_path: Path, seed: str, edits: list[tuple[int, int]], cut: int
) -> None:
    data = _flip(_SEEDS[seed], edits)
    data = data[: len(data) - cut % max(1, len(data) // 2)]
    p = tmp_path / f"f{abs(hash((seed, tuple(edits), cut)))}" / "model.pt"
    put(p.parent, p.name, data)
    rep = scan_path(p)
    assert not [f for f in rep.findings if f.rule == "SCAN-CHECK-ERROR"]


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_zip_central_directory_parser_raises_only_format_errors(blob: bytes) -> None:
    data = b"PK\x03\x04" + blob + b"PK\x05\x06" + blob[:18].ljust(18, b"\0")
    try:
        listing = read_zip_directory(io.BytesIO(data), len(data), name="fuzz.zip")
    except FormatError:
        return
    assert all(e.local_offset >= 0 for e in listing.entries)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["gz", "bz2", "xz", "tar", "npy"]),
    edits=st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), max_size=6),
)
def test_fuzz_compressed_tar_and_npy_routes_never_crash(
    tmp_path: Path, kind: str, edits: list[tuple[int, int]]
) -> None:
    import bz2
    import gzip
    import lzma
    import tarfile

    if kind == "tar":
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            info = tarfile.TarInfo("pickle")
            info.size = len(EVIL)
            t.addfile(info, io.BytesIO(EVIL))
        data, name = buf.getvalue(), "m.pt"
    elif kind == "npy":
        header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".ljust(117) + b"\n"
        data, name = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + EVIL, "a.npy"
    else:
        comp = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[kind]
        data, name = comp(EVIL), f"m.pkl.{kind}"
    data = _flip(data, edits) if edits else data
    d = tmp_path / f"c{abs(hash((kind, tuple(edits))))}"
    put(d, name, data)
    rep = scan_path(d / name)
    assert not [f for f in rep.findings if f.rule == "SCAN-CHECK-ERROR"]
    if not edits:
        assert any(f.rule == "PICKLE-GLOBAL-DANGEROUS" for f in rep.findings)


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("-:\n &*[]{}!|>'\"#abc01 ")), max_size=300))
def test_fuzz_card_front_matter_parses_or_records_an_error(body: str) -> None:
    card = parse_card_text("---\n" + body + "\n---\n# card\n")
    assert card.error is None or isinstance(card.error, str)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_fuzz_json_config_reader_raises_only_format_errors(tmp_path: Path, blob: bytes) -> None:
    p = tmp_path / "config.json"
    p.write_bytes(blob)
    with contextlib.suppress(FormatError):
        read_json_bounded(p, rel="config.json")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}%#()[]'\".|_~+ abcxy*0123456789\n")), max_size=160))
def test_fuzz_chat_template_analysis_never_raises(src: str) -> None:
    findings = analyze_template(src, "tokenizer_config.json")
    assert all(f.rule.startswith("CHAT-TEMPLATE") for f in findings)
