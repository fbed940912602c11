"""Manifest hashing: Clearance vs `sha256sum` vs `model-signing`'s own hashing, on the same files, one run.

Usage: .venv/bin/python bench/hash_vs_peers.py [--files 4] [--size-mb 512] [--dir bench/.work/hash]

Generates N random files (once; reused), then times, warm (page cache primed by one untimed read of every
file before the first tool, so every tool reads from memory and the comparison is of hashing, not of the
disk): clearance (default workers and workers=1), `sha256sum` on all files (single process, like
model-signing's CLI would be used), and model-signing 1.x `hashing.Config().use_file_serialization()`
(installed in bench/.venvs/ms; skipped when absent). Tools run round-robin `--repeat` times; each tool's best time counts.
Every tool's digests are cross-checked. Prints MB/s and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from clearance.model.manifest import build_manifest

REPO = Path(__file__).resolve().parents[1]
MS_PY = REPO / "bench" / ".venvs" / "ms" / "bin" / "python"

MS_CODE = r"""
import json, sys, time
from model_signing import hashing
t = time.perf_counter()
m = hashing.Config().use_file_serialization(hashing_algorithm="sha256").hash(sys.argv[1])
dt = time.perf_counter() - t
out = {d.identifier: d.digest.digest_hex for d in m.resource_descriptors()}
print(json.dumps({"seconds": dt, "digests": out}))
"""


def make_files(d: Path, n: int, size_mb: int) -> list[Path]:
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = d / f"model-{i + 1:05d}-of-{n:05d}.safetensors"
        if not p.exists() or p.stat().st_size != size_mb << 20:
            with open(p, "wb") as f:
                for _ in range(size_mb):
                    f.write(os.urandom(1 << 20))
        paths.append(p)
    return paths


def warm(paths: list[Path]) -> None:
    for p in paths:
        with open(p, "rb") as f:
            while f.read(16 << 20):
                pass


def run_clearance(d: Path, workers: int | None) -> tuple[float, dict[str, str]]:
    t = time.perf_counter()
    m = build_manifest(d, workers=workers)
    return time.perf_counter() - t, m.digests()


def run_sha256sum(d: Path, paths: list[Path]) -> tuple[float, dict[str, str]]:
    t = time.perf_counter()
    out = subprocess.run(
        ["sha256sum", *[p.name for p in paths]], cwd=d, capture_output=True, text=True, check=True
    )
    dt = time.perf_counter() - t
    return dt, {line.split()[1].lstrip("*"): line.split()[0] for line in out.stdout.splitlines()}


def run_model_signing(d: Path) -> tuple[float, dict[str, str]]:
    res = subprocess.run([str(MS_PY), "-c", MS_CODE, str(d)], capture_output=True, text=True, check=True)
    obj = json.loads(res.stdout)
    return float(obj["seconds"]), obj["digests"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--size-mb", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=REPO / "bench" / ".work" / "hash")
    args = ap.parse_args()
    paths = make_files(args.dir, args.files, args.size_mb)
    total = sum(p.stat().st_size for p in paths)
    warm(paths)
    tools: dict[str, object] = {
        "clearance (default workers)": lambda: run_clearance(args.dir, None),
        "clearance (workers=1)": lambda: run_clearance(args.dir, 1),
    }
    if shutil.which("sha256sum"):
        tools["sha256sum (1 process)"] = lambda: run_sha256sum(args.dir, paths)
    if MS_PY.exists():
        tools["model-signing 1.1.1 (file serialization)"] = lambda: run_model_signing(args.dir)
    # Round-robin: every repeat runs every tool once, so background load hits all tools alike.
    results: dict[str, tuple[float, dict[str, str]]] = {}
    for _ in range(args.repeat):
        for name, fn in tools.items():
            t, digests = fn()  # type: ignore[operator]
            if name not in results or t < results[name][0]:
                results[name] = (t, digests)
    ref = results["clearance (default workers)"][1]
    print(
        f"{args.files} files x {args.size_mb} MiB = {total / 1e9:.2f} GB, warm page cache, best of {args.repeat}, "
        f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}"
    )
    for name, (t, digests) in results.items():
        same = all(digests.get(k) == v for k, v in ref.items())
        print(f"  {name:44s} {t:7.2f} s  {total / t / 1e6:8.0f} MB/s  digests agree: {same}")
    c, c1 = results["clearance (default workers)"][0], results["clearance (workers=1)"][0]
    for peer in ("sha256sum (1 process)", "model-signing 1.1.1 (file serialization)"):
        if peer in results:
            t = results[peer][0]
            print(
                f"  throughput ratio clearance/{peer.split()[0]}: default workers {t / c:.2f}x, workers=1 {t / c1:.2f}x"
            )


if __name__ == "__main__":
    main()
