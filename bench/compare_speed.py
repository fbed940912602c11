"""Speed of `clearance compare` and `clearance diff` against the targets of the comparison box.

Usage: .venv/bin/python bench/compare_speed.py [--samples 2000] [--repeat 5] [--dir bench/.work/compare]

1. compare over three catalog models (Qwen3.5-9B, -27B, -122B-A10B) with the example workload, no
   measurements (target < 2 s);
2. compare over three sealed dossiers of ``--samples`` samples each (target < 2 s);
3. diff of two such dossiers (target < 1 s).

The dossiers are synthetic but complete: sealed with ``write_dossier`` (signed manifest, verified on read),
one suite of ``--samples`` per-sample records each, a load test and a plan record, so compare does the same
work as on real ones (verify, read, pair, McNemar + Newcombe, Holm, sizing with the measured throughput).
Each timing is the best of ``--repeat`` in-process runs (library call, imports warm) and, separately, one
cold CLI run (a new Python process, as a user sees it). Also cross-checks the exact McNemar p-values
against scipy's binomial test when scipy is installed (no peer tool answers the comparison itself).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from clearance.compare import compare_candidates, diff_dossiers
from clearance.compare.paired import mcnemar_exact
from clearance.dossier import DossierInput, ModelRef, Provenance, RunDir, write_dossier
from clearance.policy import decide, load_policy
from clearance.workload import load_workload

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = REPO / "docs" / "examples" / "workload.yaml"
PILOT = REPO / "docs" / "examples" / "policy-pilot.yaml"
MODELS = ["Qwen3.5-9B", "Qwen3.5-27B", "Qwen3.5-122B-A10B"]


def make_dossier(root: Path, name: str, samples: int, accuracy: float, seed: int, tps: float) -> Path:
    """A sealed dossier for catalog model ``name`` with one suite of ``samples`` scored records."""
    rng = random.Random(seed)
    rd = RunDir(root / name).begin()
    suite_dir = rd.path / "evals" / "bench-qa"
    suite_dir.mkdir(parents=True)
    failing = []
    correct = 0
    with (suite_dir / "samples.jsonl").open("w") as f:
        for i in range(samples):
            ok = rng.random() < accuracy
            correct += ok
            if not ok:
                failing.append(f"q{i:05d}")
            rec = {
                "id": f"q{i:05d}",
                "messages": [{"role": "user", "content": f"question {i}"}],
                "output": "answer",
                "scores": {"match": {"value": 1.0 if ok else 0.0, "rule": "exact"}},
                "completed_at": "2026-12-04T00:00:00Z",
            }
            f.write(json.dumps(rec) + "\n")
    from clearance.stats import wilson_interval

    lo, hi = wilson_interval(correct, samples)
    facts: dict[str, object] = {
        "scan.max_severity": "none",
        "model.has_pickle": False,
        "model.has_remote_code": False,
        "license.known": True,
        "evals.safety-refusal.refusal_rate": 1.0,
        "evals.safety-refusal.refusal_rate.ci_low": 0.95,
        "evals.safety-refusal.refusal_rate.ci_high": 1.0,
        "evals.capability-basic.accuracy": correct / samples,
        "evals.capability-basic.accuracy.ci_low": lo,
        "evals.capability-basic.accuracy.ci_high": hi,
        "evals.bench-qa.accuracy": correct / samples,
        "evals.bench-qa.accuracy.ci_low": lo,
        "evals.bench-qa.accuracy.ci_high": hi,
    }
    suite = {
        "suite": "bench-qa",
        "dataset": {"name": "bench-qa", "sha256": "b" * 64, "rows": samples},
        "config_digest": "c" * 64,
        "generation": {"max_tokens": 64, "temperature": 0.0},
        "metrics": {"accuracy": {"value": correct / samples, "ci_low": lo, "ci_high": hi, "n": samples}},
        "failing_samples": failing,
        "n_selected": samples,
        "n_failed": 0,
    }
    load = {
        "config": {"concurrency": 16, "prompt_tokens": 512, "max_tokens": 256},
        "output_tokens_per_s": tps,
        "ttft": {"p50": 0.2, "p95": 0.6},
        "tpot": {"p50": 0.02, "p95": 0.03},
        "e2e": {"p50": 5.0, "p95": 9.0},
    }
    policy = load_policy(PILOT)
    data = DossierInput(
        title=name,
        decision=decide(policy, facts),
        facts=facts,
        results={"evals": {"bench-qa": suite}, "load": load, "plan": {"gpu": "H100-SXM"}},
        provenance=Provenance(model=ModelRef(name=name, source=name, digest=f"{seed:064x}")),
    )
    write_dossier(rd.path, data)
    return rd.path


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def cli(*args: str) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "clearance", *args], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise SystemExit(r.stderr)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=REPO / "bench" / ".work" / "compare")
    a = ap.parse_args()
    shutil.rmtree(a.dir, ignore_errors=True)
    a.dir.mkdir(parents=True)
    wl = load_workload(WORKLOAD)
    dossiers = [
        str(make_dossier(a.dir, m, a.samples, acc, i + 1, tps))
        for i, (m, acc, tps) in enumerate(
            zip(MODELS, (0.70, 0.74, 0.80), (9000.0, 5000.0, 3000.0), strict=True)
        )
    ]
    res = {
        "catalog models (3), workload, 2 GPU types": best(lambda: compare_candidates(MODELS, wl), a.repeat),
        f"dossiers (3 × {a.samples} samples), workload, 2 GPU types": best(
            lambda: compare_candidates(dossiers, wl), a.repeat
        ),
        f"diff (2 × {a.samples} samples)": best(lambda: diff_dossiers(dossiers[0], dossiers[2]), a.repeat),
    }
    print(f"in-process, best of {a.repeat}:")
    for k, v in res.items():
        print(f"  {k:55s} {v:6.3f} s")
    print("CLI, one cold process each (includes Python start-up and imports):")
    print(
        f"  {'compare 3 catalog models':55s} {cli('compare', *MODELS, '--workload', str(WORKLOAD), '--json'):6.3f} s"
    )
    print(
        f"  {'compare 3 dossiers':55s} {cli('compare', *dossiers, '--workload', str(WORKLOAD), '--json'):6.3f} s"
    )
    print(f"  {'diff 2 dossiers':55s} {cli('diff', dossiers[0], dossiers[2], '--json'):6.3f} s")
    print(f"  {'clearance --help (start-up and imports alone)':55s} {cli('--help'):6.3f} s")
    rep = diff_dossiers(dossiers[0], dossiers[2])
    d = rep.comparison.differences[0]
    print(f"diff check: {d.sentence()}")
    try:
        from scipy.stats import binomtest  # type: ignore[import-not-found]

        worst = 0.0
        for b, c in [(0, 10), (3, 17), (40, 61), (500, 560), (1000, 1100)]:
            ref = binomtest(min(b, c), b + c, 0.5).pvalue
            worst = max(worst, abs(mcnemar_exact(b, c) - ref))
        print(f"McNemar exact vs scipy.stats.binomtest: max |Δp| = {worst:.2e}")
    except ImportError:
        print("scipy not installed: McNemar cross-check skipped")


if __name__ == "__main__":
    main()
