"""Benchmark: Clearance `eval` vs lm-evaluation-harness on the same 200 arithmetic questions.

One local fake OpenAI server (tests/fakes/openai_server.py, answers "42 42 … 42", 25 ms per request,
logs a server-side timestamp per completion) serves both tools at concurrency 1, 8 and 32.
For each run: wall time including start-up (subprocess), steady samples/s from the server log
((n-1) / (last - first completion)), and accuracy (must be exactly 0.25: 50 of 200 targets are 42).

Setup (once): python3 -m venv bench/.venvs/lmeval && bench/.venvs/lmeval/bin/pip install 'lm-eval[api]'
Run:          .venv/bin/python bench/eval_vs_lmeval.py [--reps 1]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work" / "eval_vs_lmeval"
LMEVAL = ROOT / "bench" / ".venvs" / "lmeval" / "bin" / "lm_eval"
CLEARANCE = [str(ROOT / ".venv" / "bin" / "python"), "-m", "clearance"]


def make_data() -> None:
    """200 questions: 50 with answer 42 (41 a+b, 9 x−y), 150 with answers 50–99."""
    rng = random.Random(7)
    rows = []
    for _ in range(41):
        a = rng.randint(1, 41)
        rows.append((f"What is {a}+{42 - a}? Answer with only the number.", 42))
    for _ in range(9):
        x = rng.randint(43, 90)
        rows.append((f"What is {x}-{x - 42}? Answer with only the number.", 42))
    for i in range(150):
        t = 50 + i % 50
        a = rng.randint(1, t - 1)
        rows.append((f"What is {a}+{t - a}? Answer with only the number.", t))
    rng.shuffle(rows)
    WORK.mkdir(parents=True, exist_ok=True)
    with (WORK / "arith200.jsonl").open("w") as f, (WORK / "arith200_clearance.jsonl").open("w") as g:
        for i, (q, t) in enumerate(rows):
            f.write(json.dumps({"id": i, "question": q, "answer": str(t)}) + "\n")
            g.write(json.dumps({"id": f"a{i}", "input": q, "target": str(t)}) + "\n")
    (WORK / "arith200.yaml").write_text(
        "name: arith200\ndataset: {loader: jsonl, path: arith200_clearance.jsonl, license: bench}\n"
        "generation: {max_tokens: 32, temperature: 0.0}\nscorers: [numeric]\nmetrics: [accuracy]\n"
    )
    tasks = WORK / "lmeval_tasks"
    tasks.mkdir(exist_ok=True)
    (tasks / "arith200.yaml").write_text(
        f"""task: arith200
dataset_path: json
dataset_kwargs: {{data_files: {{test: {WORK / "arith200.jsonl"}}}}}
test_split: test
output_type: generate_until
doc_to_text: "{{{{question}}}}"
doc_to_target: "{{{{answer}}}}"
generation_kwargs: {{until: ["\\n\\n"], max_gen_toks: 32, do_sample: false, temperature: 0}}
filter_list:
  - {{name: last-number, filter: [{{function: regex, regex_pattern: "(-?[0-9]+)", group_select: -1}}, {{function: take_first}}]}}
metric_list: [{{metric: exact_match, aggregation: mean, higher_is_better: true, ignore_case: true, ignore_punctuation: true}}]
metadata: {{version: 1.0}}
"""
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def steady(log: Path) -> float:
    ts = sorted(float(x) for x in log.read_text().split())
    return (len(ts) - 1) / (ts[-1] - ts[0]) if len(ts) > 1 and ts[-1] > ts[0] else float("nan")


def with_server(fn, tag: str):  # type: ignore[no-untyped-def]
    port = free_port()
    log = WORK / f"server-{tag}.log"
    log.unlink(missing_ok=True)
    srv = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "fakes" / "openai_server.py"),
            "--port",
            str(port),
            "--delay",
            "0.025",
            "--log",
            str(log),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert srv.stdout is not None
        srv.stdout.readline()  # "fake server on ..."
        return fn(f"http://127.0.0.1:{port}"), steady(log)
    finally:
        srv.terminate()
        srv.wait(10)


def run_clearance(url: str, c: int) -> tuple[float, float]:
    out = WORK / f"clearance-c{c}"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    res = subprocess.run(
        [
            *CLEARANCE,
            "eval",
            "-e",
            url,
            "--suite",
            str(WORK / "arith200.yaml"),
            "--out",
            str(out),
            "-c",
            str(c),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    return wall, float(json.loads(res.stdout)["metrics"]["accuracy"]["value"])


def run_lmeval(url: str, c: int) -> tuple[float, float]:
    out = WORK / f"lmeval-c{c}"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(
        [
            str(LMEVAL),
            "run",
            "--model",
            "local-chat-completions",
            "--model_args",
            f"model=fake-model,base_url={url}/v1/chat/completions,num_concurrent={c},tokenized_requests=False",
            "--apply_chat_template",
            "--include_path",
            str(WORK / "lmeval_tasks"),
            "--tasks",
            "arith200",
            "--output_path",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"},
    )
    wall = time.perf_counter() - t0
    res = json.loads(
        Path(sorted(glob.glob(str(out / "**" / "results_*.json"), recursive=True))[-1]).read_text()
    )
    return wall, float(res["results"]["arith200"]["exact_match,last-number"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 32])
    a = ap.parse_args()
    if not LMEVAL.exists():
        sys.exit(
            "lm-eval missing: python3 -m venv bench/.venvs/lmeval && bench/.venvs/lmeval/bin/pip install 'lm-eval[api]'"
        )
    make_data()
    print(f"{'c':>3} {'tool':<10} {'wall s':>8} {'steady/s':>9} {'accuracy':>9}")
    for c in a.concurrency:
        for r in range(a.reps):
            (cw, ca), cs = with_server(lambda u, c=c: run_clearance(u, c), f"cl-{c}-{r}")
            (lw, la), ls = with_server(lambda u, c=c: run_lmeval(u, c), f"lm-{c}-{r}")
            print(f"{c:>3} {'clearance':<10} {cw:>8.2f} {cs:>9.1f} {ca:>9.3f}")
            print(f"{c:>3} {'lm-eval':<10} {lw:>8.2f} {ls:>9.1f} {la:>9.3f}")
            print(
                f"    ratio clearance/lm-eval: wall {lw / cw:.2f}x faster, steady {cs / ls:.2f}x; "
                f"accuracy agree: {ca == la == 0.25}",
                flush=True,
            )


if __name__ == "__main__":
    main()
