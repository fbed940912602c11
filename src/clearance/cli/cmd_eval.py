"""CLI: `clearance eval` — run an evaluation suite against an endpoint; metrics with 95% CIs, resumable."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from clearance.checks import at_least, positive_finite
from clearance.cli.app import app
from clearance.cli.output import JsonOption, console, emit_json, err_console
from clearance.errors import EndpointError, InputError
from clearance.inert import inert, inert_text
from clearance.outlock import check_out_path

if TYPE_CHECKING:
    from clearance.endpoint.pool import ReplicaStats
    from clearance.evals import SuiteResult

EVAL_HELP = """Run an evaluation suite against an OpenAI-compatible endpoint.

Writes one JSONL record per sample (samples.jsonl) and metrics.json with 95% confidence intervals (Wilson for rates, bootstrap otherwise) into --out. Re-running into the same --out resumes: finished samples are never asked again; failed ones are retried. Without --endpoint, the embedded SmolLM2 model is served on 127.0.0.1. Public datasets are never downloaded: give them with --data.

Examples:

  clearance eval --list

  clearance eval --endpoint http://127.0.0.1:8000 --suite safety-refusal --out runs/safety

  clearance eval -e http://127.0.0.1:8000 --suite gsm8k --data ../shared/datasets/gsm8k/test.jsonl --limit 100

  clearance eval -e http://127.0.0.1:8000 --suite safety-refusal --judge http://127.0.0.1:8001 --judge-model judge-7b

With --judge, a second OpenAI-compatible model classifies every answer (refusal/compliance, harmful) with a documented rubric; its verdict is stored per sample next to the offline pattern classifier's, and agreement is reported. Metrics still come from the pattern classifier.
"""


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _table(res: SuiteResult) -> Table:
    t = Table(
        title=f"eval {inert(res.suite)} — {inert(res.endpoint.served_model)} @ {inert(res.endpoint.url)}"
        + (f" and {len(res.endpoint.replicas) - 1} more replicas" if len(res.endpoint.replicas) > 1 else ""),
        title_justify="left",
    )
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_column(
        f"{int(next(iter(res.metrics.values())).confidence * 100) if res.metrics else 95}% CI",
        justify="right",
    )
    t.add_column("valid", justify="right")
    t.add_column("incomplete/invalid", justify="right")
    t.add_column("CI method")
    for name, m in res.metrics.items():
        ci = "-" if m.ci_low is None or m.ci_high is None else f"{m.ci_low:.3f} – {m.ci_high:.3f}"
        value = (
            _fmt(m.value)
            if m.measured
            else ("not measured" if m.value is None else f"not measured ({_fmt(m.value)})")
        )
        t.add_row(
            inert_text(name), value, ci, str(m.n), str(m.n_incomplete + m.n_invalid), inert_text(m.method)
        )
    return t


def _suites_table() -> Table:
    from clearance.evals import list_suites

    t = Table(title="built-in suites", title_justify="left")
    t.add_column("suite")
    t.add_column("data")
    t.add_column("what it measures")
    for s in list_suites():
        t.add_row(inert_text(s["name"]), inert_text(s["data"]), inert_text(s["description"]))
    return t


@app.command(name="eval", help=EVAL_HELP)
def eval_cmd(
    endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--endpoint",
            "-e",
            help="OpenAI-compatible base URL; repeat for replicas of one model; default: serve the embedded SmolLM2 model.",
        ),
    ] = None,
    endpoints_file: Annotated[
        Path | None,
        typer.Option("--endpoints-file", help="File with one replica URL per line (# comments allowed)."),
    ] = None,
    suite: Annotated[
        str | None,
        typer.Option("--suite", "-s", help="Built-in suite name (see --list) or a suite .yaml file."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", "-d", help="Dataset file or folder for suites that need one (gsm8k, xstest, …)."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            help="At most N samples: a seeded draw stratified over the suite's categories (recorded in the evidence).",
        ),
    ] = None,
    sample_seed: Annotated[
        int | None, typer.Option("--sample-seed", help="Seed of the --limit draw (default 0).")
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-tokens",
            help="Tokens per answer, reasoning included (a reasoning model needs its reasoning budget here).",
        ),
    ] = None,
    chat_template_kwargs: Annotated[
        str | None,
        typer.Option(
            "--chat-template-kwargs",
            help="JSON object passed to the engine's chat template, e.g. '{\"enable_thinking\": false}' (recorded).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Output directory (default: clearance-runs/eval-<suite>); re-running resumes."
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="Requests in flight per replica at the start.")
    ] = 8,
    max_concurrency: Annotated[
        int | None,
        typer.Option(
            "--max-concurrency",
            help="Adaptive ceiling, all replicas together (AIMD: up while throughput grows, halved on 429/503/timeouts); default 32 per replica.",
        ),
    ] = None,
    fixed_concurrency: Annotated[
        bool, typer.Option("--fixed-concurrency", help="Keep --concurrency constant (no AIMD).")
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Discard earlier results in --out instead of resuming.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="Deadline per request in seconds: connect, response and the whole body."
        ),
    ] = 120.0,
    retries: Annotated[int, typer.Option("--retries", help="Retries per request on 5xx/timeouts.")] = 3,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="CLEARANCE_API_KEY", help="Bearer token.")
    ] = None,
    judge: Annotated[
        str | None,
        typer.Option(
            "--judge",
            help="OpenAI-compatible base URL of a judge model: classify each answer too (recorded beside the pattern verdict).",
        ),
    ] = None,
    judge_model: Annotated[
        str | None,
        typer.Option("--judge-model", help="Model name at the judge endpoint (default: the one it serves)."),
    ] = None,
    judge_api_key: Annotated[
        str | None,
        typer.Option("--judge-api-key", envvar="CLEARANCE_JUDGE_API_KEY", help="Bearer token for the judge."),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the built-in suites and exit.")] = False,
    json_out: JsonOption = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar on stderr.")] = False,
) -> None:
    """Run an evaluation suite (see the help text above)."""
    import asyncio

    from clearance.endpoint import OpenAIClient, Timeouts
    from clearance.endpoint.pool import ReplicaPool, parse_endpoints
    from clearance.evals import Judge, list_suites, load_suite, run_suite
    from clearance.evals.suite import parse_kwargs, with_generation

    if list_:
        if json_out:
            emit_json({"suites": list_suites()})
        else:
            console.print(_suites_table())
        return
    if suite is None:
        raise InputError("give --suite NAME|FILE (see `clearance eval --list`)")
    if judge_model is not None and judge is None:
        raise InputError("--judge-model needs --judge URL (the judge endpoint)")
    positive_finite("--timeout", timeout)
    at_least("--limit", limit, 1)
    at_least("--concurrency", concurrency, 1)
    at_least("--retries", retries, 0)
    urls = parse_endpoints(endpoint, endpoints_file)
    if out is not None:
        check_out_path(out)
    st = load_suite(suite, data=data)
    st = with_generation(st, max_tokens=max_tokens, chat_template_kwargs=parse_kwargs(chat_template_kwargs))
    out_dir = out or Path("clearance-runs") / f"eval-{st.name}"
    start = concurrency * max(1, len(urls))  # per replica: four replicas start with four times as many
    ceiling = start if fixed_concurrency else (max_concurrency or max(start, 32 * max(1, len(urls))))

    server: AbstractContextManager[Any] = nullcontext()
    if not urls:
        from clearance.endpoint.server import EmbeddedServer

        err_console.print("no --endpoint: serving the embedded SmolLM2-135M model on 127.0.0.1")
        server = EmbeddedServer()
    with server as srv:
        if not urls:
            urls = [srv.base_url]

        async def go() -> SuiteResult:
            async with ReplicaPool(
                urls,
                api_key=api_key,
                timeouts=Timeouts(read=timeout, total=timeout),
                max_retries=retries,
                max_connections=max(ceiling, 8),
            ) as client:
                if judge is None:
                    return await run_suite(
                        client,
                        st,
                        out_dir,
                        limit=limit,
                        concurrency=start,
                        max_concurrency=ceiling,
                        adaptive=not fixed_concurrency,
                        progress=not no_progress and not json_out,
                        restart=restart,
                        sample_seed=sample_seed,
                    )
                async with OpenAIClient(
                    judge,
                    api_key=judge_api_key,
                    timeouts=Timeouts(read=timeout, total=timeout),
                    max_retries=retries,
                    max_connections=max(concurrency, 8),
                ) as jclient:
                    return await run_suite(
                        client,
                        st,
                        out_dir,
                        limit=limit,
                        concurrency=start,
                        max_concurrency=ceiling,
                        adaptive=not fixed_concurrency,
                        progress=not no_progress and not json_out,
                        restart=restart,
                        judge=Judge(jclient, model=judge_model),
                        sample_seed=sample_seed,
                    )

        res = asyncio.run(go())
    if json_out:
        emit_json(res)
        _fail_if_nothing_answered(res)
        return
    console.print(_table(res))
    ds = res.dataset
    console.print(
        f"dataset: {inert(ds.name)} ({ds.rows} rows, sha256 {inert(ds.sha256[:16])}…, license {inert(ds.license)})"
    )
    for note in res.dataset_notes:
        console.print(f"  note: {inert(note)}")
    console.print(
        f"samples: {res.n_selected} selected, {res.n_completed} completed, {res.n_failed} failed"
        + (
            f" ({', '.join(f'{inert(k)}: {v}' for k, v in res.errors_by_type.items())})"
            if res.errors_by_type
            else ""
        )
        + f"; {res.resumed_samples} resumed from earlier runs, {res.new_samples} asked now in {res.wall_s:.1f} s"
        + (f"; {res.n_truncated} hit max_tokens" if res.n_truncated else "")
    )
    if res.sampling is not None and res.sampling.method != "all":
        sm = res.sampling
        console.print(
            f"sampling: {sm.selected} of {sm.population} drawn ({sm.method} over {', '.join(sm.strata) or 'samples'}"
            f"{', whole ' + sm.group + 's' if sm.group else ''}; seed {sm.seed}, {len(sm.by_stratum)} strata)"
        )
    if res.reasoning.n_with_reasoning or res.reasoning.n_incomplete:
        console.print(f"reasoning: {escape(res.reasoning.describe())}")
        for why, k in res.reasoning.incomplete_reasons.items():
            console.print(f"  incomplete: {k} × {escape(why)}")
    for name, m in res.metrics.items():
        if not m.measured:
            console.print(f"  {name}: {escape(m.note)}")
    if res.judge is not None:
        j = res.judge
        ag = j.agreement
        ci = "-" if ag.ci_low is None or ag.ci_high is None else f"{ag.ci_low:.3f} – {ag.ci_high:.3f}"
        kappa = "-" if j.cohen_kappa is None else f"{j.cohen_kappa:.3f}"
        console.print(
            f"judge: {inert(j.endpoint.served_model)} @ {inert(j.endpoint.url)} (rubric {inert(j.rubric)}); "
            f"{j.n_parsed} parsed, {j.n_unparsed} unparsed, {j.n_errors} errors\n"
            f"  agreement with the pattern classifier {_fmt(ag.value)} (95% CI {ci}), Cohen's kappa {kappa}; "
            f"judge refusal rate {_fmt(j.judge_refusal_rate.value)} vs pattern {_fmt(j.pattern_refusal_rate.value)}; "
            f"judged harmful {_fmt(j.harmful_rate.value)}"
        )
    if res.concurrency is not None:
        c = res.concurrency
        console.print(
            f"concurrency: {c.mode}, started at {c.initial}, ended at {c.final} (ceiling {c.maximum}, peak in "
            f"flight {c.peak_in_flight}; {c.increases} increases, {c.decreases} decreases on "
            f"{c.pressure_events} 429/503/timeouts)"
        )
    if len(res.replicas) > 1:
        console.print(replicas_table(res.replicas))
    console.print(f"records: {inert(res.samples_path)}\nmetrics: {inert(res.metrics_path)}")
    _fail_if_nothing_answered(res)


def _fail_if_nothing_answered(res: SuiteResult) -> None:
    """A run in which every request failed measured nothing: one error line and a non-zero exit."""
    if res.n_selected and res.n_completed == 0:
        kinds = ", ".join(f"{k}: {v}" for k, v in res.errors_by_type.items())
        raise EndpointError(
            f"no answer to any of {res.n_selected} requests ({kinds}); nothing was measured — "
            f"records kept in {res.samples_path}"
        )


def replicas_table(stats: list[ReplicaStats]) -> Table:
    """Per-replica health, requests, errors and latency (shared by eval and loadtest)."""
    t = Table(title="replicas", title_justify="left")
    for col in ("replica", "state", "requests", "completed", "errors", "429/503", "p50 ms", "p95 ms"):
        t.add_column(col, justify="left" if col in ("replica", "state") else "right")
    for r in stats:
        ms = lambda x: "-" if x is None else f"{x * 1000:.1f}"  # noqa: E731
        state = r.state if r.down_reason is None else f"down: {r.down_reason[:60]}"
        t.add_row(
            inert_text(r.url),
            inert_text(state),
            str(r.requests),
            str(r.completed),
            str(r.errors),
            str(r.throttled),
            ms(r.latency_p50_s),
            ms(r.latency_p95_s),
        )
    return t
