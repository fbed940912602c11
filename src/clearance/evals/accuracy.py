"""Measured accuracy of the offline classifiers: precision, recall and F1 per class on labelled answers.

Three detectors decide most verdicts: the refusal/compliance classifier (``refusal.classify_refusal``), the
canary leak detector (``canary`` scorer) and the strict prompt-injection detector (the per-sample ``regex``
of prompt-injection-basic). Their labelled answers live in ``tests/evals/labelled/*.jsonl`` (hand-written
answers, and the embedded SmolLM2-135M's own answers to the shipped suites, each labelled by hand);
``tests/evals/measure_classifiers.py`` measures them into ``clearance/evals/data/classifier_accuracy.json``,
which ships with Clearance and goes into every dossier. A test re-measures and compares, so the figures
cannot go stale.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from clearance.evals.refusal import classify_refusal
from clearance.evals.scorers import get_scorer
from clearance.evals.types import Sample

ACCURACY_FILE = "classifier_accuracy.json"


class ClassScores(BaseModel):
    """Precision, recall and F1 of one class, with its support (labelled answers of that class)."""

    precision: float | None
    recall: float | None
    f1: float | None
    support: int
    predicted: int


class ClassifierAccuracy(BaseModel):
    """One classifier measured on one labelled set."""

    classifier: str
    labelled_set: str
    labelled_sha256: str
    n: int
    accuracy: float
    classes: dict[str, ClassScores]
    errors: list[dict[str, str]] = Field(default_factory=list)


def per_class(pairs: Iterable[tuple[str, str]], classes: list[str]) -> dict[str, ClassScores]:
    """Precision/recall/F1 per class from ``(label, predicted)`` pairs."""
    items = list(pairs)
    out: dict[str, ClassScores] = {}
    for c in classes:
        tp = sum(1 for y, p in items if y == c and p == c)
        pred = sum(1 for _, p in items if p == c)
        sup = sum(1 for y, _ in items if y == c)
        prec = tp / pred if pred else None
        rec = tp / sup if sup else None
        f1 = 2 * prec * rec / (prec + rec) if prec and rec else (0.0 if pred and sup else None)
        out[c] = ClassScores(precision=_r(prec), recall=_r(rec), f1=_r(f1), support=sup, predicted=pred)
    return out


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def predict_refusal(answer: str) -> str:
    """The refusal classifier's class for one answer: refusal, compliance or incomplete."""
    v = classify_refusal(answer)
    return "incomplete" if v.incomplete else ("refusal" if v.refused else "compliance")


def predict_canary(answer: str, canary: str) -> str:
    """The canary leak detector's class: leaked or not_leaked."""
    s = get_scorer("canary").fn(Sample(id="x", input="", metadata={"canary": canary}), answer)
    return "leaked" if s.value >= 0.5 else "not_leaked"


def predict_injection(answer: str, pattern: str) -> str:
    """The strict injection detector's class: obeyed or not_obeyed."""
    s = get_scorer("regex").fn(Sample(id="x", input="", metadata={"pattern": pattern, "flags": "i"}), answer)
    return "obeyed" if s.value >= 0.5 else "not_obeyed"


def measure(
    classifier: str, rows: list[dict[str, Any]], *, labelled_set: str, sha256: str
) -> ClassifierAccuracy:
    """Measure one classifier (``refusal``, ``canary`` or ``injection``) on labelled rows."""
    if classifier == "refusal":
        classes = ["refusal", "compliance", "incomplete"]
        preds = [predict_refusal(r["answer"]) for r in rows]
    elif classifier == "canary":
        classes = ["leaked", "not_leaked"]
        preds = [predict_canary(r["answer"], r["canary"]) for r in rows]
    elif classifier == "injection":
        classes = ["obeyed", "not_obeyed"]
        preds = [predict_injection(r["answer"], r["pattern"]) for r in rows]
    else:
        raise ValueError(f"unknown classifier {classifier!r}")
    pairs = [(str(r["label"]), p) for r, p in zip(rows, preds, strict=True)]
    correct = sum(1 for y, p in pairs if y == p)
    errors = [
        {"id": str(r["id"]), "label": y, "predicted": p, "answer": str(r["answer"])[:160]}
        for r, (y, p) in zip(rows, pairs, strict=True)
        if y != p
    ]
    return ClassifierAccuracy(
        classifier=classifier,
        labelled_set=labelled_set,
        labelled_sha256=sha256,
        n=len(rows),
        accuracy=round(correct / len(rows), 4) if rows else 0.0,
        classes=per_class(pairs, classes),
        errors=errors,
    )


def read_labelled(path: Path) -> list[dict[str, Any]]:
    """Rows of a labelled JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@cache
def shipped_accuracy() -> dict[str, Any]:
    """The measured figures shipped with Clearance (``{}`` when the file is missing from this build)."""
    f = resources.files("clearance.evals").joinpath("data", ACCURACY_FILE)
    try:
        return dict(json.loads(f.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


__all__ = [
    "ClassScores",
    "ClassifierAccuracy",
    "measure",
    "per_class",
    "predict_canary",
    "predict_injection",
    "predict_refusal",
    "shipped_accuracy",
]
