"""CLI: `clearance serve` — run the embedded llama.cpp model server in the foreground."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from clearance.cli.app import app
from clearance.cli.output import console, emit_json, err_console
from clearance.inert import inert


def _sigterm_to_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@app.command()
def serve(
    model: Annotated[
        Path | None,
        typer.Option(
            "--model", help="A .gguf file to serve (default: the embedded SmolLM2-135M-Instruct Q4_1)."
        ),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Loopback port (default: any free port).")
    ] = None,
    n_ctx: Annotated[int, typer.Option("--n-ctx", help="Context window in tokens.")] = 2048,
    startup_timeout: Annotated[
        float, typer.Option("--startup-timeout", help="Seconds to wait until the server answers.")
    ] = 180.0,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (base_url, pid, model, log) on stdout.")
    ] = False,
) -> None:
    """Serve a GGUF model with llama.cpp on 127.0.0.1 until Ctrl-C (needs the `local` extra).

    Example:  clearance serve --port 8000   then   clearance loadtest --endpoint http://127.0.0.1:8000 -c 4
    """
    from clearance.endpoint.server import EmbeddedServer

    signal.signal(signal.SIGTERM, _sigterm_to_exit)
    # Ctrl-C must stop the server even when started from a shell that ignores SIGINT (background jobs)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    srv = EmbeddedServer(model_path=model, port=port, n_ctx=n_ctx, startup_timeout_s=startup_timeout)
    try:
        with err_console.status("starting llama.cpp server…"):
            srv.start()
        info = {
            "base_url": srv.base_url,
            "pid": srv.pid,
            "model": str(srv.model_path),
            "log": str(srv.log_path),
        }
        if json_out:
            emit_json(info)
        else:
            console.print(f"[bold green]serving[/] {inert(srv.model_path.name if srv.model_path else '')}")
            console.print(f"base URL: {inert(srv.base_url)}")
            console.print(f"server pid: {srv.pid}   log: {inert(srv.log_path)}")
            console.print(
                f"try:  curl -s {srv.base_url}/chat/completions -H 'Content-Type: application/json' "
                '-d \'{"messages":[{"role":"user","content":"What is the capital of France?"}],'
                '"max_tokens":32,"temperature":0}\'',
                soft_wrap=True,
            )
            console.print("press Ctrl-C to stop")
        while srv.alive():
            time.sleep(0.5)
        err_console.print(
            f"[bold red]error:[/] the server exited on its own; last log lines: {srv.log_tail(6)}"
        )
        raise typer.Exit(2)
    except KeyboardInterrupt:
        # Ctrl-C is how a foreground server is meant to stop: one line, exit 0 (like python -m http.server)
        srv.stop()
        err_console.print("stopped: the llama.cpp server is down (Ctrl-C)")
    finally:
        srv.stop()
