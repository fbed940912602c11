"""Candidates of a comparison: a sealed dossier (measured) or a model (catalog name, directory, GGUF: estimated).

Each candidate gets its policy outcome, its gated quality metrics with intervals, a sizing per GPU type for
the workload, and the cheapest sizing that meets the SLO.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from clearance.compare.evidence import RunEvidence, is_dossier, read_dossier
from clearance.compare.sizing import Measured, Sizing, measured_from_load, size_on_gpu
from clearance.errors import ClearanceError, InputError
from clearance.workload import WorkloadFile


class GatedMetric(BaseModel):
    """A metric a policy gate judges, as this candidate measured it."""

    fact: str
    gate: str
    better: Literal["higher", "lower", "unknown"]
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    gate_outcome: str | None = None


class Candidate(BaseModel):
    """One candidate and everything the comparison knows about it."""

    ref: str
    name: str
    kind: Literal["dossier", "model"]
    evidence: Literal["measured", "estimated"]
    verified: bool | None = None
    verify_problems: list[str] = Field(default_factory=list)
    policy_status: str  # approved | rejected | needs_review | not evaluated
    policy_name: str | None = None
    policy_reasons: list[str] = Field(default_factory=list)
    passes_policy: bool = False
    gated_metrics: list[GatedMetric] = Field(default_factory=list)
    sizings: list[Sizing] = Field(default_factory=list)
    best: Sizing | None = None
    meets_slo: bool = False
    notes: list[str] = Field(default_factory=list)
    on_frontier_cost: bool = False
    on_frontier_latency: bool = False

    def quality_index(self) -> float | None:
        """Mean of the gated metrics in [0, 1], each oriented so that higher is better (None if unmeasured)."""
        vals = []
        for m in self.gated_metrics:
            if m.value is None or m.better == "unknown" or not 0.0 <= m.value <= 1.0:
                continue
            vals.append(m.value if m.better == "higher" else 1.0 - m.value)
        return sum(vals) / len(vals) if vals else None


def load_candidate(
    ref: str,
    wl: WorkloadFile,
    book: Any,
    gpus: list[str],
    policy: Any,
    *,
    engine: str = "vllm",
) -> tuple[Candidate, RunEvidence | None]:
    """Build the candidate for ``ref`` (a dossier directory, or anything ``clearance plan`` accepts)."""
    from clearance.plan import load_spec

    run: RunEvidence | None = None
    spec: Any = None
    notes: list[str] = []
    if is_dossier(ref):
        run = read_dossier(ref)
        spec = _spec_for(run, notes)
        cand = dossier_candidate(ref, run, policy, notes)
    else:
        if Path(ref).name == "dossier.json" or (Path(ref).is_dir() and (Path(ref) / ".partial").exists()):
            raise InputError(
                f"{ref}: an unfinished run or a bare dossier.json; give the sealed dossier directory"
            )
        try:
            spec = load_spec(ref)
        except ClearanceError as exc:
            raise InputError(
                f"candidate {ref}: not a dossier and not a model the planner knows ({exc})"
            ) from None
        name = str(getattr(spec, "name", None) or ref)
        gates = [g.model_dump(mode="json") for g in policy.gates] if policy is not None else []
        cand = Candidate(
            ref=ref,
            name=name,
            kind="model",
            evidence="estimated",
            policy_status="not evaluated",
            policy_name=getattr(policy, "name", None),
            policy_reasons=["no measurements: run `clearance vet` on it to judge it against the policy"],
            gated_metrics=_gated(gates, {}),
        )
    measured = _measured(run) if run is not None else None
    if spec is None:
        notes.append("model files not available: no sizing or cost (give the model itself as a candidate)")
    else:
        for g in gpus:
            cand.sizings.append(size_on_gpu(spec, g, wl, book, measured=measured, engine=engine))
    ok = [s for s in cand.sizings if s.fits and s.meets_slo and s.horizon_cost is not None]
    if ok:
        cand.best = min(ok, key=lambda s: s.horizon_cost or 0.0)
        cand.meets_slo = True
    else:
        costed = [s for s in cand.sizings if s.fits and s.horizon_cost is not None]
        if costed:
            cand.best = min(costed, key=lambda s: s.horizon_cost or 0.0)
            notes.append("meets the SLO on none of the GPUs considered: " + "; ".join(cand.best.slo_misses))
    cand.notes = notes
    return cand, run


def dossier_candidate(
    ref: str, run: RunEvidence, policy: Any = None, notes: list[str] | None = None
) -> Candidate:
    """The candidate of a sealed dossier: its own decision, or re-judged under ``policy``, with its gated
    metrics; no sizing (``load_candidate`` adds that for a workload). Notes are appended to ``notes``."""
    from clearance.policy import decide

    notes = notes if notes is not None else []
    name = run.model_name or run.title
    facts = dict(run.facts)
    if policy is not None:
        decision = decide(policy, facts)
        status: str = decision.status
        reasons = list(decision.reasons)
        pname: str | None = decision.policy_name
        gates = [g.model_dump(mode="json") for g in decision.gates]
        if run.policy_name and run.policy_name != pname:
            notes.append(f"re-judged under policy {pname} (the dossier was decided under {run.policy_name})")
    else:
        status = run.status
        reasons = [str(r) for r in run.decision.get("reasons") or []]
        pname = run.policy_name
        gates = [g for g in run.decision.get("gates") or [] if isinstance(g, dict)]
    cand = Candidate(
        ref=ref,
        name=name,
        kind="dossier",
        evidence="measured",
        verified=run.verified,
        verify_problems=run.verify_problems,
        policy_status=status,
        policy_name=pname,
        policy_reasons=reasons[:6],
        passes_policy=status == "approved" and run.verified,
        gated_metrics=_gated(gates, facts),
    )
    if not run.verified:
        notes.append("the dossier does not verify: shown, never recommended")
    cand.notes = notes
    return cand


def _spec_for(run: RunEvidence, notes: list[str]) -> Any:
    """The model's architecture: from its files if still on disk, else the catalog entry of its name."""
    from clearance.plan import load_spec

    candidates = []
    if run.model_source and Path(run.model_source).exists():
        candidates.append(run.model_source)
    if run.model_name:
        candidates.append(run.model_name)
    for src in candidates:
        try:
            spec = load_spec(src)
        except ClearanceError:
            continue
        if not (src == run.model_source and Path(src).exists()):
            notes.append(f"sized from the catalog entry {src!r} (the model files are not on this machine)")
        return spec
    return None


def _measured(run: RunEvidence) -> Measured | None:
    plan = run.results.get("plan")
    if not isinstance(plan, dict) or not plan.get("gpu"):
        return None
    return measured_from_load(run.results.get("load"), str(plan["gpu"]))


def _gated(gates: list[dict[str, Any]], facts: dict[str, Any]) -> list[GatedMetric]:
    out: dict[str, GatedMetric] = {}
    for g in gates:
        fact = str(g.get("fact") or "")
        for suffix in (".ci_low", ".ci_high"):
            fact = fact.removesuffix(suffix)
        if not fact.startswith("evals.") or fact in out:
            continue
        op = str(g.get("operator"))
        better: Literal["higher", "lower", "unknown"] = (
            "higher" if op in (">=", ">") else "lower" if op in ("<=", "<") else "unknown"
        )
        v = facts.get(fact)
        out[fact] = GatedMetric(
            fact=fact,
            gate=str(g.get("id")),
            better=better,
            value=float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None,
            ci_low=_num(facts.get(f"{fact}.ci_low")),
            ci_high=_num(facts.get(f"{fact}.ci_high")),
            n=int(n) if isinstance((n := facts.get(f"{fact}.n")), int) else None,
            gate_outcome=str(g["outcome"]) if g.get("outcome") else None,
        )
    return list(out.values())


def _num(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None
