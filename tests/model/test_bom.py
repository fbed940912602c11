"""CycloneDX 1.6 ML-BOM: structure, hashes, license, model card; validated against the official schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from modelbuild import make_hf_dir

from clearance.bom import build_bom, validate_bom
from clearance.model import intake

REPO = Path(__file__).resolve().parents[2]
CDX_PY = REPO / "bench" / ".venvs" / "cdx" / "bin" / "python"


def _bom(tmp_path: Path) -> dict[str, object]:
    card = (
        "---\nlicense: apache-2.0\npipeline_tag: text-generation\ndatasets: [c4]\nbase_model: org/base\n---\n"
    )
    d = make_hf_dir(tmp_path / "m", card=card)
    return build_bom(intake(d))


def test_bom_structure(tmp_path: Path) -> None:
    bom = _bom(tmp_path)
    assert validate_bom(bom) == []
    comps = bom["components"]
    assert isinstance(comps, list)
    model = comps[0]
    assert model["type"] == "machine-learning-model"
    assert model["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert model["modelCard"]["modelParameters"]["task"] == "text-generation"
    assert model["modelCard"]["modelParameters"]["architectureFamily"] == "llama"
    files = {c["name"]: c for c in model["components"]}
    assert files["config.json"]["hashes"][0]["alg"] == "SHA-256"
    assert len(files["config.json"]["hashes"][0]["content"]) == 64


def test_validate_bom_catches_broken_documents(tmp_path: Path) -> None:
    bom = _bom(tmp_path)
    bom["specVersion"] = "1.4"
    bom["components"][0]["components"][0]["hashes"] = [{"alg": "MD5", "content": "x"}]  # type: ignore[index]
    errs = validate_bom(bom)
    assert any("specVersion" in e for e in errs) and any("SHA-256" in e for e in errs)


@pytest.mark.skipif(not CDX_PY.exists(), reason="cyclonedx-python-lib not installed in bench/.venvs/cdx")
def test_bom_validates_against_cyclonedx_1_6_json_schema(tmp_path: Path) -> None:
    bom = _bom(tmp_path)
    (tmp_path / "bom.json").write_text(json.dumps(bom))
    code = (
        "import sys\nfrom cyclonedx.schema import SchemaVersion\nfrom cyclonedx.validation.json import JsonStrictValidator\n"
        "err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\n"
        "print(err if err else 'VALID')\n"
    )
    res = subprocess.run(
        [str(CDX_PY), "-c", code, str(tmp_path / "bom.json")], capture_output=True, text=True, timeout=120
    )
    assert res.stdout.strip() == "VALID", res.stdout + res.stderr


def test_cli_bom_writes_file(tmp_path: Path) -> None:
    d = make_hf_dir(tmp_path / "m")
    out = tmp_path / "bom.json"
    res = subprocess.run(
        [sys.executable, "-m", "clearance", "bom", str(d), "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["specVersion"] == "1.6"
    assert json.loads(out.read_text())["components"][0]["name"] == "m"
