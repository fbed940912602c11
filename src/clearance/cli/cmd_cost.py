"""CLI: `clearance cost` — total cost of ownership: on-premise against GPU rental and hosted APIs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from clearance.cli.app import app
from clearance.cli.output import console, emit_json, err_console
from clearance.errors import InputError

if TYPE_CHECKING:
    from clearance.tco import CostReport

_EPILOG = (
    "Example: clearance cost Qwen3.5-27B --gpu H100-SXM --users 5000 --requests-per-user 10 "
    "--input-tokens 500 --output-tokens 300 --hours-per-day 10 --days-per-year 250 --years 3\n\n"
    "Bypass the planner: clearance cost Qwen3.5-27B --gpus 1 --tokens-per-s 1500 --requests-per-day 50000"
)


@app.command(epilog=_EPILOG)
def cost(
    model: Annotated[
        str | None,
        typer.Argument(
            help="Model as in `clearance plan` (catalog name, config dir, config.json, .gguf); "
            "only a label with --tokens-per-s."
        ),
    ] = None,
    gpu: Annotated[
        str, typer.Option("--gpu", help="GPU to own or rent (catalog name, any case).")
    ] = "H100-SXM",
    requests_per_day: Annotated[
        float | None, typer.Option("--requests-per-day", help="Requests per day of use (first year).")
    ] = None,
    users: Annotated[
        int | None, typer.Option("--users", help="Number of users (with --requests-per-user).")
    ] = None,
    requests_per_user: Annotated[
        float | None, typer.Option("--requests-per-user", help="Requests per user per day of use.")
    ] = None,
    input_tokens: Annotated[int, typer.Option("--input-tokens", help="Prompt tokens per request.")] = 500,
    output_tokens: Annotated[
        int, typer.Option("--output-tokens", help="Visible output tokens per request.")
    ] = 200,
    reasoning_tokens: Annotated[
        int, typer.Option("--reasoning-tokens", help="Reasoning tokens per request (billed as output).")
    ] = 0,
    peak_factor: Annotated[
        float, typer.Option("--peak-factor", help="Peak req/s over the average within hours of use.")
    ] = 3.0,
    hours_per_day: Annotated[float, typer.Option("--hours-per-day", help="Hours of use per day.")] = 24.0,
    days_per_year: Annotated[
        int, typer.Option("--days-per-year", help="Days of use per year (250 = working days).")
    ] = 365,
    growth: Annotated[
        float, typer.Option("--growth", help="Yearly volume growth as a fraction (0.3 = +30 %/yr).")
    ] = 0.0,
    years: Annotated[int, typer.Option("--years", help="Horizon in years.")] = 3,
    prices: Annotated[
        Path | None, typer.Option("--prices", help="Your price YAML, merged over the catalog (same layout).")
    ] = None,
    stale_after: Annotated[
        int, typer.Option("--stale-after", help="Flag figures older than this many days.")
    ] = 365,
    api: Annotated[
        list[str] | None,
        typer.Option("--api", help="Hosted API to compare (repeatable); default: APIs serving MODEL."),
    ] = None,
    gpus: Annotated[
        int | None, typer.Option("--gpus", help="GPUs per replica (skips the planner's fit).")
    ] = None,
    tokens_per_s: Annotated[
        float | None,
        typer.Option(
            "--tokens-per-s",
            help="Generated tokens/s per replica at your latency target (skips the planner).",
        ),
    ] = None,
    measured_tokens_per_s: Annotated[
        float | None,
        typer.Option(
            "--measured-tokens-per-s",
            help="Measured tokens/s per replica from a load test (replaces the estimate).",
        ),
    ] = None,
    ttft_target: Annotated[
        float, typer.Option("--ttft-target", help="Latency target: time to first token, seconds.")
    ] = 2.0,
    itl_target: Annotated[
        float, typer.Option("--itl-target", help="Latency target: inter-token latency, seconds.")
    ] = 0.05,
    engine: Annotated[str, typer.Option("--engine", help="Serving engine assumed by the planner.")] = "vllm",
    spare_replicas: Annotated[
        int, typer.Option("--spare-replicas", help="Extra replicas for redundancy (N+1 = 1).")
    ] = 0,
    sensitivity: Annotated[
        float, typer.Option("--sensitivity", help="Move each input by ± this fraction for the tornado.")
    ] = 0.2,
    charts: Annotated[
        Path | None,
        typer.Option("--charts", help="Write cumulative.svg and tornado.svg into this directory."),
    ] = None,
    workload_file: Annotated[
        Path | None,
        typer.Option(
            "--workload",
            help="Workload YAML (traffic, tokens, SLO, horizon, hardware, prices); replaces the traffic flags.",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (report, summary, policy facts).")
    ] = False,
) -> None:
    """Estimate total cost of ownership over a horizon: on-premise (capex, power × PUE, colocation,
    support, staff, depreciation, residual value, cost of capital) against renting the same GPUs and
    paying a hosted API per token. Shows $/M tokens at the real utilisation, break-even month and
    volume, sensitivity, and every assumption with its source and date (stale ones flagged)."""
    from clearance.tco import Capacity, CostOptions, Workload, estimate_cost, from_plan, load_prices

    wf = None
    if workload_file is not None:
        from clearance.workload import load_workload

        wf = load_workload(workload_file)
        if not any(a == "--gpu" or a.startswith("--gpu=") for a in sys.argv[1:]) and wf.hardware.gpu_types():
            gpu = wf.hardware.gpu_types()[0]
        ttft_target = wf.slo.ttft_p95_s or ttft_target
        itl_target = wf.slo.tpot_p95_s or itl_target
        years = wf.horizon_years
        api = api or wf.apis
    elif requests_per_day is None and users is None:
        raise InputError(
            "cost: give --workload FILE, --requests-per-day N, or --users N with --requests-per-user N"
        )
    workload = (
        wf.traffic_workload()
        if wf is not None
        else Workload(
            requests_per_day=requests_per_day,
            users=users,
            requests_per_user=requests_per_user,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            reasoning_tokens=reasoning_tokens,
            peak_factor=peak_factor,
            hours_per_day=hours_per_day,
            days_per_year=days_per_year,
            growth=growth,
        )
    )
    book = wf.price_book(prices) if wf is not None else load_prices(prices)
    gpu_name = book.resolve_gpu(gpu)
    if tokens_per_s is not None or measured_tokens_per_s is not None:
        if gpus is None:
            raise InputError("cost: --tokens-per-s / --measured-tokens-per-s need --gpus (GPUs per replica)")
        capacity = Capacity(gpus_per_replica=gpus, tokens_per_s=tokens_per_s or measured_tokens_per_s or 0.0)
    else:
        if model is None:
            raise InputError("cost: give MODEL (for the planner), or --gpus N and --tokens-per-s F")
        with err_console.status(f"planning {model} on {gpu_name} for the latency target..."):
            capacity = from_plan(
                model,
                gpu_name,
                workload,
                gpus=gpus,
                ttft_target_s=ttft_target,
                itl_target_s=itl_target,
                engine=engine,
                max_model_len=wf.max_model_len() if wf is not None else None,
            )
    options = CostOptions(
        gpu=gpu_name,
        capacity=capacity,
        years=years,
        measured_tokens_per_s=measured_tokens_per_s,
        apis=api or None,
        model_name=model,
        spare_replicas=spare_replicas,
        stale_after_days=stale_after,
        sensitivity_pct=sensitivity,
    )
    report = estimate_cost(workload, options, prices=book)
    written: list[str] = []
    if charts is not None:
        written = write_charts(report, charts)
    if json_out:
        emit_json(
            {
                **report.model_dump(mode="json"),
                "summary": report.summary(),
                "policy_facts": report.policy_facts(),
                "charts": written,
            }
        )
        return
    render(report)
    for path in written:
        console.print(f"chart written: {path}")


def write_charts(report: CostReport, out_dir: Path) -> list[str]:
    """Write the two SVG charts into ``out_dir``; return their paths."""
    from clearance.tco.charts import cumulative_cost_svg, tornado_svg

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [out_dir / "cumulative.svg", out_dir / "tornado.svg"]
        paths[0].write_text(cumulative_cost_svg(report), encoding="utf-8")
        paths[1].write_text(tornado_svg(report), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cost: cannot write charts into {out_dir}: {exc}") from None
    return [str(p) for p in paths]


def _usd(v: float) -> str:
    return f"${v:,.0f}" if abs(v) >= 100 else f"${v:,.2f}"


def render(report: CostReport) -> None:
    """Print the report as rich tables: options, break-even, on-prem breakdown, sensitivity, assumptions."""
    w, cap = report.workload, report.capacity
    title = f"{report.model or 'model'} on {report.gpu}"
    console.print(f"[bold]Cost estimate[/] — {title}, {report.years} years (an estimate; assumptions below)")
    console.print(
        f"Workload: {w.daily_requests:,.0f} requests/day × {w.days_per_year} days, {w.input_tokens} in / "
        f"{w.output_tokens} out / {w.reasoning_tokens} reasoning tokens, peak ×{w.peak_factor:g} over "
        f"{w.hours_per_day:g} h/day, growth {w.growth:+.0%}/yr"
    )
    console.print(
        f"Throughput: {cap.tokens_per_s:,.0f} generated tok/s per replica of {cap.gpus_per_replica} GPU(s) "
        f"— [bold]{cap.source}[/]: {cap.method}"
    )
    t = Table(title="Options", title_justify="left")
    for col in ("option", "year 1", f"{report.years}-year total", "$/M tokens", "$/1k requests", "sizing"):
        t.add_column(col, justify="left" if col in ("option", "sizing") else "right")
    for o in sorted(report.options, key=lambda o: o.horizon_total):
        mark = " [green](cheapest)[/]" if o.id == report.cheapest else ""
        t.add_row(
            o.id + mark,
            _usd(o.annual[0]),
            _usd(o.horizon_total),
            f"{o.cost_per_mtok:,.3f}",
            f"{o.cost_per_1k_requests:,.3f}",
            _sizing(o.details),
        )
    console.print(t)
    console.print("\n".join(f"  {o.id}: {o.label}" for o in report.options))
    for reason in report.skipped:
        console.print(f"[yellow]skipped[/] {reason}")
    if report.break_even:
        b = Table(title="Break-even (self-hosted a vs b)", title_justify="left")
        for col in ("a", "b", "month (cash)", "volume (req/day)", "Mtok/month"):
            b.add_column(col, justify="left" if col in ("a", "b") else "right")
        for be in report.break_even:
            never = "never" if be.status == "never_cheaper" else "always"
            b.add_row(
                be.a,
                be.b,
                "—" if be.month is None else str(be.month),
                never if be.requests_per_day is None else f"{be.requests_per_day:,.0f}",
                "—" if be.mtok_per_month is None else f"{be.mtok_per_month:,.0f}",
            )
        console.print(b)
    onprem = next((o for o in report.options if o.id == "onprem"), None)
    if onprem is not None:
        c = Table(title="On-premise cost by component, year 1", title_justify="left")
        c.add_column("component")
        c.add_column("USD/yr", justify="right")
        for k, v in onprem.components.items():
            c.add_row(k, _usd(v[0]))
        console.print(c)
    pct = round(report.sensitivity_pct * 100)
    s = Table(title=f"Sensitivity: {report.sensitivity_metric}, each input ±{pct} %", title_justify="left")
    for col in ("input", f"-{pct} %", f"+{pct} %", "cheapest option at -/+"):
        s.add_column(col)
    for r in report.sensitivity[:10]:
        same = r.cheapest_low == r.cheapest_high == report.cheapest
        flip = "unchanged" if same else f"[yellow]{r.cheapest_low} / {r.cheapest_high}[/]"
        s.add_row(r.input, f"{r.metric_low:,.3f}", f"{r.metric_high:,.3f}", flip)
    console.print(s)
    a = Table(title=f"Assumptions (stale = older than {report.stale_after_days} days)", title_justify="left")
    for col in ("figure", "value", "unit", "date", "source"):
        a.add_column(col, overflow="fold")
    for x in report.assumptions:
        date = f"[red]{x.date} STALE[/]" if x.stale else x.date
        src = x.source if x.origin == "catalog" else f"{x.source} ({x.origin})"
        a.add_row(x.key, f"{x.value:g}" if isinstance(x.value, float) else str(x.value), x.unit, date, src)
    console.print(a)
    if report.stale:
        console.print(
            f"[yellow]{len(report.stale)} figure(s) are stale[/]; override them with --prices FILE "
            "(see docs/cost.md)"
        )


def _sizing(details: dict[str, object]) -> str:
    if "gpus_by_year" in details:
        gpus = details["gpus_by_year"]
        util = details["gpu_utilisation_by_year"]
        assert isinstance(gpus, list) and isinstance(util, list)
        return f"{gpus[-1]} GPU, util {util[0]:.0%}"
    if "gpu_hours_by_year" in details:
        hours = details["gpu_hours_by_year"]
        avg = details["gpu_hours_average_by_year"]
        assert isinstance(hours, list) and isinstance(avg, list)
        return f"{hours[0]:,.0f} GPU-h (avg load {avg[0]:,.0f})"
    return f"${details.get('price_input_per_mtok')}/${details.get('price_output_per_mtok')} per M in/out"
