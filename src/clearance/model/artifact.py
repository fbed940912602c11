"""Artifact intake: what a model source contains (files, roles, digests, config, card, license).

``intake(path, hash=True)`` reads a Hugging Face directory, a Hugging Face cache entry
(``models--org--name`` or ``.../snapshots/REV``), a single GGUF file or legacy PyTorch pickles. It never
executes or unpickles anything; JSON and YAML are parsed with size caps and duplicate keys rejected.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

from clearance.errors import FormatError, ModelSourceError
from clearance.evidence import utc_now
from clearance.model.card import ModelCard, read_card
from clearance.model.layout import Layout, LinkProblem, discover
from clearance.model.license import LicenseInfo, detect_license
from clearance.model.manifest import hash_layout, root_digest

MAX_JSON_BYTES = 16 << 20
MAX_LICENSE_BYTES = 1 << 20

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib")
TOKENIZER_FILES = {
    "tokenizer.json",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
    "vocab.txt",
    "special_tokens_map.json",
    "added_tokens.json",
    "spiece.model",
    "tiktoken.model",
}
LICENSE_PREFIXES = ("license", "licence", "notice", "use_policy", "usage_policy", "copying")


class FileEntry(BaseModel):
    """One file of the artifact: relative posix path, size, sha256 (``None`` without hashing) and role."""

    path: str
    size: int
    sha256: str | None = None
    role: str


class LinkIssue(BaseModel):
    """A symlink that was not followed (escapes the model root, broken, a directory, a loop)."""

    path: str
    target: str
    reason: str


class ModelArtifact(BaseModel):
    """Everything intake learned about a model source, bound to its bytes by per-file sha256."""

    root: str
    kind: str
    name: str
    revision: str | None = None
    files: list[FileEntry]
    total_bytes: int
    manifest_digest: str | None = None
    config: dict[str, object] | None = None
    generation_config: dict[str, object] | None = None
    config_error: str | None = None
    card: ModelCard | None = None
    license: LicenseInfo
    gguf_metadata: dict[str, object] = Field(default_factory=dict)
    link_issues: list[LinkIssue] = Field(default_factory=list)
    read_at: str = Field(default_factory=utc_now)

    def files_with_role(self, *roles: str) -> list[FileEntry]:
        """The files whose role is one of ``roles``."""
        return [f for f in self.files if f.role in roles]

    def policy_facts(self) -> dict[str, object]:
        """Flat facts for policy gates (``model.*`` and ``license.*``)."""
        facts: dict[str, object] = {
            "model.name": self.name,
            "model.kind": self.kind,
            "model.files": len(self.files),
            "model.bytes": self.total_bytes,
            "model.digest": self.manifest_digest,
            "model.has_pickle": bool(self.files_with_role("weights-pickle", "pickle")),
            "model.has_remote_code": bool(self.files_with_role("code"))
            or bool(isinstance(self.config, dict) and self.config.get("auto_map")),
            "model.symlink_issues": len(self.link_issues),
        }
        facts.update(self.license.policy_facts())
        return facts


def classify(rel: str) -> str:
    """The role of a file by its path: config, tokenizer, weights-*, code, card, license, ..."""
    name = rel.rsplit("/", 1)[-1]
    low = name.lower()
    if low == "config.json":
        return "config"
    if low == "generation_config.json":
        return "generation-config"
    if low == "tokenizer_config.json":
        return "tokenizer-config"
    if low in TOKENIZER_FILES:
        return "tokenizer"
    if low in ("chat_template.jinja", "chat_template.json") or low.endswith(".jinja"):
        return "chat-template"
    if low.endswith(".safetensors"):
        return "weights-safetensors"
    if low.endswith(".safetensors.index.json") or low.endswith(".bin.index.json"):
        return "weights-index"
    if low.endswith(".gguf"):
        return "weights-gguf"
    if low.endswith(PICKLE_SUFFIXES):
        return "weights-pickle" if low.startswith(("pytorch_model", "model", "consolidated")) else "pickle"
    if low.endswith((".py", ".pyc", ".so", ".dylib", ".dll", ".sh")):
        return "code"
    if low in ("readme.md", "model_card.md", "modelcard.md"):
        return "card"
    if low.startswith(LICENSE_PREFIXES):
        return "license"
    if low.endswith((".onnx", ".h5", ".keras", ".pb", ".tflite", ".npz", ".npy", ".msgpack", ".mlmodel")):
        return "weights-other"
    return "other"


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def read_json_bounded(path: Path, *, limit: int = MAX_JSON_BYTES, rel: str | None = None) -> object:
    """Parse a JSON file of at most ``limit`` bytes, rejecting duplicate keys; ``FormatError`` otherwise."""
    name = rel or path.name
    size = path.stat().st_size
    if size > limit:
        raise FormatError(f"is {size} bytes; the limit for a JSON file is {limit}", file=name, field="size")
    raw = path.read_bytes()
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except UnicodeDecodeError as exc:
        raise FormatError("is not UTF-8", file=name, field="encoding") from exc
    except RecursionError as exc:
        raise FormatError("is nested too deeply", file=name, field="json") from exc
    except ValueError as exc:
        raise FormatError(f"is not valid JSON: {exc}", file=name, field="json") from exc


def read_json_object(layout: Layout, rel: str) -> tuple[dict[str, object] | None, str | None]:
    """``(object, error)`` for a JSON file of the layout; missing file → ``(None, None)``."""
    f = layout.by_rel().get(rel)
    if f is None:
        return None, None
    try:
        data = read_json_bounded(f.real, rel=rel)
    except FormatError as exc:
        return None, str(exc)
    if not isinstance(data, dict):
        return None, f"{rel}: top level is a JSON {type(data).__name__}, not an object"
    return data, None


def read_text_bounded(path: Path, limit: int) -> str:
    """At most ``limit`` bytes of a file, decoded as UTF-8 with replacement."""
    with open(path, "rb") as f:
        return f.read(limit).decode("utf-8", errors="replace")


def gguf_summary(path: Path) -> dict[str, object]:
    """Scalar provenance/licence metadata of a GGUF file (arrays dropped; chat templates kept)."""
    from clearance.model.gguf import read_gguf

    g = read_gguf(path)
    keep: dict[str, object] = {}
    for k, v in g.metadata.items():
        if isinstance(v, list):
            continue
        if isinstance(v, str) and len(v) > 256 << 10:
            v = v[: 256 << 10]
        keep[k] = v
    keep["gguf.version"] = g.version
    keep["gguf.tensor_count"] = len(g.tensors)
    return keep


def _kind(layout: Layout) -> str:
    roles = {classify(f.rel) for f in layout.files}
    if layout.kind == "hf-cache":
        return "hf-cache"
    if layout.kind == "file":
        only = next(iter(roles), "other")
        return {
            "weights-gguf": "gguf",
            "weights-safetensors": "safetensors",
            "weights-pickle": "pytorch",
            "pickle": "pytorch",
        }.get(only, "file")
    if "config" in roles and (
        "weights-safetensors" in roles or "weights-pickle" in roles or "weights-index" in roles
    ):
        return "hf-dir"
    if "weights-gguf" in roles:
        return "gguf-dir"
    if roles & {"weights-pickle", "pickle"}:
        return "pytorch"
    if "config" in roles:
        return "hf-dir"
    return "dir"


def intake(
    path: str | Path, *, hash: bool = True, workers: int | None = None, progress: bool = False
) -> ModelArtifact:
    """Read a model source into a ``ModelArtifact`` (sha256 of every file unless ``hash=False``)."""
    layout = discover(path)
    if not layout.files:
        raise ModelSourceError(f"{path}: the model directory holds no files")
    digests = hash_layout(layout.files, workers=workers, progress=progress) if hash else {}
    files = [
        FileEntry(path=f.rel, size=f.size, sha256=digests.get(f.rel), role=classify(f.rel))
        for f in layout.files
    ]
    config, cfg_err = read_json_object(layout, "config.json")
    gen, gen_err = read_json_object(layout, "generation_config.json")
    card: ModelCard | None = None
    by = layout.by_rel()
    for f in files:
        if f.role == "card" and "/" not in f.path:
            card = read_card(by[f.path].real, f.path)
            break
    texts = {
        f.path: read_text_bounded(by[f.path].real, MAX_LICENSE_BYTES)
        for f in files
        if f.role == "license" and "/" not in f.path
    }
    gguf_meta: dict[str, object] = {}
    gguf_lic: str | None = None
    gguf_rel = "model.gguf"
    ggufs = [f for f in files if f.role == "weights-gguf"]
    if ggufs:
        gguf_rel = ggufs[0].path
        try:
            gguf_meta = gguf_summary(by[gguf_rel].real)
        except FormatError as exc:
            gguf_meta = {"error": str(exc)}
        lic = gguf_meta.get("general.license")
        gguf_lic = lic if isinstance(lic, str) else None
    license_info = detect_license(
        card.data if card else None,
        texts,
        gguf_lic,
        card_path=card.path if card else "README.md",
        gguf_path=gguf_rel,
    )
    kind = _kind(layout)
    name = layout.repo_name or (
        str(gguf_meta.get("general.name"))
        if kind == "gguf" and gguf_meta.get("general.name")
        else (files[0].path if layout.kind == "file" and files else Path(layout.root).name)
    )
    return ModelArtifact(
        root=str(layout.root if layout.kind != "file" else layout.files[0].real),
        kind=kind,
        name=name,
        revision=layout.revision,
        files=files,
        total_bytes=sum(f.size for f in files),
        manifest_digest=root_digest((f.path, d) for f, d in ((f, digests[f.path]) for f in files))
        if hash
        else None,
        config=config,
        generation_config=gen,
        config_error=cfg_err or gen_err,
        card=card,
        license=license_info,
        gguf_metadata=gguf_meta,
        link_issues=[_issue(p) for p in layout.problems],
    )


def _issue(p: LinkProblem) -> LinkIssue:
    return LinkIssue(path=p.rel, target=p.target, reason=p.reason)
