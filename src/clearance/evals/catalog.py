"""The datasets Clearance knows: shipped suites and public benchmarks found in local folders.

``find_datasets(dirs)`` looks, in each folder given (``clearance datasets --dir``, or ``$CLEARANCE_DATASETS``,
else ``./datasets``), for every public benchmark a built-in suite can read — in a subfolder named like the
benchmark (``xstest/``, ``harmbench/``, ``bbq/``, ``gsm8k/`` …) — and loads it with that suite's loader, so
the sha256, license (from ``LICENSE``/``SOURCE.md`` beside the data) and row count are the ones an
evaluation would record. Nothing is downloaded; a benchmark not found is listed as such.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel

from clearance.errors import ClearanceError
from clearance.evals.datasets import get_loader
from clearance.evals.suite import builtin_dir, load_suite

ENV_DIRS = "CLEARANCE_DATASETS"

# suite name -> subfolder names to look in (first match wins)
PUBLIC = {
    "xstest": ("xstest",),
    "harmbench": ("harmbench",),
    "advbench": ("advbench",),
    "bbq": ("bbq",),
    "gsm8k": ("gsm8k",),
    "ifeval": ("ifeval",),
    "jailbreakbench": ("jailbreakbench", "jbb-behaviors", "JBB-Behaviors"),
    "mmlu": ("mmlu", "MMLU"),
    "arc": ("arc", "ARC", "ARC-Challenge", "ARC-V1-Feb2018-2"),
}


class DatasetEntry(BaseModel):
    """One dataset: the suite that reads it, whether and where it was found, its sha256, license and rows."""

    suite: str
    kind: str  # shipped | public
    found: bool
    path: str | None = None
    sha256: str | None = None
    license: str | None = None
    rows: int | None = None
    note: str = ""


def default_dirs() -> list[Path]:
    """``$CLEARANCE_DATASETS`` (``:``-separated), else ``./datasets``."""
    env = os.environ.get(ENV_DIRS)
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [Path("datasets")]


def _loader_of(suite: str) -> str:
    raw = yaml.safe_load((builtin_dir() / f"{suite}.yaml").read_text(encoding="utf-8")) or {}
    return str((raw.get("dataset") or {}).get("loader", suite))


def find_datasets(dirs: list[Path] | None = None) -> list[DatasetEntry]:
    """Shipped suites first, then every known public benchmark, found or not, in the folders given."""
    out: list[DatasetEntry] = []
    for f in sorted(builtin_dir().glob("*.yaml")):
        raw = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        if not (raw.get("dataset") or {}).get("path"):
            continue
        ref = load_suite(f).dataset.ref
        out.append(
            DatasetEntry(
                suite=str(raw.get("name", f.stem)),
                kind="shipped",
                found=True,
                path=ref.source,
                sha256=ref.sha256,
                license=ref.license,
                rows=ref.rows,
            )
        )
    search = dirs if dirs is not None else default_dirs()
    for suite, folders in PUBLIC.items():
        entry = DatasetEntry(
            suite=suite, kind="public", found=False, note="not found in " + ", ".join(map(str, search))
        )
        for d in search:
            for sub in folders:
                cand = d / sub
                if not cand.exists():
                    continue
                try:
                    ds = get_loader(_loader_of(suite))(cand)
                except (ClearanceError, OSError, ValueError) as exc:
                    entry.note = f"{cand}: {exc}"
                    continue
                entry = DatasetEntry(
                    suite=suite,
                    kind="public",
                    found=True,
                    path=str(cand.resolve()),
                    sha256=ds.ref.sha256,
                    license=ds.ref.license,
                    rows=ds.ref.rows,
                    note=f"clearance eval --suite {suite} --data {cand}",
                )
                break
            if entry.found:
                break
        out.append(entry)
    return out


__all__ = ["PUBLIC", "DatasetEntry", "default_dirs", "find_datasets"]
