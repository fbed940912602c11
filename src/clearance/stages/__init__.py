"""The stages of the approval run, one class per module; ``stages_for(options)`` lists them in order.

To add a stage: a class with ``name``, ``kind``, ``method``, ``essential`` and ``run(ctx) ->
StageOutcome`` in a new module here (see ``base.py`` and any stage as an example), its place in
``stages_for`` below, and the facts its result publishes declared in its box's ``facts.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from clearance.stages.base import (
    Note,
    SkippedStage,
    Stage,
    StageContext,
    StageOutcome,
    VetStageError,
)
from clearance.stages.baseline import BaselineStage
from clearance.stages.claims import ClaimsStage
from clearance.stages.cost import CostStage
from clearance.stages.determinism import DeterminismStage
from clearance.stages.endpoint import EndpointStage
from clearance.stages.evals import EvalStage, default_suites
from clearance.stages.intake import IntakeStage
from clearance.stages.load import LoadStage
from clearance.stages.plan import PlanStage
from clearance.stages.planner_check import PlannerCheckStage
from clearance.stages.reasoning import ReasoningStage
from clearance.stages.scan import ScanStage
from clearance.stages.server import ServerStage
from clearance.stages.serving import LongContextStage, MeasuredCostStage, SoakStage

if TYPE_CHECKING:
    from clearance.vet import VetOptions

NO_ENDPOINT = "no --endpoint given and MODEL is not a GGUF file the embedded llama.cpp server can serve"
ON_THIS_CPU = (
    "the embedded llama.cpp server runs on this machine's CPU, not on --gpu: its throughput says nothing "
    "about the GPU estimate or the GPU's cost"
)


def stages_for(opts: VetOptions) -> list[Stage]:
    """The stages of one run, in order: static boxes, then (with an endpoint) the measured ones."""
    stages: list[Stage] = [IntakeStage(), ScanStage(), PlanStage(), CostStage(opts.workload)]
    model = Path(opts.model)
    if not opts.endpoint and not (model.is_file() and model.suffix.lower() == ".gguf"):
        stages += [SkippedStage("evals", NO_ENDPOINT), SkippedStage("load", NO_ENDPOINT)]
    else:
        if not opts.endpoint:
            stages.append(ServerStage())
        stages.append(EndpointStage())
        stages.append(ReasoningStage())
        suites = opts.suites if opts.suites is not None else default_suites()
        stages.extend(EvalStage(name) for name in suites)
        if opts.datasets is not None:  # the public benchmarks found there, each with its own data
            from clearance.evals.catalog import find_datasets

            found = [e for e in find_datasets([Path(opts.datasets)]) if e.kind == "public" and e.found]
            stages.extend(EvalStage(e.suite, data=e.path) for e in found if e.suite not in suites)
        stages.append(ClaimsStage())
        stages.append(LoadStage(opts.load_concurrency, opts.load_requests))
        if opts.workload is not None:
            stages.append(
                MeasuredCostStage(opts.workload)
                if opts.endpoint
                else SkippedStage("cost:measured", ON_THIS_CPU)
            )
        stages.append(DeterminismStage())
        # the embedded server's speed on this CPU is no measurement of the planned GPU
        stages.append(
            PlannerCheckStage(opts.workload) if opts.endpoint else SkippedStage("planner-check", ON_THIS_CPU)
        )
        if opts.long_context:
            stages.append(LongContextStage(opts.max_context, opts.tokenizer))
        if opts.soak_s is not None:
            stages.append(SoakStage(opts.soak_s, opts.load_concurrency))
    if opts.baseline is not None:
        stages.append(BaselineStage(opts.baseline))
    return stages


__all__ = [
    "BaselineStage",
    "ClaimsStage",
    "CostStage",
    "DeterminismStage",
    "EndpointStage",
    "EvalStage",
    "IntakeStage",
    "LoadStage",
    "LongContextStage",
    "MeasuredCostStage",
    "Note",
    "PlanStage",
    "PlannerCheckStage",
    "ReasoningStage",
    "ScanStage",
    "ServerStage",
    "SkippedStage",
    "SoakStage",
    "Stage",
    "StageContext",
    "StageOutcome",
    "VetStageError",
    "stages_for",
]
