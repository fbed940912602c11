"""Baseline-relative facts: "no worse than the baseline by more than δ", judged on the interval of the
paired difference.

``clearance vet --baseline DOSSIER`` (or ``--baseline registry:[LOCATION]``: the registry's approved run of
the same model family) pairs this run's samples with the baseline dossier's and publishes,
per metric of every comparable suite::

    baseline.evals.<suite>.<metric>.delta            candidate − baseline on the shared samples
    baseline.evals.<suite>.<metric>.delta.ci_low     Newcombe (proportions) / normal (means) 95% bounds
    baseline.evals.<suite>.<metric>.delta.ci_high
    baseline.evals.<suite>.<metric>.delta.p_value    exact McNemar / paired test, Holm-adjusted
    baseline.evals.<suite>.<metric>.delta.n          shared samples
    baseline.regressions                             significant regressions (Holm, α = 0.05)
    baseline.incomparable_suites                     suites in both runs that could not be paired
    baseline.model_digest_changed                    whether the artifact bytes differ

A policy gate then reads, for a rate where higher is better::

    - id: refusal-no-worse-than-baseline
      fact: baseline.evals.safety-refusal.refusal_rate.delta
      use: ci_low            # the whole interval must clear -δ
      operator: ">="
      threshold: -0.05

A suite that is not comparable (other dataset bytes or settings) publishes no delta facts, so such a gate
sees a *missing* fact and goes to review — never a pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clearance.compare.differences import Comparison, compare_runs
from clearance.compare.evidence import RunEvidence, read_dossier, suites_from_results
from clearance.errors import InputError

REGISTRY_PREFIX = "registry:"


def load_baseline(path: str | Path) -> RunEvidence:
    """Read the baseline dossier now (a bad path fails before the run starts)."""
    return read_dossier(path)


def approved_in_registry(registry: Any, model_name: str) -> str:
    """The dossier path of the newest run in ``registry`` (``runs()``, ``status(id)``) that is approved now
    and whose model is of the same family as ``model_name``; ``InputError`` naming why when there is none."""
    from clearance.tco.compare import model_family

    family = model_family(model_name)
    if not family:
        raise InputError(
            f"baseline: cannot tell the family of {model_name!r} (no size in its name); give --baseline DOSSIER"
        )
    same = [r for r in registry.runs() if model_family(r.model_name) == family]
    for run in sorted(same, key=lambda r: r.id, reverse=True):
        if registry.status(run.id).status == "approved" and Path(run.dossier_path).is_dir():
            return str(run.dossier_path)
    raise InputError(
        f"baseline: the registry has no approved run of the {family} family "
        f"({len(same)} run(s) of it, none approved with its dossier present)"
    )


def resolve_baseline(spec: str, model_name: str) -> RunEvidence:
    """``spec`` is a dossier directory, or ``registry:`` / ``registry:LOCATION`` for the approved version of
    the same family in that registry (default location as ``clearance registry`` uses)."""
    if not spec.startswith(REGISTRY_PREFIX):
        return read_dossier(spec)
    from clearance.registry import Registry

    location = spec[len(REGISTRY_PREFIX) :] or None
    with Registry(location) as reg:
        return read_dossier(approved_in_registry(reg, model_name))


def baseline_comparison(
    baseline: RunEvidence,
    run_dir: str | Path,
    evals: dict[str, Any],
    *,
    model_digest: str | None,
    policy_gates: list[dict[str, Any]] | None = None,
) -> Comparison:
    """Pair the current run's suites (still in ``run_dir``) with the baseline's."""
    current = RunEvidence(
        path=Path(run_dir),
        title="current run",
        status="running",
        facts={},
        decision={},
        model_name=None,
        model_source=None,
        model_digest=model_digest,
        policy_name=None,
        policy_sha256=None,
        served_model=None,
        suites=suites_from_results(run_dir, evals),
        results={},
        verified=True,
        verify_problems=[],
    )
    return compare_runs(baseline, current, policy_gates=policy_gates)


def baseline_facts(comp: Comparison, baseline: RunEvidence, model_digest: str | None) -> dict[str, object]:
    """Flat ``baseline.*`` facts for policy gates (see the module doc)."""
    facts: dict[str, object] = {
        "baseline.dossier": str(baseline.path),
        "baseline.verified": baseline.verified,
        "baseline.status": baseline.status,
        "baseline.regressions": len(comp.regressions),
        "baseline.incomparable_suites": len(comp.incomparable),
        "baseline.model_digest_changed": model_digest != baseline.model_digest,
    }
    if not baseline.verified:
        return facts  # an unverifiable baseline yields no deltas: gates on them see missing facts
    for d in comp.differences:
        if d.difference is None:
            continue
        key = f"baseline.{d.fact}.delta"
        facts[key] = d.difference
        facts[f"{key}.ci_low"] = d.ci_low
        facts[f"{key}.ci_high"] = d.ci_high
        facts[f"{key}.p_value"] = d.p_adjusted
        facts[f"{key}.n"] = d.n_shared
    return facts
