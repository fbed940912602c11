"""The ``Stage`` protocol of the approval run, the context stages share and the outcome each returns.

A stage is one class in one module of this package: ``name``, ``kind`` (measured / estimated / static),
``method`` (how its numbers are obtained, shown in the report), ``essential`` (a failure ends the run)
and ``run(ctx) -> StageOutcome``. A stage that talks to the endpoint awaits through ``ctx.wait(coro)``:
one event loop serves the whole run (the client's connections live on it), and stages that only read
files run outside it, so Ctrl-C stops them at once. The outcome carries a typed result (a pydantic record), the
policy facts it publishes, a one-line summary and the file that holds the result. ``clearance.vet``
runs the stages in order and does the bookkeeping every stage used to repeat (save the stage file,
add facts and evidence, record timing and status, turn errors into stage records).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from clearance.dossier import Provenance, RunDir, SampleView
from clearance.dossier.records import StageKind, StageStatus
from clearance.errors import ClearanceError
from clearance.evidence import DatasetRef

if TYPE_CHECKING:
    from clearance.endpoint.pool import ReplicaPool
    from clearance.evals import Suite
    from clearance.policy import Policy
    from clearance.vet import VetOptions


class VetStageError(ClearanceError):
    """A stage the decision cannot do without failed; the results so far stay in the run directory."""


R_co = TypeVar("R_co", bound=BaseModel, covariant=True)
T = TypeVar("T")


@dataclass(frozen=True)
class StageOutcome(Generic[R_co]):
    """What a stage produced.

    ``result`` is saved as ``stages/<save_as>.json`` (or already lies in ``file``, written by the box) and
    placed in ``dossier.json`` under ``results[results_key...]``; ``facts`` go to the policy, with the
    saved file as evidence for every fact prefix in ``evidence``.
    """

    result: R_co
    summary: str
    facts: Mapping[str, object] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()
    save_as: str | None = None
    file: str | None = None
    results_key: tuple[str, ...] = ()
    results_extra: Mapping[str, object] = field(default_factory=dict)  # beside the record in dossier.json
    status: StageStatus = "ok"


@dataclass
class StageContext:
    """What stages share within one run: the options, the run directory, provenance and the endpoint."""

    opts: VetOptions
    policy: Policy
    run: RunDir
    provenance: Provenance
    exits: ExitStack
    runner: asyncio.Runner
    facts: dict[str, object] = field(default_factory=dict)  # the facts published so far
    results: dict[str, Any] = field(default_factory=dict)  # dossier.json's results so far (JSON data)
    datasets: list[DatasetRef] = field(default_factory=list)
    samples: list[SampleView] = field(default_factory=list)
    endpoint_url: str | None = None
    server_label: str | None = None
    client: ReplicaPool | None = None
    load_client: ReplicaPool | None = None  # the same replicas without retries: faults are measured
    endpoint_id: str | None = None  # what identifies the endpoint across runs (resume key)

    def wait(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the run's event loop and return its result (Ctrl-C cancels it)."""
        return self.runner.run(coro)

    def require_client(self) -> ReplicaPool:
        """The open endpoint client; a stage that needs one runs after ``EndpointStage``."""
        if self.client is None:
            raise RuntimeError("no endpoint client: the endpoint stage has not run")
        return self.client

    def require_load_client(self) -> ReplicaPool:
        """The endpoint client without retries, for load and determinism (after ``EndpointStage``)."""
        if self.load_client is None:
            raise RuntimeError("no endpoint client: the endpoint stage has not run")
        return self.load_client


class Stage(Protocol):
    """One step of the approval run; see the module doc."""

    name: str
    kind: StageKind
    method: str
    essential: bool

    def run(self, ctx: StageContext) -> StageOutcome[BaseModel]: ...


class Note(BaseModel):
    """The result of a stage that did not run: why."""

    reason: str


@dataclass
class SkippedStage:
    """A stage that cannot run in this configuration (recorded as ``skipped`` with the reason)."""

    name: str
    reason: str
    kind: StageKind = "static"
    method: str = ""
    essential: bool = False

    def run(self, ctx: StageContext) -> StageOutcome[Note]:
        return StageOutcome(Note(reason=self.reason), summary=self.reason, status="skipped")


def cap_max_tokens(suite: Suite, cap: int | None) -> Suite:
    """The suite with its answer length capped at ``cap`` (suites that need fewer tokens keep their own)."""
    if cap is None:
        return suite
    own = suite.generation.max_tokens
    gen = suite.generation.model_copy(update={"max_tokens": cap if own is None else min(own, cap)})
    return suite.model_copy(update={"generation": gen})


def short_facts(facts: Mapping[str, object], keys: tuple[str, ...]) -> str:
    """A few facts whose names contain one of ``keys``, as ``name=value`` (bounds and lists left out)."""
    parts = []
    for k, v in facts.items():
        if any(s in k for s in keys) and ".ci_" not in k and not isinstance(v, dict | list):
            parts.append(
                f"{k.split('.', 1)[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.', 1)[-1]}={v}"
            )
    return ", ".join(parts[:4])
