"""Endpoint: open the client (a pool over every replica) and ask which model it serves (``GET /v1/models``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from clearance.dossier.records import StageKind
from clearance.endpoint.pool import ReplicaPool
from clearance.stages.base import StageContext, StageOutcome


class EndpointInfo(BaseModel):
    """The endpoint under test: its URL, the model ids it lists, the server behind it, and every replica."""

    url: str
    models: list[str]
    server: str | None
    replicas: list[str]


class EndpointStage:
    name: str = "endpoint"
    kind: StageKind = "measured"
    method: str = "GET /v1/models (every replica)"
    essential: bool = True

    def run(self, ctx: StageContext) -> StageOutcome[EndpointInfo]:
        url = ctx.endpoint_url or ctx.opts.endpoint
        if url is None:
            raise RuntimeError("endpoint stage without an endpoint URL")
        urls = [url, *ctx.opts.replicas]
        # the embedded server gets a new port each run; its identity is the model it serves
        ctx.endpoint_id = (
            " ".join(urls)
            if ctx.server_label is None
            else f"{ctx.server_label} serving {Path(ctx.opts.model).name}"
        )
        client = ctx.client
        if client is None:
            client = ReplicaPool(urls, api_key=ctx.opts.api_key)
            # load and determinism measure faults as they happen: no retries hide a failing request
            ctx.load_client = ReplicaPool(urls, api_key=ctx.opts.api_key, max_retries=0)
            ctx.exits.callback(_closer(ctx, ctx.load_client))
            ctx.exits.callback(_closer(ctx, client))  # both closed before the server stops
            ctx.client = client
        models = ctx.wait(client.models())
        served = ctx.wait(client.served_model())
        ctx.provenance.endpoint = client.endpoint_ref(ctx.server_label)
        more = f" and {len(urls) - 1} more replicas" if len(urls) > 1 else ""
        return StageOutcome(
            EndpointInfo(url=client.base_url, models=models, server=ctx.server_label, replicas=client.urls),
            summary=f"{client.base_url}{more} {'serve' if more else 'serves'} {served}",
            results_key=("endpoint",),
        )


def _closer(ctx: StageContext, client: ReplicaPool) -> Callable[[], None]:
    def close() -> None:
        ctx.wait(client.aclose())

    return close
