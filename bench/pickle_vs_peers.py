"""Clearance's static pickle analysis vs picklescan and fickling on the same generated corpus, in one run.

Setup (once): python -m venv bench/.venvs/pickle && bench/.venvs/pickle/bin/pip install picklescan fickling typing_extensions
Run:          .venv/bin/python bench/pickle_vs_peers.py [--repeat 5]

Prints a detection table (who flags which file; ``benign-*`` flagged = false positive) and the mean time per file.
Clearance "flags" a file when ``scan_path`` reports a finding of severity high or worse; picklescan when it
counts the file infected (default mode; ``strict`` = any non-innocuous global); fickling when the severity is
above LIKELY_SAFE. A scanner error on a malicious file counts as a miss, on a benign file as a false positive.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pickle_corpus import build

from clearance.findings import Severity
from clearance.scan import scan_path
from clearance.scan.checks import ScanContext
from clearance.scan.formats import check_pickles

PEER_PY = Path(__file__).parent / ".venvs" / "pickle" / "bin" / "python"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="timing repetitions per file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = build(Path(tmp) / "corpus")
        clearance: dict[str, tuple[bool, float, str]] = {}
        pickle_only: dict[str, float] = {}
        scan_path(files[0])  # warm the check registry
        for f in files:
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                rep = scan_path(f)
                times.append(time.perf_counter() - t0)
            worst = [x for x in rep.findings if x.severity >= Severity.high]
            ctx = ScanContext(root=f.parent, files=(Path(f.name),))
            only = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                list(check_pickles(ctx))
                only.append(time.perf_counter() - t0)
            pickle_only[f.name] = statistics.median(only)
            clearance[f.name] = (
                bool(worst),
                statistics.median(times),
                ",".join(sorted({x.rule for x in worst})),
            )
        peers: dict[str, dict[str, object]] = {}
        if PEER_PY.exists():
            for _ in range(args.repeat):
                out = subprocess.run(
                    [str(PEER_PY), str(Path(__file__).parent / "_pickle_peers_driver.py"), *map(str, files)],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                for line in out.stdout.splitlines():
                    row = json.loads(line)
                    name = Path(str(row["file"])).name
                    prev = peers.get(name)
                    if prev is None:
                        row["picklescan_t"] = [row["picklescan_s"]]
                        row["fickling_t"] = [row["fickling_s"]]
                        peers[name] = row
                    else:
                        prev["picklescan_t"].append(row["picklescan_s"])  # type: ignore[attr-defined]
                        prev["fickling_t"].append(row["fickling_s"])  # type: ignore[attr-defined]
        else:
            print(f"(peers not installed at {PEER_PY}; see the module docstring)")
    _report(files, clearance, peers)
    po = statistics.mean(pickle_only.values())
    print(f"clearance pickle check alone (check_pickles, same files): {po * 1e3:.2f} ms per file", end="")
    if peers:
        pt = statistics.mean(statistics.median(v["picklescan_t"]) for v in peers.values())  # type: ignore[arg-type]
        print(f"; ratio to picklescan {po / pt:.2f}x")
    else:
        print()


def _report(
    files: list[Path], clearance: dict[str, tuple[bool, float, str]], peers: dict[str, dict[str, object]]
) -> None:
    cols = ["clearance", "picklescan", "picklescan_strict", "fickling"]
    score = {c: {"tp": 0, "fn": 0, "fp": 0, "tn": 0} for c in cols}
    print(f"{'file':36} {'clearance':>9} {'pscan':>6} {'pscan-s':>7} {'fickl':>6}   clearance rules")
    for f in files:
        name = f.name
        mal = name.startswith("mal-")
        flags = {"clearance": clearance[name][0]}
        p = peers.get(name, {})
        flags["picklescan"] = bool(p.get("picklescan")) or (not mal and bool(p.get("picklescan_error")))
        flags["picklescan_strict"] = bool(p.get("picklescan_strict")) or (
            not mal and bool(p.get("picklescan_error"))
        )
        flags["fickling"] = bool(p.get("fickling")) or (not mal and bool(p.get("fickling_error")))
        for c in cols:
            key = ("tp" if flags[c] else "fn") if mal else ("fp" if flags[c] else "tn")
            score[c][key] += 1
        mark = lambda b: "X" if b else "."  # noqa: E731
        print(
            f"{name:36} {mark(flags['clearance']):>9} {mark(flags['picklescan']):>6} {mark(flags['picklescan_strict']):>7}"
            f" {mark(flags['fickling']):>6}   {clearance[name][2][:60]}"
        )
    n_mal = sum(1 for f in files if f.name.startswith("mal-"))
    n_ben = len(files) - n_mal
    print(f"\n{len(files)} files: {n_mal} malicious, {n_ben} benign")
    for c in cols:
        s = score[c]
        print(f"  {c:18} caught {s['tp']}/{n_mal} malicious, false positives {s['fp']}/{n_ben}")
    ct = statistics.mean(v[1] for v in clearance.values())
    print(
        f"\nmedian-of-runs time per file, mean over files: clearance (full scan_path) {ct * 1e3:.2f} ms",
        end="",
    )
    if peers:
        pt = statistics.mean(statistics.median(v["picklescan_t"]) for v in peers.values())  # type: ignore[arg-type]
        ft = statistics.mean(statistics.median(v["fickling_t"]) for v in peers.values())  # type: ignore[arg-type]
        print(f", picklescan {pt * 1e3:.2f} ms, fickling {ft * 1e3:.2f} ms")
        print(f"ratio clearance/picklescan {ct / pt:.2f}x, clearance/fickling {ct / ft:.2f}x")
    else:
        print()


if __name__ == "__main__":
    main()
