"""CLI: ``clearance bom MODEL`` — a CycloneDX 1.6 ML-BOM for a model artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearance.cli.app import app
from clearance.cli.output import console, emit_json
from clearance.errors import InputError


@app.command("bom")
def bom_cmd(
    model: Annotated[Path, typer.Argument(help="Model directory, Hugging Face cache entry or GGUF file.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the BOM JSON here.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the BOM JSON on stdout.")] = False,
) -> None:
    """Write a CycloneDX 1.6 ML-BOM (machine-learning-model component, file hashes, license, model card).

    Example: [bold]clearance bom ./Qwen3-0.6B --out qwen3.cdx.json[/]
    """
    from clearance.bom import build_bom, validate_bom, write_bom
    from clearance.model import intake

    art = intake(model, progress=not json_out)
    bom = build_bom(art)
    errs = validate_bom(bom)
    if errs:
        raise InputError(f"generated BOM is invalid: {errs[0]}")
    if out is not None:
        write_bom(bom, out)
    if json_out:
        emit_json(bom)
    else:
        lic = art.license.spdx or art.license.id or "unknown"
        console.print(
            f"CycloneDX 1.6 ML-BOM for {art.name}: {len(art.files)} files, license {lic}, "
            f"root sha256 {art.manifest_digest}",
            soft_wrap=True,
        )
        if out is not None:
            console.print(f"written to {out}")
