"""CLI: ``clearance compare`` (candidates side by side, a recommendation) and ``clearance diff``
(regressions of a candidate dossier against a baseline dossier; exit 1 on a significant one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearance.cli.app import app
from clearance.cli.output import JsonOption, console, emit_json, err_console
from clearance.errors import InputError
from clearance.inert import inert

_COMPARE_EPILOG = (
    "Example: clearance compare Qwen3.5-9B Qwen3.5-27B Qwen3.5-122B-A10B --workload docs/examples/workload.yaml "
    "--gpu H100-SXM --out compare-run\n\n"
    "Dossiers: clearance compare runs/qwen-9b runs/qwen-27b --workload workload.yaml --json"
)
_DIFF_EPILOG = (
    "Example: clearance diff runs/model-v1 runs/model-v2 --json\n\n"
    "Exit status: 0 no significant regression, 1 a significant regression, 2 error (or nothing comparable)."
)


def _t(text: object) -> str:
    """Names, reasons and ids may come from a model or a file: inert for the terminal."""
    return inert(text)


@app.command(epilog=_COMPARE_EPILOG)
def compare(
    candidates: Annotated[
        list[str],
        typer.Argument(help="Sealed dossier directories, or models (catalog name, config dir, .gguf)."),
    ],
    workload: Annotated[
        Path | None,
        typer.Option(
            "--workload",
            help="Workload YAML (traffic, tokens, SLO, horizon, hardware); see docs/workload.md.",
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy", help="Judge every candidate under this policy (default: each dossier's own)."
        ),
    ] = None,
    gpu: Annotated[
        list[str] | None,
        typer.Option(
            "--gpu",
            help="GPU type to size on (repeatable; default: the workload's hardware, else four common ones).",
        ),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option("--prices", help="Price YAML merged over the catalog (before the workload's prices)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write compare.json and the self-contained compare.html here."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Compare candidate models for one workload: policy outcome, gated quality metrics with intervals,
    the smallest configuration per GPU type and the replicas the SLO needs, latency, TCO and $/M tokens,
    paired tests on shared samples, Pareto frontiers, and a recommendation with its rule."""
    from clearance.compare import compare_candidates
    from clearance.compare.report import render_compare_html
    from clearance.policy import load_policy
    from clearance.workload import load_workload, parse_workload

    wl = (
        load_workload(workload)
        if workload is not None
        else parse_workload(_DEFAULT_WORKLOAD, source="built-in example workload")
    )
    pol = load_policy(policy) if policy is not None else None
    with err_console.status("sizing and costing the candidates..."):
        report = compare_candidates(
            candidates, wl, policy=pol, gpus=gpu or None, prices_file=str(prices) if prices else None
        )
    if workload is None:
        report.assumptions.insert(
            0, "no --workload given: an illustrative example workload (10,000 requests/day)"
        )
    written: list[str] = []
    if out is not None:
        written = _write(report, out, render_compare_html(report))
    if json_out:
        emit_json({**report.model_dump(mode="json"), "written": written})
        return
    _render(report)
    for p in written:
        console.print(f"written: {_t(p)}")


_DEFAULT_WORKLOAD = """
name: illustrative
traffic: {requests_per_day: 10000, peak_factor: 3, hours_per_day: 24}
tokens: {prompt: {mean: 500}, output: {mean: 200}}
slo: {ttft_p95_s: 2.0, tpot_p95_s: 0.05}
horizon_years: 3
"""


def _write(report: object, out: Path, html: str) -> list[str]:
    import json

    from clearance.jsonio import to_jsonable

    try:
        out.mkdir(parents=True, exist_ok=True)
        j, h = out / "compare.json", out / "compare.html"
        j.write_text(json.dumps(to_jsonable(report), indent=2) + "\n", encoding="utf-8")
        h.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"compare: cannot write into {out}: {exc}") from None
    return [str(j.resolve()), str(h.resolve())]


def _render(report: object) -> None:
    from clearance.compare import CompareReport

    assert isinstance(report, CompareReport)
    console.print(f"[bold]Comparison[/] — workload: {_t(report.workload_summary)}")
    t = Table(title="Candidates", title_justify="left")
    for col in (
        "candidate",
        "evidence",
        "policy",
        "best configuration",
        "latency TTFT/TPOT",
        "SLO",
        "horizon cost",
        "$/M tok",
    ):
        t.add_column(col, justify="right" if col in ("horizon cost", "$/M tok") else "left")
    for c in report.candidates:
        b = c.best
        ev = c.evidence + ("" if c.verified is not False else " (does not verify)")
        if b is None:
            t.add_row(_t(c.name), ev, c.policy_status, "—", "—", "not sized", "—", "—")
            continue
        lat = (
            f"{b.ttft_s:.3g} s / {(b.tpot_s or 0) * 1000:.3g} ms ({b.latency_source})"
            if b.ttft_s is not None
            else "—"
        )
        t.add_row(
            _t(c.name),
            ev,
            c.policy_status,
            f"{b.replicas} × ({b.gpus_per_replica} × {b.gpu}), c={b.concurrency}",
            lat,
            "met" if c.meets_slo else "[red]not met[/]",
            f"${b.horizon_cost:,.0f}" if b.horizon_cost is not None else "—",
            f"{b.cost_per_mtok:,.3f}" if b.cost_per_mtok is not None else "—",
        )
    console.print(t)
    facts: list[str] = []
    for c in report.candidates:
        facts += [m.fact for m in c.gated_metrics if m.fact not in facts and m.value is not None]
    if facts:
        q = Table(title="Gated quality metrics (95% interval)", title_justify="left")
        q.add_column("metric")
        for c in report.candidates:
            q.add_column(_t(c.name), justify="right")
        for f in facts:
            row = [f]
            for c in report.candidates:
                m = next((m for m in c.gated_metrics if m.fact == f), None)
                row.append(
                    f"{m.value:.3g} [{m.ci_low:.3g}, {m.ci_high:.3g}]"
                    if m and m.value is not None and m.ci_low is not None and m.ci_high is not None
                    else (f"{m.value:.3g}" if m and m.value is not None else "not measured")
                )
            q.add_row(*row)
        console.print(q)
    for p in report.differences:
        d = p.difference
        if d.significant:
            console.print(f"  {_t(p.b)} vs {_t(p.a)}: {_t(d.sentence())}")
    for x in report.incomparable:
        console.print(f"  [yellow]{_t(x)}[/]")
    r = report.recommendation
    head = {
        "recommended": "[green]Recommended[/]",
        "provisional": "[yellow]Provisional[/]",
        "none": "[red]No recommendation[/]",
    }[r.status]
    console.print(f"\n{head}: [bold]{_t(r.candidate or '—')}[/]  (rule: {_t(r.rule)})")
    for x in r.reasons:
        console.print(f"  - {_t(x)}")
    for x in r.trade_offs:
        console.print(f"  trade-off: {_t(x)}")
    for x in r.flips:
        console.print(f"  flips: {_t(x)}")
    if any(c.evidence == "estimated" for c in report.candidates):
        console.print(f"[italic]{_t(report.estimate_note)}[/]")


@app.command(epilog=_DIFF_EPILOG)
def diff(
    baseline: Annotated[
        Path, typer.Argument(help="The baseline's sealed dossier directory (e.g. the approved model).")
    ],
    candidate: Annotated[Path, typer.Argument(help="The candidate's sealed dossier directory.")],
    json_out: JsonOption = False,
) -> None:
    """Regressions of CANDIDATE against BASELINE on shared samples (exact McNemar / paired difference,
    Holm-adjusted), with effect sizes; samples that flipped; changed artifact digest, settings, datasets
    and policy. Exit 0 when nothing regressed significantly, 1 when something did, 2 on error."""
    from clearance.compare import diff_dossiers

    rep = diff_dossiers(baseline, candidate)
    if json_out:
        emit_json(rep.to_json())
        raise typer.Exit(rep.exit_code)
    c = rep.comparison
    console.print(
        f"[bold]diff[/] {_t(rep.baseline)} ({rep.baseline_status}) → {_t(rep.candidate)} ({rep.candidate_status})"
    )
    for w in rep.warnings:
        console.print(f"[red]warning:[/] {_t(w)}")
    if c.regressions:
        console.print(f"[red bold]{len(c.regressions)} significant regression(s)[/] (Holm, α = {c.alpha:g}):")
        for d in c.regressions:
            console.print(f"  [red]✗[/] {_t(d.sentence())}")
    else:
        console.print(f"[green]no significant regression[/] (Holm, α = {c.alpha:g})")
    for d in c.improvements:
        console.print(f"  [green]✓[/] {_t(d.sentence())}")
    rest = [d for d in c.differences if d.verdict not in ("regression", "improvement")]
    for d in rest:
        console.print(f"  · {_t(d.sentence())}")
    for i in c.incomparable:
        console.print(f"  [yellow]incomparable[/] {_t(i.suite)}: {_t('; '.join(i.reasons))}")
    for s in c.only_in_baseline:
        console.print(f"  [yellow]only in baseline[/]: {_t(s)}")
    for s in c.only_in_candidate:
        console.print(f"  only in candidate: {_t(s)}")
    bad = [f for f in c.flips if f.direction == "pass→fail"]
    if bad:
        console.print(f"flipped pass→fail ({len(bad)}):")
        for f in bad[:50]:
            console.print(f"  {_t(f.suite)} {_t(f.sample_id)}")
        if len(bad) > 50:
            console.print(f"  … and {len(bad) - 50} more (all in --json)")
    good = sum(1 for f in c.flips if f.direction == "fail→pass")
    if good:
        console.print(f"flipped fail→pass: {good}")
    if rep.changes:
        console.print("[bold]changed[/]:")
        for ch in rep.changes:
            console.print(f"  {_t(ch.what)}: {_t(ch.baseline)} → {_t(ch.candidate)}")
    raise typer.Exit(rep.exit_code)
