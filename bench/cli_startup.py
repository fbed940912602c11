"""CLI start-up: `clearance --help`, `clearance plan --help` and `import clearance.cli`, beside peers' CLIs.

Usage: .venv/bin/python bench/cli_startup.py [--runs 15] [--src DIR] [--json]

Each command runs in a fresh process `--runs` times, the tools round-robin (so a burst of load hits all of
them), after one untimed warm-up run each (byte-code compiled, files in the page cache). Reports the median
wall time and the median CPU time (user + system of the child, from `wait4`). `--src DIR` puts a source tree
first on PYTHONPATH (e.g. an older checkout's `src`, to measure before and after with the same venv).

Peers, each measured when installed and skipped otherwise:
- inspect-ai: `inspect --help`, `inspect eval --help`, `import inspect_ai._cli.main`
  (setup: python3 -m venv bench/.venvs/cli-peers && bench/.venvs/cli-peers/bin/pip install inspect-ai)
- lm-evaluation-harness: `lm_eval --help` from bench/.venvs/lmeval (see bench/eval_vs_lmeval.py)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENVS = REPO / "bench" / ".venvs"


def _bin(venv: Path, name: str) -> Path:
    return venv / "bin" / name


def tools(py: Path) -> list[tuple[str, list[str]]]:
    own = py.parent
    out = [
        ("clearance --help", [str(own / "clearance"), "--help"]),
        ("clearance plan --help", [str(own / "clearance"), "plan", "--help"]),
        ("import clearance.cli", [str(py), "-c", "import clearance.cli"]),
    ]
    peers = VENVS / "cli-peers"
    if _bin(peers, "inspect").exists():
        out += [
            ("inspect --help (inspect-ai)", [str(_bin(peers, "inspect")), "--help"]),
            ("inspect eval --help (inspect-ai)", [str(_bin(peers, "inspect")), "eval", "--help"]),
            (
                "import inspect_ai._cli.main",
                [str(_bin(peers, "python")), "-c", "import inspect_ai._cli.main"],
            ),
        ]
    lmeval = VENVS / "lmeval"
    if _bin(lmeval, "lm_eval").exists():
        out.append(("lm_eval --help (lm-eval)", [str(_bin(lmeval, "lm_eval")), "--help"]))
    return out


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``cmd``."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--src", type=Path, help="source tree to put first on PYTHONPATH")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args()

    env = dict(os.environ, COLUMNS="100", NO_COLOR="1")
    if args.src:
        env["PYTHONPATH"] = str(args.src.resolve())
    measured = tools(Path(sys.executable))
    load_before = os.getloadavg()
    for _, cmd in measured:  # warm-up, untimed
        run_once(cmd, env)
    walls: dict[str, list[float]] = {name: [] for name, _ in measured}
    cpus: dict[str, list[float]] = {name: [] for name, _ in measured}
    for _ in range(args.runs):
        for name, cmd in measured:
            w, c = run_once(cmd, env)
            walls[name].append(w)
            cpus[name].append(c)
    load_after = os.getloadavg()

    rows = [
        {
            "command": name,
            "wall_s_median": round(statistics.median(walls[name]), 3),
            "cpu_s_median": round(statistics.median(cpus[name]), 3),
            "wall_s_min": round(min(walls[name]), 3),
        }
        for name, _ in measured
    ]
    meta = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "runs": args.runs,
        "src": str(args.src) if args.src else "installed",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }
    if args.json:
        print(json.dumps({"meta": meta, "rows": rows}, indent=2))
        return
    for k, v in meta.items():
        print(f"{k}: {v}")
    print()
    print("| command | wall s (median) | CPU s (median) | wall s (min) |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| `{r['command']}` | {r['wall_s_median']:.3f} | {r['cpu_s_median']:.3f} | {r['wall_s_min']:.3f} |"
        )


if __name__ == "__main__":
    main()
