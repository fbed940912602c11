"""CLI: ``clearance vet MODEL`` (the whole approval run) and ``clearance demo`` (vet on the embedded model)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clearance.cli.app import app
from clearance.cli.output import (
    INTERRUPTED_EXIT,
    JsonOption,
    console,
    emit_json,
    err_console,
    report_interrupt,
)
from clearance.inert import inert

if TYPE_CHECKING:
    from clearance.dossier import StageRecord
    from clearance.policy import GateResult
    from clearance.vet import VetOptions, VetResult

_STATUS_STYLE = {
    "approved": "bold white on green",
    "rejected": "bold white on red",
    "needs_review": "bold black on yellow",
}
_STAGE_MARK = {
    "ok": "[green]✓[/]",
    "failed": "[red]✗[/]",
    "unavailable": "[yellow]–[/]",
    "skipped": "[dim]–[/]",
}

DEMO_LIMIT = 60  # every one of the 54 safety prompts: the CI bound needs n >= 50
# bias-basic: its first 36 items keep the answer-option rotation balanced across 6 attributes.
# Other suites: a stratified draw of about the size they had before they grew (the demo shows the decision;
# the full suites are for real runs).
DEMO_SUITE_LIMITS = {
    "capability-basic": 30,
    "bias-basic": 36,
    "pii-leak-basic": 30,
    "prompt-injection-basic": 36,  # 0 of 35 or more can show <= 0.1
    "system-prompt-leak": 16,
    "jailbreak-basic": 24,
    "capability-generated": 20,
}
DEMO_MAX_TOKENS = 32


def _print_stage(rec: StageRecord) -> None:
    mark = _STAGE_MARK.get(rec.status, "?")
    took = f" [dim]{rec.duration_s:.1f}s[/]" if rec.duration_s is not None else ""
    text = rec.error if rec.status == "failed" else rec.summary
    kind = rec.kind if rec.status in ("ok", "failed") else rec.status
    err_console.print(
        f"  {mark} [bold]{inert(f'{rec.name:<29}')}[/] [dim]{kind:<11}[/] {inert(text or '')}{took}",
        soft_wrap=True,
    )


def _observed(g: GateResult) -> str:
    """``fact = value (required op threshold)`` for one gate, short enough for one terminal line."""
    from clearance.dossier.report import fmt_value

    if g.outcome in ("missing", "skipped"):
        if g.outcome == "missing" and g.observed is not None:  # measured on a sample too small to judge
            return f"{g.fact} = {fmt_value(g.observed)} on too small a sample (see reasons)"
        return f"{g.fact} not measured" if g.outcome == "missing" else g.reason
    point = f", point estimate {fmt_value(g.point_estimate)}" if g.point_estimate is not None else ""
    return f"{g.fact} = {fmt_value(g.observed)}{point} (required {g.operator} {fmt_value(g.threshold)})"


def _run(opts: VetOptions) -> VetResult:
    """Run vet with stage lines on stderr; Ctrl-C ends with one line naming the kept partial results."""
    from clearance.vet import default_out_dir, run_vet

    if opts.out is None:
        opts = opts.model_copy(update={"out": str(default_out_dir(opts.model))})
    try:
        return run_vet(opts, on_stage=_print_stage)
    except KeyboardInterrupt:
        report_interrupt(
            f"stopped by Ctrl-C; results so far are kept in {opts.out} (marked unfinished by its .partial file)"
        )
        raise typer.Exit(INTERRUPTED_EXIT) from None


def _report(res: VetResult, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "status": res.decision.status,
                "out_dir": res.out_dir,
                "report": res.dossier.report_html,
                "decision": res.decision,
                "stages": res.stages,
                "facts": res.facts,
                "signing": res.dossier.signing,
            }
        )
        raise typer.Exit(res.exit_code)
    d = res.decision
    console.print()
    console.print(
        f"[{_STATUS_STYLE[d.status]}] {d.status.upper().replace('_', ' ')} [/]  policy {inert(d.policy_name)}",
        soft_wrap=True,
    )
    console.print("Reasons:")
    for r in d.reasons:
        console.print(f"  • {inert(r)}", soft_wrap=True)
    for w in d.policy_warnings:
        console.print(f"  [yellow]policy warning:[/] {inert(w)}", soft_wrap=True)
    counts = d.counts()
    console.print(
        f"Gates: {counts['passed']} passed, {counts['failed']} failed, {counts['missing']} not measured, "
        f"{counts['skipped']} skipped",
        soft_wrap=True,
    )
    for g in d.gates:
        style = {"passed": "green", "failed": "red", "missing": "yellow", "skipped": "dim"}[g.outcome]
        action = f" → {g.action}" if g.outcome != "passed" and g.action != "none" else ""
        console.print(
            f"  [{style}]{g.outcome:<8}[/] {inert(g.id)}{inert(action)}: {inert(_observed(g))}",
            soft_wrap=True,
        )
    s = res.dossier.signing
    console.print(f"Report:  {inert(Path(res.dossier.report_html).resolve())}", soft_wrap=True)
    console.print(
        f"Dossier: {inert(Path(res.out_dir).resolve())}  (signed, {inert(s.algorithm)}, key fingerprint "
        f"{inert(s.fingerprint[:16])}…; check with: clearance dossier verify {inert(res.out_dir)})",
        soft_wrap=True,
    )
    if s.ephemeral:
        console.print(f"[dim]{inert(s.note)}[/]", soft_wrap=True)
    raise typer.Exit(res.exit_code)


@app.command()
def vet(
    model: Annotated[
        str,
        typer.Argument(help="Model directory (config.json + weights), a .gguf file, or a HF cache snapshot."),
    ],
    endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--endpoint",
            "-e",
            help="OpenAI-compatible URL serving this model (repeat for replicas); default: serve a .gguf MODEL with the embedded llama.cpp.",
        ),
    ] = None,
    endpoints_file: Annotated[
        Path | None,
        typer.Option("--endpoints-file", help="File with one replica URL per line (# comments allowed)."),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Policy YAML file (default: the shipped default policy).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Run directory (default ./clearance-runs/<model>-<UTC time>)."),
    ] = None,
    gpu: Annotated[
        str, typer.Option("--gpu", help="GPU the deployment targets (plan and cost).")
    ] = "H100-SXM",
    suites: Annotated[
        str | None,
        typer.Option("--suites", help="Comma-separated eval suites (default: every shipped suite)."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most N samples per suite.")] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option("--max-tokens", help="At most N tokens per answer (caps each suite's own default)."),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Requests in flight during evals.")] = 4,
    sample_seed: Annotated[
        int | None,
        typer.Option("--sample-seed", help="Seed of the stratified --limit draw (default 0; recorded)."),
    ] = None,
    reasoning_budget: Annotated[
        int | None,
        typer.Option(
            "--reasoning-budget",
            help="Tokens of reasoning allowed on top of each suite's answer length (default: 2048 when a "
            "reasoning model is noticed, else 0).",
        ),
    ] = None,
    chat_template_kwargs: Annotated[
        str | None,
        typer.Option(
            "--chat-template-kwargs",
            help="JSON object for the engine's chat template, e.g. '{\"enable_thinking\": false}' (recorded).",
        ),
    ] = None,
    datasets: Annotated[
        Path | None,
        typer.Option(
            "--datasets",
            help="Folder of public benchmarks (xstest/, harmbench/, bbq/, …; see `clearance datasets`): each one "
            "found is evaluated too, with its sha256 and license in the evidence.",
        ),
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(
            "--judge",
            help="OpenAI-compatible URL of a local judge model: its verdict per answer is recorded beside the "
            "offline classifier's, with agreement; a policy may gate on evals.<suite>.judge.* facts.",
        ),
    ] = None,
    judge_model: Annotated[
        str | None,
        typer.Option("--judge-model", help="Model name at the judge endpoint (default: the one it serves)."),
    ] = None,
    claims: Annotated[
        Path | None,
        typer.Option(
            "--claims",
            help="YAML of claimed scores ({claims: [{fact, value, tolerance}]}) checked against the measured "
            "ones; the card's model-index is checked too.",
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key", help="PEM private key (Ed25519/ECDSA) to sign the dossier; default: a fresh per-run key."
        ),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="CLEARANCE_API_KEY", help="Bearer token for --endpoint.")
    ] = None,
    long_context: Annotated[
        bool,
        typer.Option(
            "--long-context", help="Also probe planted-fact retrieval up to the served context length."
        ),
    ] = False,
    max_context: Annotated[
        int | None,
        typer.Option("--max-context", help="Served context length when /v1/models does not report it."),
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option("--tokenizer", help="'server' or a tokenizer.json: exact lengths for --long-context."),
    ] = None,
    soak: Annotated[
        float | None,
        typer.Option("--soak", help="Also hold steady load for this many seconds and measure drift."),
    ] = None,
    workload: Annotated[
        Path | None,
        typer.Option(
            "--workload", help="Workload YAML for the cost stage (default: an illustrative workload)."
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Dossier of the model in production, or registry:[LOCATION] for the registry's approved run "
            "of the same family: publishes baseline.* facts (paired deltas).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (decision, stages, facts) on stdout.")
    ] = False,
) -> None:
    """Run the whole approval: intake → scan → plan → cost → evals → load → policy decision → signed dossier.

    Exit status: 0 approved, 1 rejected, 3 needs review, 2 error (one line; results so far stay in --out).

    Example: [bold]clearance vet ./Qwen3-8B --endpoint http://gpu-box:8000/v1 --gpu H100-SXM --out runs/qwen3-8b[/]
    """
    from clearance.endpoint.pool import parse_endpoints
    from clearance.evals.suite import parse_kwargs
    from clearance.vet import VetOptions

    urls = parse_endpoints(endpoint, endpoints_file)
    opts = VetOptions(
        model=model,
        endpoint=urls[0] if urls else None,
        replicas=urls[1:],
        api_key=api_key,
        policy=str(policy) if policy else None,
        out=str(out) if out else None,
        gpu=gpu,
        suites=[s.strip() for s in suites.split(",") if s.strip()] if suites else None,
        limit=limit,
        max_tokens=max_tokens,
        eval_concurrency=concurrency,
        sample_seed=sample_seed,
        reasoning_budget=reasoning_budget,
        chat_template_kwargs=parse_kwargs(chat_template_kwargs),
        claims=str(claims) if claims else None,
        judge=judge,
        judge_model=judge_model,
        datasets=str(datasets) if datasets else None,
        key=str(key) if key else None,
        workload=str(workload) if workload else None,
        baseline=str(baseline) if baseline else None,
        long_context=long_context,
        max_context=max_context,
        tokenizer=tokenizer,
        soak_s=soak,
    )
    err_console.print(f"[bold]clearance vet[/] {inert(model)}", soft_wrap=True)
    _report(_run(opts), as_json)


@app.command()
def demo(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Run directory (default ./clearance-runs/<model>-<UTC time>)."),
    ] = None,
    limit: Annotated[
        int,
        typer.Option("--limit", help="At most N samples per suite (keep >= 50 for a meaningful safety CI)."),
    ] = DEMO_LIMIT,
    max_tokens: Annotated[
        int, typer.Option("--max-tokens", help="At most N tokens per answer (caps each suite's own default).")
    ] = DEMO_MAX_TOKENS,
    as_json: JsonOption = False,
) -> None:
    """Vet the embedded SmolLM2-135M-Instruct GGUF with the default policy, end to end, on this machine.

    Starts llama.cpp on loopback, runs every stage, prints the decision and its reasons gate by gate, and the
    path of report.html. The default policy rejects this tiny model: it does not refuse harmful requests.

    Example: [bold]clearance demo --out runs/demo[/]
    """
    from clearance.endpoint.server import find_embedded_gguf
    from clearance.vet import VetOptions

    gguf = find_embedded_gguf()
    opts = VetOptions(
        model=str(gguf),
        out=str(out) if out else None,
        limit=limit,
        max_tokens=max_tokens,
        suite_limits={k: min(v, limit) for k, v in DEMO_SUITE_LIMITS.items()},
        eval_concurrency=2,
        load_requests=8,
        load_concurrency=2,
        load_max_tokens=max_tokens,
        determinism_repeats=3,
        determinism_max_tokens=max_tokens,
    )
    err_console.print(
        f"[bold]clearance demo[/]: vetting the embedded model {inert(gguf.name)} with the default policy "
        "(a few minutes on two CPU cores)",
        soft_wrap=True,
    )
    _report(_run(opts), as_json)
