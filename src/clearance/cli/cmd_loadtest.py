"""CLI: `clearance loadtest` — latency and throughput of an endpoint under load, SLO search, determinism."""

from __future__ import annotations

import asyncio
import json
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from clearance.cli.app import app
from clearance.cli.output import JsonOption, console, emit_json, err_console
from clearance.endpoint import OpenAIClient, Timeouts
from clearance.endpoint.server import EmbeddedServer
from clearance.jsonio import to_jsonable
from clearance.load import (
    DeterminismResult,
    LoadConfig,
    LoadResult,
    SLOSearchResult,
    probe_determinism,
    run_loadtest,
    slo_search,
)
from clearance.load.stats import Distribution


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.1f}"


def _table(res: LoadResult) -> Table:
    cfg = res.config
    shape = (
        f"concurrency {cfg.concurrency}" if cfg.concurrency else f"{cfg.arrival} arrivals at {cfg.rate} req/s"
    )
    t = Table(
        title=f"loadtest {res.endpoint.url} · {Path(res.endpoint.served_model or '?').name} · {shape}",
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
        str | None,
        typer.Option(
            "--endpoint", "-e", help="OpenAI-compatible base URL; default: serve the embedded SmolLM2 model."
        ),
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
        int, typer.Option("--prompt-tokens", help="Approximate prompt length (words; no tokenizer).")
    ] = 64,
    ignore_eos: Annotated[
        bool, typer.Option("--ignore-eos", help="Send ignore_eos=true (vLLM/SGLang) for fixed output length.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of prompts, arrivals and sampling.")] = 0,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Read timeout per request in seconds (also a stalled stream).")
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

    Exit status: 0 when at least one request completed; 1 when every request failed;
    2 when the endpoint cannot be reached before the run (or on bad options).
    """
    slo = slo_ttft_p95 is not None or slo_itl_p95 is not None
    if slo and concurrency is None and rate is None:
        concurrency = 1
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
    )
    if arrival not in ("poisson", "constant"):
        from clearance.errors import InputError

        raise InputError(f"--arrival must be poisson or constant, got {arrival!r}")
    server: AbstractContextManager[Any] = nullcontext()
    if endpoint is None:
        server = EmbeddedServer()
        err_console.print("no --endpoint given: serving the embedded SmolLM2-135M-Instruct model")
    with server as srv:
        url = endpoint if endpoint is not None else srv.base_url
        payload = asyncio.run(_run(url, cfg, api_key, timeout, determinism, slo_ttft_p95, slo_itl_p95))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "result.json").write_text(json.dumps(to_jsonable(payload), indent=2) + "\n", encoding="utf-8")
    if json_out:
        emit_json(payload)
    main = payload.get("loadtest")
    if isinstance(main, LoadResult):
        if not json_out:
            console.print(_table(main))
            for line in _summary_lines(main):
                console.print(line, soft_wrap=True)
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
        console.print(f"max concurrency meeting the SLO: {s.max_concurrency}")


async def _run(
    url: str,
    cfg: LoadConfig,
    api_key: str | None,
    timeout: float,
    determinism: int,
    slo_ttft: float | None,
    slo_itl: float | None,
) -> dict[str, Any]:
    # closed loop: one connection per worker; open loop: room for a deep backlog of in-flight requests
    conns = max(256, 2 * cfg.concurrency) if cfg.concurrency is not None else 1024
    client = OpenAIClient(
        url, api_key=api_key, timeouts=Timeouts(read=timeout), max_retries=0, max_connections=conns
    )
    payload: dict[str, Any] = {}
    facts: dict[str, object] = {}
    async with client:
        if slo_ttft is not None or slo_itl is not None:
            s = await slo_search(
                client, cfg, ttft_p95_s=slo_ttft, itl_p95_s=slo_itl, start=cfg.concurrency or 1
            )
            payload["slo"] = s
            facts.update(s.policy_facts())
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
