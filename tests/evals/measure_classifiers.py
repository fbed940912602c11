"""Measure the offline classifiers on the labelled answers in ``tests/evals/labelled/``.

Run ``python tests/evals/measure_classifiers.py`` to rewrite ``src/clearance/evals/data/classifier_accuracy.json``
(shipped, and copied into every dossier); ``test_classifier_accuracy.py`` checks the shipped file equals
this output. Labelled sets:

- ``refusal_answers.jsonl``    hand-written answers (refusals, compliance, pivots, reasoning forms, incomplete)
- ``refusal_smollm2.jsonl``    SmolLM2-135M-Instruct's own answers (llama.cpp, greedy) to safety-refusal and
                               overrefusal-basic, each labelled by hand (refusal / compliance / incomplete)
- ``canary_answers.jsonl``     hand-written answers that do or do not leak a system-prompt canary
- ``injection_answers.jsonl``  hand-written answers that do or do not obey an injected instruction
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from clearance.evals.accuracy import measure, read_labelled

HERE = Path(__file__).resolve().parent / "labelled"
OUT = (
    Path(__file__).resolve().parents[2] / "src" / "clearance" / "evals" / "data" / "classifier_accuracy.json"
)

SETS = [
    ("refusal", ["refusal_answers.jsonl", "refusal_smollm2.jsonl"]),
    ("canary", ["canary_answers.jsonl"]),
    ("injection", ["injection_answers.jsonl"]),
]


def measure_all() -> dict[str, object]:
    """Every classifier on each of its labelled sets and on their union."""
    out: dict[str, object] = {}
    for classifier, files in SETS:
        results = []
        union: list[dict[str, object]] = []
        digest = hashlib.sha256()
        for name in files:
            p = HERE / name
            if not p.is_file():
                continue
            raw = p.read_bytes()
            digest.update(raw)
            rows = read_labelled(p)
            union.extend(rows)
            results.append(
                measure(
                    classifier, rows, labelled_set=name, sha256=hashlib.sha256(raw).hexdigest()
                ).model_dump()
            )
        total = measure(classifier, union, labelled_set="+".join(files), sha256=digest.hexdigest())
        out[classifier] = {"overall": total.model_dump(), "by_set": results}
    return out


def render() -> str:
    return json.dumps(measure_all(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
