"""The compare and diff pages: registered runs side by side, and one run against a baseline run.

Only evidence the registry trusts is used: each run's dossier must still verify, be the one the registry
recorded (its manifest digest) and be sealed by an enrolled run-signer; otherwise the page names the run
and the reason and shows no numbers. The numbers come from ``clearance.compare`` (paired tests on the
samples both runs scored, Holm-adjusted), the same code as ``clearance diff`` and ``clearance compare``.
Results are kept per (run ids, dossier digests) in a bounded cache: a registered digest pins every file
of the dossier, and trust is checked again on every request before a cached result is shown.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from typing import Any

from markupsafe import Markup

from clearance.charts import Bar, Estimate, bar_chart, forest_chart
from clearance.compare.candidates import Candidate, dossier_candidate
from clearance.compare.diff import DiffReport, changes
from clearance.compare.differences import MetricDifference, compare_runs
from clearance.compare.evidence import RunEvidence, read_dossier
from clearance.compare.recommend import RULE, PairDifference, pairwise_differences
from clearance.registry import Registry, RunInfo
from clearance.web import dossiers
from clearance.web.dossiers import LRU, DossierView, SampleEntry
from clearance.web.runs import current_run_lines

MIN_RUNS = 2
MAX_RUNS = 8
MAX_FLIPS = 200  # flipped samples listed per direction (all are counted)
SNIPPET = 300  # characters of a prompt or answer shown beside a flipped sample
CACHE_SIZE = 64
EVIDENCE_CACHE_SIZE = 16


class Withheld(Exception):
    """A run's evidence cannot be used; the message names the run and why (one line)."""


@dataclass
class Evidence:
    """A registered run and its dossier as the pages read it (trusted: checked by ``trusted``)."""

    run: RunInfo
    view: DossierView


def trusted(run: RunInfo) -> Evidence:
    """The run's dossier if the registry trusts it as the run's evidence; ``Withheld`` otherwise."""
    view = dossiers.open_dossier(run.dossier_path, run.dossier_digest)
    if not view.trusted:
        raise Withheld(f"run #{run.id}: {view.problem}")
    if not run.signer_trusted:
        raise Withheld(
            f"run #{run.id} was sealed with a key that is not an enrolled run-signer of this registry"
        )
    return Evidence(run=run, view=view)


_cache = LRU(CACHE_SIZE)
_evidence = LRU(EVIDENCE_CACHE_SIZE)  # parsed dossiers, shared by every comparison a run takes part in


def _read(ev: Evidence) -> RunEvidence:
    """The dossier for the comparison code; its verification was done (and cached) by ``trusted``. A
    sealed dossier whose content the comparison cannot read (a field of the wrong type) is withheld."""
    key = (ev.run.id, ev.run.dossier_digest)
    hit = _evidence.get(key)
    if hit is not None:
        return hit
    records: dict[str, list[dict[str, Any]]] = {}
    for e in dossiers.load_samples(ev.view):  # parsed (and kept) for the pages anyway: not parsed twice
        records.setdefault(e.suite, []).append(e.rec)
    try:
        r = read_dossier(ev.view.path, verify=False, records=records)
    except (ValueError, TypeError, KeyError) as exc:
        raise Withheld(
            f"run #{ev.run.id}: its dossier cannot be compared ({type(exc).__name__}: {exc})"
        ) from exc
    r.verified = True
    trusted(ev.run)  # the files did not change while they were read (else this re-verifies and fails)
    _evidence.put(key, r)
    return r


def _key(kind: str, evs: list[Evidence]) -> tuple[Any, ...]:
    return (kind, *((e.run.id, e.run.dossier_digest) for e in evs))


def _still_trusted(evs: list[Evidence]) -> None:
    """Trust checked again after reading: a file changed meanwhile re-verifies (and fails) here."""
    for e in evs:
        trusted(e.run)


# ---- diff ---------------------------------------------------------------------------------------------
@dataclass
class FlipRow:
    """A shared sample whose outcome changed, with what the pages can show of it."""

    suite: str
    sample_id: str
    direction: str
    prompt: str = ""
    baseline_output: str = ""
    candidate_output: str = ""


@dataclass
class DiffPage:
    """What the diff page shows."""

    baseline: RunInfo
    candidate: RunInfo
    report: DiffReport
    others: list[MetricDifference]
    worse: list[FlipRow]
    better: list[FlipRow]
    n_worse: int
    n_better: int
    nothing_compared: str | None = None
    chart: Markup | None = None  # every tested difference with its interval (clearance.charts, escaped)


def diff_runs(baseline: Evidence, candidate: Evidence) -> DiffPage:
    """``candidate`` against ``baseline``, as ``clearance diff`` computes it (cached per digests)."""
    key = _key("diff", [baseline, candidate])
    hit = _cache.get(key)
    if hit is not None:
        return hit
    a, b = _read(baseline), _read(candidate)
    gates = [g for g in b.decision.get("gates") or [] if isinstance(g, dict)]
    comp = compare_runs(a, b, policy_gates=gates)
    report = DiffReport(
        baseline=f"run #{baseline.run.id}",
        candidate=f"run #{candidate.run.id}",
        baseline_status=a.status,
        candidate_status=b.status,
        comparison=comp,
        changes=changes(a, b),
    )
    nothing = None
    if not comp.differences:
        nothing = (
            "; ".join(f"{i.suite}: {', '.join(i.reasons)}" for i in comp.incomparable) or "no suite in common"
        )
    worse = [f for f in comp.flips if f.direction == "pass→fail"]
    better = [f for f in comp.flips if f.direction == "fail→pass"]
    shown = {(f.suite, f.sample_id) for f in worse[:MAX_FLIPS] + better[:MAX_FLIPS]}
    rows_a = _pick(dossiers.load_samples(baseline.view), shown)
    rows_b = _pick(dossiers.load_samples(candidate.view), shown)

    def row(f: Any) -> FlipRow:
        ea, eb = rows_a.get((f.suite, f.sample_id)), rows_b.get((f.suite, f.sample_id))
        either = eb or ea
        return FlipRow(
            suite=f.suite,
            sample_id=f.sample_id,
            direction=f.direction,
            prompt=_snip(either.prompt if either else ""),
            baseline_output=_snip(ea.output if ea else ""),
            candidate_output=_snip(eb.output if eb else ""),
        )

    page = DiffPage(
        baseline=baseline.run,
        candidate=candidate.run,
        report=report,
        others=[d for d in comp.differences if d.verdict not in ("regression", "improvement")],
        worse=[row(f) for f in worse[:MAX_FLIPS]],
        better=[row(f) for f in better[:MAX_FLIPS]],
        n_worse=len(worse),
        n_better=len(better),
        nothing_compared=nothing,
        chart=_difference_chart(comp.differences),
    )
    _still_trusted([baseline, candidate])
    _cache.put(key, page)
    return page


_TONE = {"regression": "bad", "improvement": "good"}


def _difference_chart(diffs: list[MetricDifference]) -> Markup | None:
    rows = [
        Estimate(d.fact, d.difference, d.ci_low, d.ci_high, _TONE.get(d.verdict, "neutral"))
        for d in diffs
        if d.difference is not None and d.ci_low is not None and d.ci_high is not None
    ]
    svg = forest_chart(
        rows, x_label="Δ = candidate − baseline, 95% interval (red: regression, green: improvement)"
    )
    return Markup(svg) if svg else None


def _pick(samples: list[SampleEntry], keys: set[tuple[str, str]]) -> dict[tuple[str, str], SampleEntry]:
    ids = {sid for _suite, sid in keys}
    return {(e.suite, e.id): e for e in samples if e.id in ids and (e.suite, e.id) in keys}


def _snip(text: str) -> str:
    return text if len(text) <= SNIPPET else text[:SNIPPET] + "…"


def last_approved(reg: Registry, run: RunInfo) -> RunInfo | None:
    """The newest other run of the same model whose registry status is approved now, if any."""
    for ln in current_run_lines(reg):  # newest first, statuses kept between writes
        if ln.run.id != run.id and ln.run.model_name == run.model_name and ln.status.status == "approved":
            return ln.run
    return None


# ---- compare ------------------------------------------------------------------------------------------
@dataclass
class Column:
    """One compared run: its registry status and the comparison's view of its dossier."""

    run: RunInfo
    status: str  # the registry's final status (sign-offs, waivers, lapses)
    cand: Candidate


@dataclass
class ComparePage:
    """What the compare page shows."""

    columns: list[Column]
    facts: list[str]
    differences: list[PairDifference]
    incomparable: list[str]
    rule: str
    passing: list[str]
    verdict: str
    trade_offs: list[str]
    command: str
    gated: dict[tuple[str, str], Any] = field(default_factory=dict)  # (candidate name, fact) -> metric
    charts: list[Markup] = field(default_factory=list)  # one per gated metric: each run's value and interval


def compare_runs_page(evs: list[Evidence], statuses: dict[int, str]) -> ComparePage:
    """Policy outcome, gated metrics and paired differences of the runs; the recommendation's rule,
    applied as far as it goes without a workload (sizing and cost need one)."""
    key = _key("compare", evs)
    hit = _cache.get(key)
    if hit is not None:
        cached: ComparePage = hit  # the registry's status moves with sign-offs; the dossier's numbers do not
        cols = [replace(c, status=statuses.get(c.run.id, c.status)) for c in cached.columns]
        return replace(cached, columns=cols)
    cands: list[Candidate] = []
    runs: dict[str, RunEvidence] = {}
    for e in evs:
        r = _read(e)
        cand = dossier_candidate(str(e.view.path), r)
        cand.name = f"#{e.run.id} {cand.name}"  # run ids keep the names apart
        cands.append(cand)
        runs[cand.name] = r
    diffs, incomparable = pairwise_differences(cands, runs, None)
    facts: list[str] = []
    gated: dict[tuple[str, str], Any] = {}
    for c in cands:
        for m in c.gated_metrics:
            if m.fact not in facts:
                facts.append(m.fact)
            gated[(c.name, m.fact)] = m
    passing = [c.name for c in cands if c.passes_policy]
    if not passing:
        verdict = "No candidate passes the policy, so none can be recommended."
    elif len(passing) == 1:
        verdict = f"Only {passing[0]} passes the policy; whether it meets the SLO, and at what cost, needs a workload."
    else:
        verdict = (
            f"{len(passing)} candidates pass the policy ({', '.join(passing)}); the rule picks the cheapest of "
            "them that meets the SLO, which needs a workload to size and cost."
        )
    trade = []
    for pd in diffs:
        d = pd.difference
        if not d.significant or pd.a not in passing or pd.b not in passing:
            continue
        b_better = ((d.difference or 0.0) > 0) == (d.better == "higher")
        win, lose = (pd.b, pd.a) if b_better else (pd.a, pd.b)
        sign = 1.0 if win == pd.b else -1.0
        lo, hi = sorted(((d.ci_low or 0.0) * sign, (d.ci_high or 0.0) * sign))
        trade.append(
            f"{win} is significantly better than {lose} on {d.fact}: {(d.difference or 0.0) * sign:+.3f} "
            f"(95% CI [{lo:+.3f}, {hi:+.3f}], {d.test.split(' (')[0]}, Holm-adjusted p = {d.p_adjusted:.3g}, "
            f"n = {d.n_shared})"
        )
    command = "clearance compare " + " ".join(shlex.quote(e.run.dossier_path) for e in evs)
    page = ComparePage(
        columns=[
            Column(run=e.run, status=statuses.get(e.run.id, "unknown"), cand=c)
            for e, c in zip(evs, cands, strict=True)
        ],
        facts=facts,
        differences=diffs,
        incomparable=incomparable,
        rule=RULE,
        passing=passing,
        verdict=verdict,
        trade_offs=trade,
        command=command + " --workload workload.yaml",
        gated=gated,
        charts=_gated_charts(facts, cands, gated),
    )
    _still_trusted(evs)
    _cache.put(key, page)
    return page


def _gated_charts(
    facts: list[str], cands: list[Candidate], gated: dict[tuple[str, str], Any]
) -> list[Markup]:
    out = []
    for fact in facts:
        bars = [
            Bar(c.name, m.value, m.ci_low, m.ci_high, bad=m.gate_outcome == "failed")
            for c in cands
            if (m := gated.get((c.name, fact))) is not None and m.value is not None
        ]
        rate = all(0.0 <= b.value <= 1.0 and (b.ci_high or 0.0) <= 1.0 for b in bars)
        svg = bar_chart(bars, vmax=1.0 if rate else None, title=fact)
        if svg:
            out.append(Markup(svg))
    return out


def parse_ids(values: list[str], *, least: int, most: int) -> list[int]:
    """Run ids from query values, in order, without repeats; ``ValueError`` with a one-line reason."""
    out: list[int] = []
    for v in values:
        v = v.strip().lstrip("#")
        if not v.isdigit() or len(v) > 9:
            raise ValueError(f"not a run id: {v[:40]!r}")
        if int(v) not in out:
            out.append(int(v))
    if len(out) < least:
        raise ValueError(f"choose at least {least} different runs")
    if len(out) > most:
        raise ValueError(f"choose at most {most} runs")
    return out
