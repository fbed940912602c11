"""Endpoint: open the client and ask the endpoint which model it serves (``GET /v1/models``)."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from clearance.dossier.records import StageKind
from clearance.endpoint import OpenAIClient
from clearance.evidence import EndpointRef
from clearance.stages.base import StageContext, StageOutcome


class EndpointInfo(BaseModel):
    """The endpoint under test: its URL, the model ids it lists and the server behind it, when known."""

    url: str
    models: list[str]
    server: str | None


class EndpointStage:
    name: str = "endpoint"
    kind: StageKind = "measured"
    method: str = "GET /v1/models"
    essential: bool = True

    def run(self, ctx: StageContext) -> StageOutcome[EndpointInfo]:
        url = ctx.endpoint_url or ctx.opts.endpoint
        if url is None:
            raise RuntimeError("endpoint stage without an endpoint URL")
        client = ctx.client
        if client is None:
            client = OpenAIClient(url, api_key=ctx.opts.api_key)
            ctx.exits.callback(_closer(ctx, client))  # closed before the server stops
            ctx.client = client
        models = ctx.wait(client.models())
        served = ctx.wait(client.served_model())
        ctx.provenance.endpoint = EndpointRef(
            url=client.base_url, served_model=served, server=ctx.server_label
        )
        return StageOutcome(
            EndpointInfo(url=client.base_url, models=models, server=ctx.server_label),
            summary=f"{client.base_url} serves {served}",
            results_key=("endpoint",),
        )


def _closer(ctx: StageContext, client: OpenAIClient) -> Callable[[], None]:
    def close() -> None:
        ctx.wait(client.aclose())

    return close
