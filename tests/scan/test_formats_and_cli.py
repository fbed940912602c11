"""Scan checks over real layouts (torch zips, legacy streams, safetensors, GGUF) and the `clearance scan` CLI."""

from __future__ import annotations

import json
import pickle
import struct
import zipfile
from pathlib import Path

import pytest
from scanbuild import pk_call, safetensors_bytes, small_gguf, torch_like_pickle, write
from typer.testing import CliRunner

import clearance.cli.cmd_scan  # noqa: F401  (registers the command; independent of other commands)
from clearance.cli.app import app
from clearance.findings import Severity
from clearance.scan import scan_path

FORMAT_RULE_PREFIXES = ("SAFETENSORS", "GGUF", "PICKLE", "ZIP", "PYTORCH", "TORCHSCRIPT", "NPY")


def mine(path: Path) -> list:
    """Findings of this box's checks only (other boxes' checks run too)."""
    return [f for f in scan_path(path).findings if f.rule.startswith(FORMAT_RULE_PREFIXES)]


def torch_zip(
    path: Path, pkl: bytes, *, extra: dict[str, bytes] | None = None, pkl_name: str = "archive/data.pkl"
) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(pkl_name, pkl)
        z.writestr("archive/data/0", struct.pack("<4f", 1, 2, 3, 4))
        z.writestr("archive/version", "3\n")
        for k, v in (extra or {}).items():
            z.writestr(k, v)
    return path


def test_benign_torch_zip_safetensors_and_gguf_are_clean_at_high(tmp_path: Path) -> None:
    torch_zip(tmp_path / "pytorch_model.bin", torch_like_pickle())
    write(tmp_path / "model.safetensors", safetensors_bytes({"w": ("F32", [2, 2])}, {"format": "pt"}))
    write(tmp_path / "model.gguf", small_gguf())
    found = mine(tmp_path)
    assert all(f.severity < Severity.medium for f in found), found
    assert (
        {f.rule for f in found} == {"PICKLE-FILE"} or not found or all(f.rule == "PICKLE-FILE" for f in found)
    )


def test_real_smollm2_gguf_passes_clean(smollm2_gguf: Path) -> None:
    assert mine(smollm2_gguf) == []


def test_malicious_torch_zip_and_hidden_pickle_member(tmp_path: Path) -> None:
    torch_zip(tmp_path / "a.pt", pk_call("os", "system"))
    hidden = pk_call("subprocess", "Popen")
    torch_zip(tmp_path / "b.pth", torch_like_pickle(), extra={"archive/extra_state": hidden})
    by_file: dict[str, set[str]] = {}
    for f in mine(tmp_path):
        by_file.setdefault(f.file, set()).add(f.rule)
    assert "PICKLE-GLOBAL-DANGEROUS" in by_file["a.pt"]
    assert {"PICKLE-GLOBAL-DANGEROUS", "ZIP-HIDDEN-PICKLE"} <= by_file["b.pth"]


def test_zip_traversal_duplicates_nested_and_crc(tmp_path: Path) -> None:
    inner = tmp_path / "inner.zip"
    torch_zip(inner, pk_call("os", "system"))
    p = tmp_path / "c.ckpt"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("archive/data.pkl", torch_like_pickle())
        z.writestr("../../etc/cron.d/x", "boom")
        z.writestr("/abs", "x")
        z.writestr("nested.zip", inner.read_bytes())
    inner.unlink()
    rules = {f.rule for f in mine(tmp_path)}
    assert {"ZIP-TRAVERSAL", "ZIP-NESTED", "PICKLE-GLOBAL-DANGEROUS"} <= rules
    # flip one byte of the pickle data: CRC mismatch is reported, the scan still reads the member like torch does
    raw = bytearray(p.read_bytes())
    i = raw.index(b"OrderedDict")
    raw[i] = ord("P")
    p.write_bytes(bytes(raw))
    assert "ZIP-CRC" in {f.rule for f in mine(tmp_path)}


def test_zip_bomb_declared_sizes(tmp_path: Path) -> None:
    p = tmp_path / "bomb.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\0" * (80 << 20))
    assert "ZIP-BOMB" in {f.rule for f in mine(tmp_path)}


def test_legacy_torch_stream_and_polyglot_prefix(tmp_path: Path) -> None:
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    legacy = magic + pickle.dumps(1001, protocol=2) + pickle.dumps({"x": 1}, protocol=2)
    legacy += (
        torch_like_pickle() + pickle.dumps(["0"], protocol=2) + struct.pack("<Q", 4) + b"cos\nsystem\n" * 3
    )
    write(tmp_path / "legacy.bin", legacy)
    assert all(f.severity < Severity.medium for f in mine(tmp_path)), mine(tmp_path)
    # a pickle prefixed to a zip: torch.load reads it as a legacy pickle, and so does the scan
    z = tmp_path / "z.zip"
    torch_zip(z, torch_like_pickle())
    write(tmp_path / "poly.pt", pk_call("os", "system") + z.read_bytes())
    z.unlink()
    assert "PICKLE-GLOBAL-DANGEROUS" in {f.rule for f in mine(tmp_path / "poly.pt")}


def test_renamed_formats_are_routed_by_content(tmp_path: Path) -> None:
    write(tmp_path / "weights.dat2", pk_call("os", "system"))  # unknown extension (CVE-2025-10155 class)
    write(tmp_path / "model.bin2", safetensors_bytes({"w": ("F32", [2])}) + b"junk")
    bad_gguf = bytearray(small_gguf())
    bad_gguf[4:8] = struct.pack("<I", 9)
    write(tmp_path / "blob", bytes(bad_gguf))
    rules = {f.file: f.rule for f in mine(tmp_path)}
    assert rules["weights.dat2"] == "PICKLE-GLOBAL-DANGEROUS" or "weights.dat2" in rules
    assert rules["model.bin2"] == "SAFETENSORS-TRAILING"
    assert rules["blob"] == "GGUF-VERSION"


def test_object_npy_pickle_is_analysed(tmp_path: Path) -> None:
    payload = pk_call("os", "system", proto=3)
    hdr = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    hdr += b" " * (64 - 10 - len(hdr) - 1) + b"\n"
    write(tmp_path / "x.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + payload)
    rules = {f.rule for f in mine(tmp_path)}
    assert {"NPY-OBJECT", "PICKLE-GLOBAL-DANGEROUS"} <= rules


def test_malformed_files_become_findings_not_crashes(tmp_path: Path) -> None:
    write(tmp_path / "a.safetensors", struct.pack("<Q", 10**15) + b"{}")
    write(tmp_path / "b.gguf", b"GGUF\x03\x00\x00\x00" + b"\xff" * 16)
    write(tmp_path / "c.pt", b"PK\x03\x04 truncated zip")
    write(tmp_path / "d.pkl", b"\x80\x05\x95garbage")
    found = mine(tmp_path)
    assert {f.file for f in found if f.severity >= Severity.high} == {
        "a.safetensors",
        "b.gguf",
        "c.pt",
        "d.pkl",
    }
    assert not any(f.rule == "SCAN-CHECK-ERROR" for f in scan_path(tmp_path).findings)


runner = CliRunner()


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    write(tmp_path / "ok" / "model.safetensors", safetensors_bytes({"w": ("F32", [2])}))
    write(tmp_path / "bad" / "evil.pkl", pk_call("os", "system"))
    ok = runner.invoke(app, ["scan", str(tmp_path / "ok")])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["scan", str(tmp_path / "bad"), "--json"])
    assert bad.exit_code == 1
    doc = json.loads(bad.stdout)
    assert doc["failed"] is True and any(f["rule"] == "PICKLE-GLOBAL-DANGEROUS" for f in doc["findings"])
    assert doc["facts"]["scan.max_severity"] == "critical"
    low = runner.invoke(app, ["scan", str(tmp_path / "bad"), "--fail-on", "critical"])
    assert low.exit_code == 1
    missing = runner.invoke(app, ["scan", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    badopt = runner.invoke(app, ["scan", str(tmp_path / "ok"), "--fail-on", "severe"])
    assert badopt.exit_code == 2


@pytest.mark.parametrize("fail_on,code", [("low", 1), ("medium", 0)])
def test_cli_fail_on_threshold(tmp_path: Path, fail_on: str, code: int) -> None:
    torch_zip(tmp_path / "m.bin", torch_like_pickle())  # only a low PICKLE-FILE finding
    r = runner.invoke(app, ["scan", str(tmp_path / "m.bin"), "--fail-on", fail_on])
    assert r.exit_code == code, r.output


def test_safetensors_shard_index_is_cross_checked(tmp_path: Path) -> None:
    write(
        tmp_path / "model-00001-of-00002.safetensors",
        safetensors_bytes({"a": ("F32", [2]), "b": ("F32", [2])}),
    )
    write(tmp_path / "model-00002-of-00002.safetensors", safetensors_bytes({"c": ("F32", [2])}))
    good = {
        "metadata": {"total_size": 24},
        "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00001-of-00002.safetensors",
            "c": "model-00002-of-00002.safetensors",
        },
    }
    idx = tmp_path / "model.safetensors.index.json"
    idx.write_text(json.dumps(good))
    assert [f for f in mine(tmp_path) if f.rule == "SAFETENSORS-INDEX"] == []
    bad = dict(
        good,
        weight_map={
            "a": "model-00001-of-00002.safetensors",
            "z": "model-00003-of-00003.safetensors",
            "c": "../x.safetensors",
        },
    )
    idx.write_text(json.dumps(bad))
    assert any("outside" in f.message for f in mine(tmp_path) if f.rule == "SAFETENSORS-INDEX")
    bad["weight_map"] = {
        "a": "model-00001-of-00002.safetensors",
        "z": "model-00003-of-00003.safetensors",
        "c": "model-00002-of-00002.safetensors",
    }
    idx.write_text(json.dumps(bad))
    msgs = [f.message for f in mine(tmp_path) if f.rule == "SAFETENSORS-INDEX"]
    assert any("missing" in m for m in msgs) and any("does not map" in m for m in msgs)


def test_raw_bin_that_is_not_a_pickle_is_low_but_disguised_payload_is_not(tmp_path: Path) -> None:
    write(tmp_path / "openvino_model.bin", bytes(range(256)) * 64)  # raw weights, no pickle
    write(
        tmp_path / "weights.pkl", b"(S'id'\nios\nsystem\n."
    )  # protocol-0 INST payload that does not sniff as pickle
    by_file: dict[str, set[str]] = {}
    for f in mine(tmp_path):
        by_file.setdefault(f.file, set()).add(f.rule)
    assert by_file["openvino_model.bin"] == {"PICKLE-NOT-PICKLE"}
    assert "PICKLE-GLOBAL-DANGEROUS" in by_file["weights.pkl"]
