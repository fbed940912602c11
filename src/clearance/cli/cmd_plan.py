"""CLI: ``clearance plan MODEL`` — memory, fit and performance estimate for a model on given hardware."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearance.cli.app import app
from clearance.cli.output import JsonOption, console, emit_json
from clearance.errors import InputError
from clearance.inert import inert, inert_text

GIB = 1 << 30


def _gib(n: float) -> str:
    return f"{n / GIB:,.2f} GiB"


def _list_models(json_out: bool) -> None:
    from clearance.plan import list_models

    models = list_models()
    if json_out:
        emit_json({"models": [{"name": m.name, "aliases": m.aliases, "source": m.source} for m in models]})
        return
    t = Table(title="Built-in model catalog (configs stored as data, each with its source)")
    t.add_column("name")
    t.add_column("architecture")
    t.add_column("source", overflow="fold")
    for m in models:
        t.add_row(m.name, str((m.config.get("architectures") or [""])[0]), m.source)
    console.print(t)


def _gpu_given() -> bool:
    import sys

    return any(a == "--gpu" or a.startswith("--gpu=") for a in sys.argv[1:])


def _plan_for_workload(
    spec: object, path: Path, gpu: str, *, gpu_given: bool, engine: str, json_out: bool
) -> None:
    from clearance.compare.sizing import size_on_gpu
    from clearance.plan.gpus import get_gpu
    from clearance.workload import load_workload

    wl = load_workload(path)
    gpus = [gpu] if gpu_given or not wl.hardware.gpu_types() else wl.hardware.gpu_types()
    book = wl.price_book()
    sizings = [size_on_gpu(spec, get_gpu(g).name, wl, book, engine=engine) for g in gpus]
    name = getattr(spec, "name", "model")
    if json_out:
        emit_json(
            {
                "model": name,
                "workload": wl.model_dump(mode="json", exclude={"prices"}),
                "assumptions": wl.assumptions(),
                "estimate": True,
                "sizings": sizings,
            }
        )
        return
    console.print(
        f"[bold]{inert(name)}[/] for the workload: {inert(wl.summary())} [italic](planner estimates)[/]"
    )
    t = Table()
    for col in (
        "GPU",
        "fits",
        "GPUs/replica",
        "concurrency",
        "replicas",
        "TTFT",
        "TPOT",
        "SLO",
        "$/M tokens",
    ):
        t.add_column(col)
    for s in sizings:
        t.add_row(
            s.gpu,
            "yes" if s.fits else "no",
            str(s.gpus_per_replica or "—"),
            str(s.concurrency or "—"),
            str(s.replicas or "—"),
            f"{s.ttft_s:.3g} s" if s.ttft_s is not None else "—",
            f"{s.tpot_s * 1000:.3g} ms" if s.tpot_s is not None else "—",
            "met" if s.meets_slo else "; ".join(s.slo_misses) or (s.note or "not met"),
            f"{s.cost_per_mtok:,.3f}" if s.cost_per_mtok is not None else "—",
        )
    console.print(t)
    for a in wl.assumptions():
        console.print(f"  {inert(a)}")


def _list_gpus(json_out: bool) -> None:
    from clearance.plan import list_gpus

    gpus = list_gpus()
    if json_out:
        emit_json({"gpus": [g.model_dump() for g in gpus]})
        return
    t = Table(title="GPU catalog (dense tensor peaks)")
    for col in ("name", "memory", "usable", "GB/s", "bf16 TF", "fp8 TF", "W", "interconnect"):
        t.add_column(col, justify="right" if col not in ("name", "interconnect") else "left")
    for g in gpus:
        t.add_row(
            g.name,
            f"{g.memory_gib:g} GiB",
            f"{g.usable_bytes / GIB:.2f}",
            f"{g.bandwidth_gbs:,.0f}",
            f"{g.bf16_tflops:g}",
            f"{g.fp8_tflops:g}" if g.fp8_tflops else "–",
            f"{g.tdp_watts:g}",
            g.interconnect,
        )
    console.print(t)


@app.command()
def plan(
    model: Annotated[
        str | None,
        typer.Argument(
            help="Model dir (config.json + safetensors), config.json, .gguf file, or catalog name."
        ),
    ] = None,
    gpu: Annotated[
        str,
        typer.Option(
            "--gpu", help="GPU from the catalog (see --list-gpus); case-insensitive, aliases allowed."
        ),
    ] = "H100-SXM",
    gpus: Annotated[int, typer.Option("--gpus", min=1, help="Number of GPUs.")] = 1,
    tp: Annotated[
        int | None,
        typer.Option("--tp", min=1, help="Tensor-parallel degree (default: --gpus; gpus/tp replicas)."),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="vllm, sglang or llama.cpp (budget semantics of that engine).")
    ] = "vllm",
    weights_dtype: Annotated[
        str | None,
        typer.Option(
            "--weights-dtype",
            help="bf16, fp16, fp8, int8, int4, awq, gptq, mxfp4, nvfp4 or a GGUF type (Q4_K_M...). Default: the checkpoint's.",
        ),
    ] = None,
    kv_dtype: Annotated[
        str | None,
        typer.Option(
            "--kv-dtype", help="auto, bf16, fp16, fp8, fp8_e5m2, fp8_ds_mla (MLA), q8_0/q4_0 (llama.cpp)."
        ),
    ] = None,
    max_model_len: Annotated[
        int | None,
        typer.Option(
            "--max-model-len",
            min=1,
            help="Context per sequence (default: the model's maximum, as vLLM does).",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Concurrent sequences of max-model-len to serve.")
    ] = 1,
    gpu_memory_utilization: Annotated[
        float,
        typer.Option(
            "--gpu-memory-utilization",
            min=0.05,
            max=1.0,
            help="vLLM fraction of GPU memory (SGLang: mem_fraction_static).",
        ),
    ] = 0.9,
    max_num_batched_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-num-batched-tokens",
            min=1,
            help="vLLM scheduler token budget (default: vLLM's for this GPU).",
        ),
    ] = None,
    max_num_seqs: Annotated[
        int | None,
        typer.Option(
            "--max-num-seqs", min=1, help="vLLM max running sequences (default: vLLM's for this GPU)."
        ),
    ] = None,
    prompt_tokens: Annotated[
        int, typer.Option("--prompt-tokens", min=1, help="Prompt length for the TTFT/decode estimate.")
    ] = 1024,
    output_tokens: Annotated[
        int, typer.Option("--output-tokens", min=1, help="Output length for the decode estimate.")
    ] = 256,
    cudagraph_in_budget: Annotated[
        bool,
        typer.Option(
            "--cudagraph-in-budget",
            help="Subtract estimated CUDA-graph memory (vLLM builds with VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1).",
        ),
    ] = False,
    text_only: Annotated[
        bool,
        typer.Option(
            "--text-only", help="Serve text only: do not count the vision tower (vLLM --language-model-only)."
        ),
    ] = False,
    engine_version: Annotated[
        str | None,
        typer.Option(
            "--engine-version",
            help="Engine release whose reporting to follow, e.g. 0.20.1 (vLLM ≤ 0.20 logs the legacy KV-size figure).",
        ),
    ] = None,
    sampler: Annotated[
        str | None,
        typer.Option(
            "--sampler",
            help="vLLM sampler warm-up: 'sort' (PyTorch-native top-k/top-p, vLLM 0.8–0.15 pip installs) or 'kernel' "
            "(FlashInfer/Triton). Default: from --engine-version; when neither is given, 'fits' must hold for both.",
        ),
    ] = None,
    prefix_caching: Annotated[
        bool,
        typer.Option(
            "--prefix-caching",
            help="vLLM prefix caching on: hybrid GDN/Mamba models keep 2 state blocks per request (mamba_cache_mode=align).",
        ),
    ] = False,
    fit: Annotated[
        bool,
        typer.Option(
            "--fit",
            help="Search the smallest GPU count/TP on --gpu serving --concurrency × --max-model-len, plus alternatives.",
        ),
    ] = False,
    headroom: Annotated[
        float, typer.Option("--headroom", min=0.0, help="Fit search: spare concurrency fraction required.")
    ] = 0.1,
    gpu_catalog: Annotated[
        Path | None,
        typer.Option("--gpu-catalog", help="Extra GPU catalog YAML (same shape as the built-in one)."),
    ] = None,
    charts: Annotated[
        Path | None,
        typer.Option("--charts", help="Write memory.svg and concurrency.svg into this directory."),
    ] = None,
    list_models_: Annotated[
        bool, typer.Option("--list-models", help="List the built-in model catalog.")
    ] = False,
    list_gpus_: Annotated[bool, typer.Option("--list-gpus", help="List the GPU catalog.")] = False,
    workload: Annotated[
        Path | None,
        typer.Option(
            "--workload",
            help="Workload YAML: size MODEL for it on each GPU type (--gpu, else the file's hardware) — "
            "smallest replica at its context length, concurrency within the SLO, replicas for the peak, cost.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Plan serving MODEL: exact weight bytes, KV cache and fixed state per GPU, the engine's own KV budget
    ("GPU KV cache size" in tokens), max concurrency, fit, and a labelled decode/TTFT estimate.

    Examples:
      [bold]clearance plan Qwen3.5-27B --gpu H100 --gpus 2 --max-model-len 32768 --concurrency 16[/]
      [bold]clearance plan ./models/llama --gpu L40S --kv-dtype fp8 --json[/]
      [bold]clearance plan DeepSeek-V3 --gpu H200 --max-model-len 32768 --concurrency 8 --fit[/]
    """
    from clearance.plan import PlanOptions, ServingTarget, fit_search, load_gpu_catalog, load_spec
    from clearance.plan import plan as run_plan

    if gpu_catalog is not None:
        load_gpu_catalog(gpu_catalog)
    if list_models_:
        _list_models(json_out)
        return
    if list_gpus_:
        _list_gpus(json_out)
        return
    if model is None:
        raise InputError(
            "MODEL is required (a model directory, config.json, .gguf, or a name from --list-models)"
        )
    spec = load_spec(model)
    if workload is not None:
        _plan_for_workload(spec, workload, gpu, gpu_given=_gpu_given(), engine=engine, json_out=json_out)
        return
    if fit:
        wl = ServingTarget(
            max_model_len=max_model_len or min(spec.max_position_embeddings, 32768),
            concurrency=concurrency,
            engine=engine,
            gpu_memory_utilization=gpu_memory_utilization,
            weights_dtype=weights_dtype,
            kv_dtype=kv_dtype,
            headroom=headroom,
            prompt_tokens=prompt_tokens,
            output_tokens=output_tokens,
        )
        options = fit_search(spec, wl, gpu=gpu)
        if json_out:
            emit_json({"model": spec.name, "workload": wl, "options": options})
            return
        t = Table(
            title=f"Fit search: {inert(spec.name)}, {wl.concurrency} × {wl.max_model_len} tokens, {wl.engine} (estimates; ≥{headroom:.0%} headroom)"
        )
        short = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}
        for col in (
            "option",
            "GPU",
            "GPUs",
            "weights",
            "KV",
            "max conc",
            "tok/s/seq",
            "agg tok/s",
            "TTFT ms",
        ):
            t.add_column(col, no_wrap=True)
        for o in options:
            t.add_row(
                o.note or o.kind,
                o.gpu,
                f"{o.gpus} (TP {o.tp})" if o.replicas == 1 else f"{o.gpus} ({o.replicas}× TP {o.tp})",
                short.get(o.weights_dtype, o.weights_dtype),
                short.get(o.kv_dtype, o.kv_dtype),
                f"{o.max_concurrency:.1f}",
                f"{o.decode_tokens_per_s:.1f}",
                f"{o.aggregate_decode_tokens_per_s:,.0f}",
                f"{o.ttft_s * 1000:.0f}",
            )
        if not options:
            console.print(
                f"[red]No deployment of up to 8 GPUs serves {wl.concurrency} × {wl.max_model_len} tokens.[/]"
            )
        console.print(t)
        return
    opts = PlanOptions(
        gpu=gpu,
        gpus=gpus,
        tp=tp,
        engine=engine,
        weights_dtype=weights_dtype,
        kv_dtype=kv_dtype,
        max_model_len=max_model_len,
        concurrency=concurrency,
        gpu_memory_utilization=gpu_memory_utilization,
        max_num_batched_tokens=max_num_batched_tokens,
        max_num_seqs=max_num_seqs,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        cudagraph_in_budget=cudagraph_in_budget,
        text_only=text_only,
        prefix_caching=prefix_caching,
        engine_version=engine_version,
        sampler=sampler,
    )
    result = run_plan(spec, opts)
    if charts is not None:
        from clearance.plan import render_charts

        charts.mkdir(parents=True, exist_ok=True)
        for name, svg in render_charts(result).items():
            (charts / f"{name}.svg").write_text(svg, encoding="utf-8")
    if json_out:
        emit_json(result)
        return
    _print_result(result)


def _print_result(r: object) -> None:
    from clearance.plan import PlanResult

    assert isinstance(r, PlanResult)
    b, p = r.budget, r.performance
    verdict = "[bold green]FITS[/]" if r.fits else "[bold red]DOES NOT FIT[/]"
    t = Table(
        title=f"{inert(r.model)} on {r.gpus}× {inert(r.gpu)} · TP {r.tp} · {r.engine} · max_model_len {r.max_model_len:,} · {verdict}",
        show_header=False,
    )
    t.add_column("item", style="bold", no_wrap=True)
    t.add_column("value")

    def row(item: str, value: str, how: str) -> None:
        t.add_row(inert_text(item), f"{inert(value)}  [dim]{inert(how)}[/]")

    layers = ", ".join(f"{v} {k}" for k, v in r.layers.items())
    row("layers", layers, r.architecture)
    row(
        "parameters",
        f"{r.params_total / 1e9:,.2f} B total, {r.params_active / 1e9:,.2f} B active",
        "formula from config",
    )
    row(
        "weights",
        f"{r.weights_bytes / 1e9:,.2f} GB ({_gib(r.weights_bytes)}) · {r.weights_dtype}",
        "exact" if r.weights_exact else "estimate: " + r.weights_method,
    )
    row(
        "weights per GPU", _gib(r.weights_bytes_per_gpu), "TP split; norms/router/MLA latent proj. replicated"
    )
    row(
        "KV per token per GPU",
        f"{r.kv_bytes_per_token:,} B ({r.kv_dtype})",
        "full-context attention layers (exact, vLLM formula)",
    )
    if r.sliding_bytes_per_sequence:
        row("sliding-window KV / seq", _gib(r.sliding_bytes_per_sequence), "window-capped layers")
    if r.state_bytes_per_sequence:
        row(
            "fixed state / seq",
            f"{r.state_bytes_per_sequence / 2**20:,.1f} MiB",
            "GDN/Mamba conv + recurrent state",
        )
    row(
        "budget",
        f"{_gib(b.requested_bytes)} = {r.gpu_memory_utilization} × {_gib(b.usable_bytes)}"
        if r.engine != "llama.cpp"
        else f"{_gib(b.requested_bytes)} = {_gib(b.usable_bytes)} − 1 GiB",
        "usable memory as the runtime reports it",
    )
    row(
        "runtime overhead",
        f"{_gib(b.non_torch_bytes)} non-torch + {_gib(b.activation_peak_bytes)} activation peak"
        + (f" + {_gib(b.rope_cache_bytes)} RoPE cache" if b.rope_cache_bytes else ""),
        "estimate (calibrated on vLLM logs)"
        + (f"; sampler warm-up {_gib(b.sampler_peak_bytes)} ({b.sampler})" if b.sampler else ""),
    )
    row("KV cache per GPU", _gib(r.kv_cache_bytes_per_gpu), "what is left for KV / state")
    row(
        "KV cache tokens",
        f"{r.kv_cache_tokens:,}",
        "the engine's own startup figure (see version_semantics in --json)",
    )
    row(
        "max concurrency",
        f"{r.max_concurrency:,.2f} × {r.max_model_len:,} tokens",
        f"max_num_seqs {r.max_num_seqs}, batched tokens {r.max_num_batched_tokens}",
    )
    row(
        "decode (estimate)",
        f"{p.decode_tokens_per_s:,.1f} tok/s per sequence, {p.aggregate_decode_tokens_per_s:,.0f} aggregate at {p.concurrency}",
        f"{p.bound}-bound; η_mem {p.eta_mem}",
    )
    row(
        "TTFT (estimate)",
        f"{p.ttft_s * 1000:,.0f} ms for {p.prompt_tokens:,} prompt tokens",
        f"η_prefill {p.eta_prefill}",
    )
    console.print(t)
    for line in r.reasons:
        console.print(f"[red]✗[/] {inert(line)}")
    for line in r.warnings:
        console.print(f"[yellow]![/] {inert(line)}")
    for line in r.assumptions + p.assumptions:
        console.print(f"[dim]· {inert(line)}[/]")
