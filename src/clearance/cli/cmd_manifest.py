"""CLI: ``clearance manifest DIR`` — sha256 of every model file, comparable with the publisher's listing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearance.cli.app import app
from clearance.cli.output import JsonOption, console, emit_json, err_console
from clearance.inert import inert, inert_text


@app.command("manifest")
def manifest_cmd(
    model: Annotated[
        Path, typer.Argument(help="Model directory, Hugging Face cache entry (models--org--name) or file.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the manifest JSON to this file.")
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="Compare with a listing: our manifest JSON, HF siblings/tree JSON, sha256sum text.",
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", min=1, max=256, help="Files hashed in parallel.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Hash every file of MODEL (sha256, parallel, large sequential reads) into a manifest.

    A manifest made on a connected machine is what you carry across the air gap; compare it on the
    other side with 'clearance scan DIR --against FILE' or with --against here.

    Example: [bold]clearance manifest ./Qwen3-0.6B --out qwen3.manifest.json[/]
    """
    from clearance.model.manifest import build_manifest, compare, load_reference, write_manifest

    t0 = time.perf_counter()
    m = build_manifest(model, workers=workers, progress=not json_out)
    elapsed = time.perf_counter() - t0
    if out is not None:
        write_manifest(m, out)
    cmp = compare(m, load_reference(against)) if against is not None else None
    if json_out:
        obj: dict[str, object] = m.model_dump(mode="json")
        obj["elapsed_s"] = round(elapsed, 3)
        if cmp is not None:
            obj["comparison"] = cmp.model_dump(mode="json")
        emit_json(obj)
    else:
        table = Table(title=f"{inert(m.name)} — {len(m.files)} files, {m.total_bytes / 1e6:,.1f} MB")
        table.add_column("file", overflow="fold")
        table.add_column("bytes", justify="right")
        table.add_column("sha256", no_wrap=True, min_width=64)
        for f in m.files:
            table.add_row(inert_text(f.path), f"{f.size:,}", inert_text(f.sha256))
        console.print(table)
        rate = m.total_bytes / elapsed / 1e6 if elapsed > 0 else 0.0
        console.print(f"root digest (OMS, sha256 over file digests): {m.root_digest}", soft_wrap=True)
        err_console.print(f"hashed in {elapsed:.2f} s ({rate:,.0f} MB/s, measured wall clock)")
        if out is not None:
            console.print(f"manifest written to {inert(out)}")
        if cmp is not None:
            status = "[green]matches[/]" if cmp.ok else "[red]differs from[/]"
            console.print(
                f"{status} {cmp.reference} ({cmp.reference_format}): {len(cmp.matched)} matched, "
                f"{len(cmp.missing)} missing, {len(cmp.extra)} extra, {len(cmp.mismatched)} mismatched"
            )
            for p in cmp.missing:
                console.print(f"  missing    {inert(p)}")
            for p in cmp.extra:
                console.print(f"  extra      {inert(p)}")
            for mm in cmp.mismatched:
                console.print(f"  mismatched {inert(mm['path'])} ({inert(mm['field'])})")
    if cmp is not None and not cmp.ok:
        raise typer.Exit(1)
