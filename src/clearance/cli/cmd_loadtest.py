"""CLI: `clearance loadtest` — latency and throughput of an endpoint under load, SLO search, determinism."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from clearance.checks import at_least, positive_finite
from clearance.cli.app import app
from clearance.cli.cmd_eval import replicas_table
from clearance.cli.output import JsonOption, console, emit_json, err_console
from clearance.errors import InputError
from clearance.inert import inert
from clearance.outlock import check_out_path, make_dir

if TYPE_CHECKING:
    from clearance.evidence import EndpointRef
    from clearance.load import LoadConfig, LoadResult


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.1f}"


def _where(ep: EndpointRef) -> str:
    n = len(ep.replicas)
    return f"{n} replicas ({ep.url}, …)" if n > 1 else ep.url


def _table(res: LoadResult) -> Table:
    from clearance.load.stats import Distribution

    cfg = res.config
    shape = (
        f"concurrency {cfg.concurrency}" if cfg.concurrency else f"{cfg.arrival} arrivals at {cfg.rate} req/s"
    )
    t = Table(
        title=f"loadtest {inert(_where(res.endpoint))} · {inert(Path(res.endpoint.served_model or '?').name)} · {shape}",
        title_justify="left",
    )
    t.add_column("metric (ms)")
    for q in ("p50", "p90", "p95", "p99", "mean"):
        t.add_column(q, justify="right")
    rows: list[tuple[str, Distribution | None]] = [
        ("TTFT", res.ttft),
        ("ITL (per chunk)", res.itl),
        ("TPOT (per request)", res.tpot),
        ("E2E latency", res.e2e),
    ]
    if res.send_lag is not None:
        rows.append(("send lag (open loop)", res.send_lag))
    for name, d in rows:
        if d is None:
            t.add_row(name, *["-"] * 5)
        else:
            t.add_row(name, _ms(d.p50), _ms(d.p90), _ms(d.p95), _ms(d.p99), _ms(d.mean))
    return t


def _summary_lines(res: LoadResult) -> list[str]:
    names = {"usage": "server usage", "chunks": "text-chunk count (no usage sent)"}
    src = ", ".join(f"{names.get(k, k)} for {v} requests" for k, v in res.output_token_source.items()) or "-"
    lines = [
        f"requests: {res.requests_sent} sent, {res.completed} completed, {res.failed} failed, "
        f"{res.cancelled} cancelled by the time limit; error rate {res.error_rate:.1%} "
        f"(95% CI {res.error_rate_ci[0]:.1%}–{res.error_rate_ci[1]:.1%})",
        f"throughput: {res.request_throughput:.2f} req/s, {res.output_tokens_per_s:.1f} output tokens/s "
        f"over {res.duration_s:.2f} s (output tokens: {src}"
        + (f"; {res.tokens_per_chunk:.2f} tokens/chunk" if res.tokens_per_chunk else "")
        + ")",
    ]
    if res.target_rate is not None and res.achieved_rate is not None:
        sample = f", this {res.config.arrival} sample {res.scheduled_rate:.2f}" if res.scheduled_rate else ""
        lines.append(
            f"arrivals: target {res.target_rate:g} req/s{sample}, sent {res.achieved_rate:.2f} req/s "
            "(see send lag for client lateness)"
        )
    for kind, n in res.errors_by_type.items():
        lines.append(f"errors {kind}: {n}")
    lines += [f"  e.g. {e}" for e in res.first_errors[:2]]
    if res.records_path:
        lines.append(f"per-request records: {res.records_path}")
    return lines


@app.command()
def loadtest(
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
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", help="Closed loop: requests kept in flight.")
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", "-r", help="Open loop: arrivals per second (scheduled ahead).")
    ] = None,
    arrival: Annotated[
        str, typer.Option("--arrival", help="Open-loop arrivals: poisson or constant.")
    ] = "poisson",
    requests: Annotated[
        int, typer.Option("--requests", "-n", help="Number of requests (upper bound).")
    ] = 100,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Stop sending after this many seconds (upper bound).")
    ] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="max_tokens per request.")] = 64,
    prompt_tokens: Annotated[
        int,
        typer.Option(
            "--prompt-tokens",
            help="Prompt length: exact tokens with --tokenizer (checked against the server's usage), else about this many words.",
        ),
    ] = 64,
    tokenizer: Annotated[
        str | None,
        typer.Option(
            "--tokenizer",
            help="'server' (the engine's /tokenize: vLLM, SGLang, llama.cpp) or a tokenizer.json path (offline).",
        ),
    ] = None,
    warmup: Annotated[
        int, typer.Option("--warmup", help="Requests sent first and left out of every metric.")
    ] = 0,
    goodput: Annotated[
        str | None,
        typer.Option(
            "--goodput",
            help="SLOs for goodput (vLLM's definition), in ms: e.g. 'ttft:500,tpot:50,e2e:4000'.",
        ),
    ] = None,
    sweep: Annotated[
        str | None,
        typer.Option(
            "--sweep",
            help="Sweep: 'auto' (synchronous to saturation), concurrencies '1,2,4,8', or rates 'r:1,2,4'.",
        ),
    ] = None,
    soak: Annotated[
        float | None,
        typer.Option("--soak", help="Soak: steady load for this many seconds; drift of latency and errors."),
    ] = None,
    long_context: Annotated[
        bool,
        typer.Option("--long-context", help="Probe planted-fact retrieval up to the served context length."),
    ] = False,
    max_context: Annotated[
        int | None,
        typer.Option("--max-context", help="Served context length when /v1/models does not report it."),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Worker processes for the load (raw samples merged).")
    ] = 1,
    ignore_eos: Annotated[
        bool, typer.Option("--ignore-eos", help="Send ignore_eos=true (vLLM/SGLang) for fixed output length.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of prompts, arrivals and sampling.")] = 0,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="Deadline per request in seconds: connect, response and the whole stream."
        ),
    ] = 60.0,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="CLEARANCE_API_KEY", help="Bearer token.")
    ] = None,
    determinism: Annotated[
        int,
        typer.Option(
            "--determinism", help="Also probe determinism with this many repeats per prompt (0 = off)."
        ),
    ] = 0,
    slo_ttft_p95: Annotated[
        float | None,
        typer.Option("--slo-ttft-p95", help="SLO search: p95 TTFT target (s); finds the max concurrency."),
    ] = None,
    slo_itl_p95: Annotated[
        float | None, typer.Option("--slo-itl-p95", help="SLO search: p95 ITL target (s).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Directory for requests.jsonl (written live) and result.json."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Load-test an OpenAI-compatible endpoint with streaming chat requests and report TTFT, ITL, TPOT,
    E2E percentiles, throughput and errors.

    Examples:

      clearance loadtest --endpoint http://127.0.0.1:8000 --concurrency 8 --requests 200

      clearance loadtest -e http://127.0.0.1:8000 --rate 5 --duration 60 --out runs/load1 --json

      clearance loadtest -e http://127.0.0.1:8000 -c 1 --slo-ttft-p95 0.5 --slo-itl-p95 0.05

      clearance loadtest -e http://a:8000 -e http://b:8000 -c 64 --tokenizer server --prompt-tokens 1024 --warmup 8 --goodput ttft:500,tpot:50

      clearance loadtest -e http://127.0.0.1:8000 --sweep auto --goodput ttft:500 --out runs/sweep

      clearance loadtest -e http://127.0.0.1:8000 --soak 3600 -c 16 --out runs/soak

      clearance loadtest -e http://127.0.0.1:8000 --long-context --tokenizer server

    Exit status: 0 when at least one request completed; 1 when every request failed;
    2 when the endpoint cannot be reached before the run (or on bad options).
    """
    import asyncio

    from clearance.endpoint.pool import parse_endpoints
    from clearance.endpoint.server import EmbeddedServer
    from clearance.jsonio import to_jsonable
    from clearance.load import DeterminismResult, LoadConfig, LoadResult, SLOSearchResult

    slo = slo_ttft_p95 is not None or slo_itl_p95 is not None
    kinds = [
        k
        for k, on in (
            ("SLO search", slo),
            ("--sweep", sweep),
            ("--soak", soak is not None),
            ("--long-context", long_context),
        )
        if on
    ]
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    if len(kinds) > 1:
        raise InputError(f"choose one of {', '.join(kinds)} per run")
    if workers > 1 and kinds:
        raise InputError(f"--workers applies to a plain load test, not to {kinds[0]}")
    if kinds and concurrency is None and rate is None:
        concurrency = 4 if soak is not None else 1
    cfg = LoadConfig(
        concurrency=concurrency,
        rate=rate,
        arrival="constant" if arrival == "constant" else "poisson",
        requests=requests,
        duration_s=duration,
        max_tokens=max_tokens,
        prompt_tokens=prompt_tokens,
        ignore_eos=ignore_eos,
        seed=seed,
        out_dir=out,
        warmup=warmup,
        tokenizer=tokenizer,
        **_goodput(goodput),
    )
    if arrival not in ("poisson", "constant"):
        raise InputError(f"--arrival must be poisson or constant, got {arrival!r}")
    positive_finite("--timeout", timeout)
    positive_finite("--slo-ttft-p95", slo_ttft_p95)
    positive_finite("--slo-itl-p95", slo_itl_p95)
    at_least("--determinism", determinism, 0)
    urls = parse_endpoints(endpoint, endpoints_file)
    if out is not None:
        make_dir(check_out_path(out))
    server: AbstractContextManager[Any] = nullcontext()
    if not urls:
        server = EmbeddedServer()
        err_console.print("no --endpoint given: serving the embedded SmolLM2-135M-Instruct model")
    with server as srv:
        if not urls:
            urls = [srv.base_url]
        job = _Job(
            slo_ttft=slo_ttft_p95,
            slo_itl=slo_itl_p95,
            sweep=sweep,
            soak=soak,
            long_context=long_context,
            max_context=max_context,
            workers=workers,
        )
        payload = asyncio.run(_run(urls, cfg, api_key, timeout, determinism, job))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for key in ("sweep", "soak", "long_context"):
            if hasattr(payload.get(key), "chart_svg"):
                (out / f"{key}.svg").write_text(payload[key].chart_svg(), encoding="utf-8")
        (out / "result.json").write_text(json.dumps(to_jsonable(payload), indent=2) + "\n", encoding="utf-8")
    if json_out:
        emit_json(payload)
    main = payload.get("loadtest")
    if isinstance(main, LoadResult):
        if not json_out:
            console.print(_table(main))
            for line in _summary_lines(main):
                console.print(line, soft_wrap=True)
            if len(main.replicas) > 1:
                console.print(replicas_table(main.replicas))
        if main.completed == 0:
            raise typer.Exit(1)
    det = payload.get("determinism")
    if isinstance(det, DeterminismResult) and not json_out:
        console.print(
            f"determinism: {det.identical_rate:.1%} of {det.outputs_total} outputs identical to their prompt's "
            f"most common output; {det.prompts_all_identical}/{len(det.prompts)} prompts fully identical"
        )
    s = payload.get("slo")
    if isinstance(s, SLOSearchResult) and not json_out:
        for st in s.steps:
            verdict = "[green]pass[/]" if st.passed else f"[red]fail[/] ({'; '.join(st.reasons)})"
            console.print(
                f"c={st.concurrency}: TTFT p95 {_ms(st.ttft_p95_s)} ms, ITL p95 {_ms(st.itl_p95_s)} ms, "
                f"{st.requests_per_s:.2f} req/s — {verdict}"
            )
        console.print(
            f"max concurrency meeting the SLO: {s.max_concurrency}"
            + ("" if s.edge_found else " (a lower bound)")
        )
        console.print(s.conclusion, soft_wrap=True)
    if not json_out:
        _print_extras(payload)


@dataclass
class _Job:
    slo_ttft: float | None = None
    slo_itl: float | None = None
    sweep: str | None = None
    soak: float | None = None
    long_context: bool = False
    max_context: int | None = None
    workers: int = 1


def _goodput(spec: str | None) -> dict[str, float]:
    """``'ttft:500,tpot:50,e2e:4000'`` (ms) → ``LoadConfig`` SLO fields in seconds."""
    if not spec:
        return {}
    out: dict[str, float] = {}
    for part in spec.replace(" ", ",").split(","):
        if not part:
            continue
        name, _, ms = part.partition(":")
        if name not in ("ttft", "tpot", "e2e", "e2el"):
            raise InputError(f"--goodput: unknown SLO {name!r}; use ttft, tpot or e2e (milliseconds)")
        try:
            value = float(ms)
        except ValueError:
            raise InputError(f"--goodput: {part!r} is not NAME:MILLISECONDS") from None
        if not value > 0:
            raise InputError(f"--goodput: {name} must be > 0 ms, got {ms}")
        out[f"slo_{'e2e' if name == 'e2el' else name}_s"] = value / 1000
    return out


def _sweep_args(spec: str) -> dict[str, Any]:
    spec = spec.strip()
    if spec == "auto":
        return {}
    try:
        if spec.startswith("r:"):
            return {"rates": [float(x) for x in spec[2:].split(",") if x.strip()]}
        return {"concurrencies": [int(x) for x in spec.split(",") if x.strip()]}
    except ValueError:
        raise InputError(f"--sweep: expected 'auto', '1,2,4' or 'r:1,2,4', got {spec!r}") from None


def _print_extras(payload: dict[str, Any]) -> None:
    from clearance.load import LoadResult
    from clearance.load.longctx import LongContextResult
    from clearance.load.soak import SoakResult
    from clearance.load.sweep import SweepResult

    main = payload.get("loadtest")
    if isinstance(main, LoadResult):
        if main.goodput is not None:
            slo = ", ".join(f"{k} ≤ {v * 1000:g} ms" for k, v in main.slo.items())
            console.print(
                f"goodput: {main.goodput:.2f} req/s ({main.good_requests}/{main.completed} completed requests "
                f"met {slo}) beside throughput {main.request_throughput:.2f} req/s"
            )
        p = main.prompt
        if p is not None:
            how = f"exact, from {p.source}" if p.exact else p.source
            seen = f"; server usage {p.usage_min}–{p.usage_max}" if p.usage_min is not None else ""
            over = f", chat template {p.template_overhead}" if p.template_overhead is not None else ""
            console.print(
                f"prompt tokens: target {p.target} ({how}{over}); {p.matched}/{p.checked} requests matched the "
                f"server's count{seen}",
                soft_wrap=True,
            )
        if main.warmup_requests:
            console.print(f"warm-up: {main.warmup_requests} requests sent first, left out of the metrics")
        if main.workers > 1:
            console.print(f"workers: {main.workers} processes, raw samples merged")
    sw = payload.get("sweep")
    if isinstance(sw, SweepResult):
        t = Table(title=f"sweep ({sw.mode})", title_justify="left")
        for col in ("point", "req/s", "goodput", "TTFT p95 ms", "TPOT p95 ms", "E2E p95 ms", "errors"):
            t.add_column(col, justify="left" if col == "point" else "right")
        for pt in sw.points:
            t.add_row(
                pt.label,
                f"{pt.requests_per_s:.2f}",
                "-" if pt.goodput is None else f"{pt.goodput:.2f}",
                _ms(pt.ttft_p95_s),
                _ms(pt.tpot_p95_s),
                _ms(pt.e2e_p95_s),
                f"{pt.error_rate:.1%}",
            )
        console.print(t)
    sk = payload.get("soak")
    if isinstance(sk, SoakResult):
        ratio = lambda x: "-" if x is None else f"x{x:.2f}"  # noqa: E731
        err = "-" if sk.error_rate_drift is None else f"{sk.error_rate_drift:+.1%}"
        console.print(
            f"soak: {sk.duration_s:g} s, {sk.load.completed} completed, error rate {sk.load.error_rate:.1%}; "
            f"drift last third vs first: E2E p95 {ratio(sk.e2e_p95_drift_ratio)}, TTFT p95 "
            f"{ratio(sk.ttft_p95_drift_ratio)}, errors {err}"
        )
    lc = payload.get("long_context")
    if isinstance(lc, LongContextResult):
        t = Table(
            title=f"long context (served max {lc.served_max_tokens} tokens; {lc.token_source})",
            title_justify="left",
        )
        for col in ("context tokens", "correct", "accuracy (95% CI)", "TTFT p50 ms", "errors"):
            t.add_column(col, justify="right")
        for cp in lc.points:
            t.add_row(
                str(cp.context_tokens),
                f"{cp.correct}/{cp.trials}",
                f"{cp.accuracy:.2f} ({cp.accuracy_ci[0]:.2f}–{cp.accuracy_ci[1]:.2f})",
                _ms(cp.ttft_p50_s),
                str(cp.errors),
            )
        console.print(t)


async def _run(
    urls: list[str],
    cfg: LoadConfig,
    api_key: str | None,
    timeout: float,
    determinism: int,
    job: _Job,
) -> dict[str, Any]:
    from clearance.endpoint import Timeouts
    from clearance.endpoint.pool import ReplicaPool
    from clearance.load import probe_determinism, run_loadtest, slo_search
    from clearance.load.longctx import probe_long_context
    from clearance.load.soak import soak as run_soak
    from clearance.load.sweep import sweep as run_sweep

    if job.workers > 1:
        from clearance.load.workers import run_loadtest_workers

        with err_console.status(f"loadtest over {job.workers} worker processes…"):
            res = await run_loadtest_workers(urls, cfg, job.workers, api_key=api_key, timeout=timeout)
        return {"loadtest": res, "policy_facts": res.policy_facts()}
    # closed loop: one connection per worker; open loop: room for a deep backlog of in-flight requests
    conns = max(256, 2 * cfg.concurrency) if cfg.concurrency is not None else 1024
    client = ReplicaPool(
        urls,
        api_key=api_key,
        timeouts=Timeouts(read=timeout, total=timeout),
        max_retries=0,
        max_connections=conns,
    )
    payload: dict[str, Any] = {}
    facts: dict[str, object] = {}
    async with client:
        if job.slo_ttft is not None or job.slo_itl is not None:
            s = await slo_search(
                client, cfg, ttft_p95_s=job.slo_ttft, itl_p95_s=job.slo_itl, start=cfg.concurrency or 1
            )
            payload["slo"] = s
            facts.update(s.policy_facts())
        elif job.sweep is not None:
            with err_console.status("sweep…"):
                sw = await run_sweep(client, cfg, **_sweep_args(job.sweep))
            payload["sweep"] = sw
            facts.update(sw.policy_facts())
        elif job.soak is not None:
            sk = await run_soak(client, cfg, job.soak, progress=True)
            payload["soak"] = sk
            facts.update(sk.policy_facts())
        elif job.long_context:
            with err_console.status("long-context probe…"):
                lc = await probe_long_context(client, max_context=job.max_context, tokenizer=cfg.tokenizer)
            payload["long_context"] = lc
            facts.update(lc.policy_facts())
        else:
            res = await run_loadtest(client, cfg, progress=True)
            payload["loadtest"] = res
            facts.update(res.policy_facts())
        if determinism:
            with err_console.status("determinism probe…"):
                det = await probe_determinism(
                    client, repeats=determinism, max_tokens=cfg.max_tokens, seed=cfg.seed
                )
            payload["determinism"] = det
            facts.update(det.policy_facts())
    payload["policy_facts"] = facts
    return payload
