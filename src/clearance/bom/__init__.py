"""CycloneDX 1.6 ML-BOM for a model artifact: a ``machine-learning-model`` component with hashes, license
and model card, plus one ``file`` component per model file.

Public surface: ``build_bom(artifact) -> dict``, ``validate_bom(bom) -> list[str]`` (structural checks of
the fields Clearance emits; the full JSON-schema check runs in the test suite against the schema that
``cyclonedx-python-lib`` ships), ``write_bom(bom, path)``.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from clearance import __version__
from clearance.evidence import utc_now
from clearance.model.artifact import ModelArtifact

SPEC_VERSION = "1.6"
_SPDX_ID = re.compile(r"^[A-Za-z0-9.\-+]+$")
_TASKS = {
    "llama": "text-generation",
    "qwen2": "text-generation",
    "qwen3": "text-generation",
    "mistral": "text-generation",
    "gemma": "text-generation",
    "gemma2": "text-generation",
    "gemma3": "text-generation",
    "phi3": "text-generation",
}


def _license_entry(art: ModelArtifact) -> list[dict[str, object]]:
    lic = art.license
    if lic.spdx and not lic.spdx.startswith("LicenseRef-") and _SPDX_ID.match(lic.spdx):
        entry: dict[str, object] = {"id": lic.spdx}
    elif lic.id or lic.name:
        entry = {"name": lic.name or lic.id or "unknown"}
    else:
        return []
    if lic.link and lic.link.startswith(("http://", "https://")):
        entry["url"] = lic.link
    return [{"license": entry}]


def _model_card(art: ModelArtifact, ref: str) -> dict[str, object]:
    cfg = art.config or {}
    arch_list = cfg.get("architectures")
    arch = str(arch_list[0]) if isinstance(arch_list, list) and arch_list else None
    family = (
        cfg.get("model_type")
        if isinstance(cfg.get("model_type"), str)
        else art.gguf_metadata.get("general.architecture")
    )
    params: dict[str, object] = {"approach": {"type": "self-supervised"}}
    card = art.card.data if art.card else {}
    task = card.get("pipeline_tag") if isinstance(card.get("pipeline_tag"), str) else _TASKS.get(str(family))
    if task:
        params["task"] = task
    if family:
        params["architectureFamily"] = str(family)
    if arch:
        params["modelArchitecture"] = arch
    params["inputs"] = [{"format": "text"}]
    params["outputs"] = [{"format": "text"}]
    datasets = card.get("datasets")
    if isinstance(datasets, list):
        params["datasets"] = [
            {"type": "dataset", "name": str(d)} for d in datasets[:50] if isinstance(d, str)
        ]
    mc: dict[str, object] = {"bom-ref": f"{ref}-modelcard", "modelParameters": params}
    props = [{"name": "clearance:license.restrictions", "value": ",".join(art.license.rules()) or "none"}]
    if art.card and art.card.error:
        props.append({"name": "clearance:card.error", "value": art.card.error})
    for k in ("base_model", "library_name", "language"):
        v = card.get(k)
        if v:
            props.append(
                {"name": f"huggingface:{k}", "value": json.dumps(v) if not isinstance(v, str) else v}
            )
    mc["properties"] = props
    return mc


def build_bom(art: ModelArtifact, *, serial: str | None = None) -> dict[str, object]:
    """The CycloneDX 1.6 JSON document (as a dict) describing ``art``."""
    ref = "model"
    comp: dict[str, object] = {
        "type": "machine-learning-model",
        "bom-ref": ref,
        "name": art.name,
    }
    if art.revision:
        comp["version"] = art.revision
    if art.manifest_digest:
        comp["hashes"] = [{"alg": "SHA-256", "content": art.manifest_digest}]
    lic = _license_entry(art)
    if lic:
        comp["licenses"] = lic
    comp["modelCard"] = _model_card(art, ref)
    comp["properties"] = [
        {"name": "clearance:artifact.kind", "value": art.kind},
        {"name": "clearance:artifact.total_bytes", "value": str(art.total_bytes)},
        {
            "name": "clearance:digest.method",
            "value": "OMS root digest: sha256 over per-file sha256, sorted by path",
        },
    ]
    if art.license.link and art.license.link.startswith(("http://", "https://")):
        comp["externalReferences"] = [{"type": "license", "url": art.license.link}]
    files = []
    for i, f in enumerate(art.files):
        fc: dict[str, object] = {
            "type": "file",
            "bom-ref": f"file-{i}",
            "name": f.path,
            "properties": [
                {"name": "clearance:role", "value": f.role},
                {"name": "clearance:size", "value": str(f.size)},
            ],
        }
        if f.sha256:
            fc["hashes"] = [{"alg": "SHA-256", "content": f.sha256}]
        files.append(fc)
    comp["components"] = files
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial or f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": utc_now(),
            "tools": {"components": [{"type": "application", "name": "clearance", "version": __version__}]},
            "component": {"type": "machine-learning-model", "bom-ref": "metadata-model", "name": art.name},
        },
        "components": [comp],
    }


def validate_bom(bom: dict[str, object]) -> list[str]:
    """Structural problems of a BOM against the CycloneDX 1.6 rules Clearance relies on (empty = valid)."""
    errs: list[str] = []
    if bom.get("bomFormat") != "CycloneDX":
        errs.append("bomFormat must be 'CycloneDX'")
    if bom.get("specVersion") != SPEC_VERSION:
        errs.append("specVersion must be '1.6'")
    if not re.match(r"^urn:uuid:[0-9a-f-]{36}$", str(bom.get("serialNumber", ""))):
        errs.append("serialNumber must be urn:uuid:<uuid>")
    refs: set[str] = set()

    def walk(comps: object, where: str) -> None:
        if not isinstance(comps, list):
            errs.append(f"{where} must be a list")
            return
        for i, c in enumerate(comps):
            w = f"{where}[{i}]"
            if not isinstance(c, dict) or not c.get("name") or not c.get("type"):
                errs.append(f"{w} needs type and name")
                continue
            r = c.get("bom-ref")
            if r in refs:
                errs.append(f"{w} bom-ref {r!r} is not unique")
            refs.add(str(r))
            for h in c.get("hashes", []):
                if h.get("alg") != "SHA-256" or not re.match(r"^[0-9a-f]{64}$", str(h.get("content"))):
                    errs.append(f"{w} hash must be SHA-256 hex")
            if "modelCard" in c and c["type"] != "machine-learning-model":
                errs.append(f"{w} modelCard only on machine-learning-model")
            if "components" in c:
                walk(c["components"], f"{w}.components")

    walk(bom.get("components"), "components")
    return errs


def write_bom(bom: dict[str, object], path: str | Path) -> Path:
    """Write the BOM as pretty JSON."""
    p = Path(path)
    p.write_text(json.dumps(bom, indent=2) + "\n", encoding="utf-8")
    return p


__all__ = ["SPEC_VERSION", "build_bom", "validate_bom", "write_bom"]
