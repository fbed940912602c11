"""Server: the embedded llama.cpp server on loopback, when no endpoint was named and MODEL is a GGUF file."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from clearance.dossier.records import StageKind
from clearance.endpoint.server import EmbeddedServer
from clearance.stages.base import StageContext, StageOutcome

EMBEDDED_LABEL = "llama.cpp (embedded, llama-cpp-python)"


class ServerInfo(BaseModel):
    """The embedded server that serves the model for this run."""

    base_url: str
    model: str


class ServerStage:
    name: str = "server"
    kind: StageKind = "measured"
    method: str = "python -m llama_cpp.server on 127.0.0.1"
    essential: bool = True

    def run(self, ctx: StageContext) -> StageOutcome[ServerInfo]:
        model = Path(ctx.opts.model)
        srv = EmbeddedServer(model_path=model, log_path=ctx.run.path / "server.log")
        ctx.exits.callback(srv.stop)  # stopped when the run ends, whatever happens
        srv.start()
        ctx.endpoint_url, ctx.server_label = srv.base_url, EMBEDDED_LABEL
        return StageOutcome(
            ServerInfo(base_url=srv.base_url, model=model.name),
            summary=f"embedded llama.cpp serving {model.name} at {srv.base_url}",
        )
