"""Manifests: parallel hashing equals hashlib, reference formats (ours, HF, sha256sum, OMS), comparison."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from modelbuild import make_hf_cache, make_hf_dir

from clearance.errors import InputError
from clearance.model.manifest import (
    build_manifest,
    compare,
    git_blob_sha1,
    load_reference,
    root_digest,
    write_manifest,
)


def _files(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in d.rglob("*") if p.is_file()}


@pytest.mark.parametrize("workers", [1, 4])
def test_digests_equal_hashlib(tmp_path: Path, workers: int) -> None:
    d = make_hf_dir(tmp_path / "m")
    (d / "big.bin").write_bytes(bytes(range(256)) * 200_000)  # 51 MB: several 16 MiB chunks
    m = build_manifest(d, workers=workers)
    for rel, data in _files(d).items():
        assert m.digests()[rel] == hashlib.sha256(data).hexdigest()
    assert m.total_bytes == sum(len(v) for v in _files(d).values())
    expected = hashlib.sha256(
        b"".join(bytes.fromhex(hashlib.sha256(v).hexdigest()) for _, v in sorted(_files(d).items()))
    ).hexdigest()
    assert m.root_digest == expected


def test_own_manifest_round_trip_and_tamper_detection(tmp_path: Path) -> None:
    d = make_hf_dir(tmp_path / "m")
    ref = write_manifest(build_manifest(d), tmp_path / "ref.json")
    assert compare(build_manifest(d), load_reference(ref)).ok
    (d / "model.safetensors").write_bytes(b"\x01" * 4096)
    (d / "config.json").unlink()
    (d / "extra.py").write_text("import os")
    c = compare(build_manifest(d), load_reference(ref))
    assert c.missing == ["config.json"]
    assert c.extra == ["extra.py"]
    assert [m["path"] for m in c.mismatched] == ["model.safetensors"]
    assert not c.ok


def test_sha256sum_output_is_accepted(tmp_path: Path) -> None:
    d = make_hf_dir(tmp_path / "m")
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum not installed")
    names = sorted(_files(d))
    out = subprocess.run(["sha256sum", *names], cwd=d, capture_output=True, text=True, check=True).stdout
    (tmp_path / "SHA256SUMS").write_text(out)
    ref = load_reference(tmp_path / "SHA256SUMS")
    assert ref.format == "sha256sum" and len(ref.entries) == len(names)
    assert compare(build_manifest(d), ref).ok


def test_hf_listing_with_lfs_sha256_and_git_blob_ids(tmp_path: Path) -> None:
    d = make_hf_dir(tmp_path / "m")
    siblings = []
    for rel, data in _files(d).items():
        if rel.endswith(".safetensors"):
            siblings.append(
                {
                    "rfilename": rel,
                    "size": len(data),
                    "lfs": {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)},
                }
            )
        else:
            siblings.append({"rfilename": rel, "size": len(data), "blob_id": git_blob_sha1(d / rel)})
    (tmp_path / "info.json").write_text(json.dumps({"id": "org/tiny", "siblings": siblings}))
    ref = load_reference(tmp_path / "info.json")
    assert ref.format == "huggingface"
    assert compare(build_manifest(d), ref).ok
    (d / "config.json").write_text('{"model_type": "evil"}')
    c = compare(build_manifest(d), ref)
    assert {m["path"]: m["field"] for m in c.mismatched} == {"config.json": "size"} or c.mismatched[0][
        "field"
    ] in ("size", "git_sha1")


def test_git_blob_sha1_matches_git() -> None:
    # `printf 'hello\n' | git hash-object --stdin` == ce013625030ba8dba906f756967f9e9ca394464a
    import tempfile

    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(b"hello\n")
    assert git_blob_sha1(Path(f.name)) == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_hf_cache_manifest_names_files_by_snapshot_path(tmp_path: Path) -> None:
    repo = make_hf_cache(tmp_path, {"config.json": b"{}", "model.safetensors": b"w" * 10})
    m = build_manifest(repo)
    assert m.name == "org/tiny"
    assert m.digests() == {
        "config.json": hashlib.sha256(b"{}").hexdigest(),
        "model.safetensors": hashlib.sha256(b"w" * 10).hexdigest(),
    }


@pytest.mark.parametrize(
    "content,needle",
    [
        ("not a listing\n", "not `sha256sum` output"),
        ('{"weird": [1]}', "unrecognised"),
        ("a" * 64 + "  ../../etc/passwd\n", "unsafe path"),
        ("", "lists no files"),
        ("a" * 64 + "  x\n" + "b" * 64 + "  x\n", "twice"),
        ("{bad json", "not valid JSON"),
    ],
)
def test_bad_reference_listings_are_input_errors(tmp_path: Path, content: str, needle: str) -> None:
    p = tmp_path / "ref"
    p.write_text(content)
    with pytest.raises(InputError, match=needle):
        load_reference(p)


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=300))
def test_reference_parser_never_crashes(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    p = tmp_path_factory.mktemp("r") / "ref"
    p.write_text(text, encoding="utf-8")
    with contextlib.suppress(InputError):
        load_reference(p)


def test_root_digest_is_order_independent() -> None:
    a = [("b", "00" * 32), ("a", "11" * 32)]
    assert root_digest(a) == root_digest(list(reversed(a)))
    assert root_digest(a) == hashlib.sha256(bytes.fromhex("11" * 32) + bytes.fromhex("00" * 32)).hexdigest()


def test_cli_manifest_json_and_against(tmp_path: Path) -> None:
    d = make_hf_dir(tmp_path / "m")
    out = tmp_path / "man.json"
    res = subprocess.run(
        [sys.executable, "-m", "clearance", "manifest", str(d), "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    obj = json.loads(res.stdout)
    assert obj["root_digest"] == json.loads(out.read_text())["root_digest"]
    (d / "LICENSE").write_text("changed")
    res = subprocess.run(
        [sys.executable, "-m", "clearance", "manifest", str(d), "--against", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 1
    assert "mismatched LICENSE" in res.stdout
