"""Read a sealed dossier into what comparisons need: decision, facts, per-suite identity and per-sample scores.

Only files inside the dossier directory are read; the per-sample JSONL of each suite is found at
``evals/<suite>/samples.jsonl`` (where ``clearance vet`` writes it). Integrity is checked with
``verify_dossier`` and reported: a dossier whose digests do not hold is shown, never recommended.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearance.errors import ClearanceError, InputError

# Metric kinds whose per-sample indicator is "score >= 0.5" (False) or "score < 0.5" (True = inverted).
PROPORTION_METRICS: dict[str, bool] = {
    "accuracy": False,
    "rate": False,
    "refusal_rate": False,
    "over_refusal_rate": False,
    "leak_rate": False,
    "injection_success_rate": False,
    "pii_leak_rate": False,
    "attack_success_rate": True,
    "compliance_rate": True,
}
# Which direction is better when no policy gate says so.
LOWER_IS_BETTER = {
    "attack_success_rate",
    "over_refusal_rate",
    "leak_rate",
    "injection_success_rate",
    "pii_leak_rate",
}
HIGHER_IS_BETTER = {"accuracy", "refusal_rate", "compliance_rate", "ifeval_instruction_accuracy"}


@dataclass
class MetricDef:
    """How one reported metric is computed from per-sample scores (from the suite's definition)."""

    name: str
    kind: str
    scorer: str
    where: dict[str, Any] | None = None


@dataclass
class SuiteEvidence:
    """One suite of one run: identity (dataset digest, settings digest), metrics and per-sample scores."""

    name: str
    dataset_name: str
    dataset_sha256: str | None
    config_digest: str | None
    generation: dict[str, Any]
    metrics: dict[str, dict[str, Any]]
    scores: dict[str, dict[str, float]]  # sample id -> scorer -> value (scored samples only)
    failing: set[str]
    metric_defs: dict[str, MetricDef] = field(default_factory=dict)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)  # sample id -> dataset metadata
    n_selected: int = 0
    n_failed: int = 0
    note: str | None = None


@dataclass
class RunEvidence:
    """A sealed dossier as comparisons see it."""

    path: Path
    title: str
    status: str
    facts: dict[str, Any]
    decision: dict[str, Any]
    model_name: str | None
    model_source: str | None
    model_digest: str | None
    policy_name: str | None
    policy_sha256: str | None
    served_model: str | None
    suites: dict[str, SuiteEvidence]
    results: dict[str, Any]
    verified: bool
    verify_problems: list[str]


def is_dossier(path: str | Path) -> bool:
    """Whether ``path`` is a directory holding a ``dossier.json``."""
    p = Path(path)
    return p.is_dir() and (p / "dossier.json").is_file()


def read_dossier(
    path: str | Path,
    *,
    verify: bool = True,
    with_samples: bool = True,
    records: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
) -> RunEvidence:
    """Load a dossier; ``InputError`` when ``path`` is not a sealed dossier or its JSON is malformed.

    ``records`` gives a suite's per-sample records already parsed from its ``samples.jsonl`` in this
    dossier (by a caller that read them anyway); other suites' records are read from the file."""
    from clearance.dossier import verify_dossier

    root = Path(path)
    if not root.is_dir():
        raise InputError(f"not a dossier directory: {root}")
    if not (root / "dossier.json").is_file():
        if (root / ".partial").exists():
            raise InputError(f"{root} is an unfinished run (.partial marker, no dossier.json)")
        raise InputError(f"not a dossier: {root} has no dossier.json")
    try:
        doc = json.loads((root / "dossier.json").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{root}/dossier.json is not readable JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{root}/dossier.json is not a JSON object")
    problems: list[str] = []
    verified = False
    if verify:
        res = verify_dossier(root)
        verified = res.ok
        problems = [f"{f.file}: {f.problem}" for f in res.failures[:5]]
    prov = _dict(doc.get("provenance"))
    model = _dict(prov.get("model"))
    decision = _dict(doc.get("decision"))
    endpoint = _dict(prov.get("endpoint"))
    results = _dict(doc.get("results"))
    suites: dict[str, SuiteEvidence] = {}
    for name, res in _dict(results.get("evals")).items():
        if isinstance(res, dict):
            given = (records or {}).get(str(name))
            suites[str(name)] = _suite(root, str(name), res, with_samples, given)
    facts = _dict(doc.get("facts"))
    return RunEvidence(
        path=root,
        title=str(doc.get("title") or root.name),
        status=str(doc.get("status") or decision.get("status") or "unknown"),
        facts=facts,
        decision=decision,
        model_name=_str(model.get("name")) or _str(facts.get("model.name")),
        model_source=_str(model.get("source")),
        model_digest=_str(model.get("digest")),
        policy_name=_str(decision.get("policy_name")),
        policy_sha256=_str(decision.get("policy_sha256")),
        served_model=_str(endpoint.get("served_model")),
        suites=suites,
        results=results,
        verified=verified,
        verify_problems=problems,
    )


def suites_from_results(root: str | Path, evals: dict[str, Any]) -> dict[str, SuiteEvidence]:
    """Suites of a run still in progress (``results['evals']`` and ``<root>/evals/<suite>/samples.jsonl``)."""
    return {str(k): _suite(Path(root), str(k), v, True) for k, v in evals.items() if isinstance(v, dict)}


def _suite(
    root: Path,
    name: str,
    res: dict[str, Any],
    with_samples: bool,
    records: Iterable[Mapping[str, Any]] | None = None,
) -> SuiteEvidence:
    ds = _dict(res.get("dataset"))
    failing = {str(x) for x in res.get("failing_samples") or []}
    scores: dict[str, dict[str, float]] = {}
    note = None
    if with_samples:
        path = root / "evals" / name / "samples.jsonl"
        if records is not None:
            scores = scores_from_records(records)
        elif path.is_file():
            scores = _read_scores(path)
        else:
            note = "per-sample records missing from the dossier: no paired test possible"
    ev = SuiteEvidence(
        name=name,
        dataset_name=str(ds.get("name") or name),
        dataset_sha256=_str(ds.get("sha256")),
        config_digest=_str(res.get("config_digest")),
        generation=_dict(res.get("generation")),
        metrics={k: v for k, v in _dict(res.get("metrics")).items() if isinstance(v, dict)},
        scores=scores,
        failing=failing,
        n_selected=int(res.get("n_selected") or 0),
        n_failed=int(res.get("n_failed") or 0),
        note=note,
    )
    _attach_definitions(ev)
    return ev


def _read_scores(path: Path) -> dict[str, dict[str, float]]:
    """The scores of a ``samples.jsonl`` file (see ``scores_from_records``); unparsable lines are skipped."""

    def lines() -> Iterator[Mapping[str, Any]]:
        with path.open("rb") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict):
                    yield rec

    return scores_from_records(lines())


def scores_from_records(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Sample id -> scorer -> value. Last record per id wins (as the runner resumes); records with an
    error, an incomplete answer (no final answer: metrics do not judge it either) or no scores are unscored."""
    out: dict[str, dict[str, float]] = {}
    for rec in records:
        if "id" not in rec:
            continue
        sid = str(rec["id"])
        sc = rec.get("scores")
        if rec.get("error") or rec.get("incomplete") or not isinstance(sc, dict) or not sc:
            out.pop(sid, None)
            continue
        vals: dict[str, float] = {}
        for k, v in sc.items():
            if isinstance(v, dict) and isinstance(v.get("value"), int | float):
                vals[str(k)] = float(v["value"])
        if vals:
            out[sid] = vals
    return out


def _attach_definitions(ev: SuiteEvidence) -> None:
    """Metric definitions (scorer, filter) from the built-in suite of that name, when its dataset matches."""
    suite = _builtin_suite(ev.name)
    if suite is not None and suite.dataset.ref.sha256 == ev.dataset_sha256:
        for m in suite.metrics:
            ev.metric_defs[m.name] = MetricDef(m.name, m.metric, m.scorer, m.where)
        if any(m.where for m in suite.metrics):
            ev.metadata = {s.id: s.metadata for s in suite.dataset.samples}
        return
    scorers = sorted({k for s in ev.scores.values() for k in s})
    for mname in ev.metrics:
        if mname in PROPORTION_METRICS and len(scorers) == 1:
            ev.metric_defs[mname] = MetricDef(mname, mname, scorers[0], None)


@functools.lru_cache(maxsize=32)
def _builtin_suite(name: str) -> Any:
    """The built-in suite called ``name`` with its shipped dataset, or None (a suite file or one needing --data)."""
    from clearance.evals.suite import builtin_dir, load_suite

    if not (builtin_dir() / f"{name}.yaml").is_file():
        return None
    try:
        return load_suite(name)
    except ClearanceError:
        return None


def _dict(x: object) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _str(x: object) -> str | None:
    return str(x) if x is not None and x != "" else None
