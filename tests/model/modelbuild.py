"""Builders of small model directories (HF layout, HF cache layout) for intake tests."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

APACHE_HEAD = "\n                                 Apache License\n                           Version 2.0, January 2004\n"


def make_hf_dir(root: Path, *, card: str | None = None, license_text: str | None = APACHE_HEAD) -> Path:
    """A tiny Hugging Face-style model directory (config, tokenizer config, a fake shard, card)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 64}))
    (root / "generation_config.json").write_text(json.dumps({"temperature": 0.7}))
    (root / "tokenizer_config.json").write_text(
        json.dumps({"chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"})
    )
    (root / "model.safetensors").write_bytes(b"\x00" * 4096)
    (root / "README.md").write_text(card if card is not None else "---\nlicense: apache-2.0\n---\n# Tiny\n")
    if license_text is not None:
        (root / "LICENSE").write_text(license_text)
    return root


def make_hf_cache(base: Path, files: dict[str, bytes], rev: str = "a" * 40) -> Path:
    """A Hugging Face cache entry models--org--tiny with snapshot symlinks into blobs/."""
    repo = base / "models--org--tiny"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(rev)
    snap = repo / "snapshots" / rev
    snap.mkdir(parents=True)
    for rel, data in files.items():
        blob = hashlib.sha256(data).hexdigest()
        (repo / "blobs" / blob).write_bytes(data)
        target = snap / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        depth = rel.count("/")
        os.symlink("../" * (depth + 2) + "blobs/" + blob, target)
    return repo
