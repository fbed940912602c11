"""The approval run: intake → scan → plan → cost → evals → load → policy decision → signed dossier.

``run_vet(VetOptions) -> VetResult`` is what ``clearance vet`` and ``clearance demo`` call. Each stage's
result is saved under ``<out>/stages/`` as it completes; the directory carries a ``.partial`` marker until
the dossier is sealed. A stage the policy cannot do without (intake, scan, evals against a named endpoint)
ends the run with one ``VetStageError`` line; the others (plan, cost, load) become missing facts that the
policy turns into ``needs_review``.

The stages are objects (``clearance.stages``: one class per module, ``Stage`` protocol in ``base.py``);
``Pipeline.execute`` is a loop over them that does each stage's bookkeeping in one place.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from clearance.dossier import (
    DossierInput,
    Provenance,
    RunDir,
    StageRecord,
    WrittenDossier,
    write_dossier,
)
from clearance.errors import ClearanceError, InputError
from clearance.evidence import utc_now
from clearance.plan.gpus import get_gpu
from clearance.policy import Decision, Policy, decide, load_policy
from clearance.stages.base import Stage, StageContext, VetStageError, cap_max_tokens

PLAN_GPUS = ["H100-SXM", "A100-80G-SXM", "L40S", "L4"]


class VetOptions(BaseModel):
    """Inputs of one approval run (mirrors the ``clearance vet`` options)."""

    model: str
    endpoint: str | None = None
    replicas: list[str] = Field(default_factory=list)  # further replicas of the model at ``endpoint``
    api_key: str | None = None
    policy: str | None = None
    out: str | None = None
    gpu: str = "H100-SXM"
    plan_gpus: list[str] = Field(default_factory=lambda: list(PLAN_GPUS))
    suites: list[str] | None = None
    limit: int | None = None
    suite_limits: dict[str, int] = Field(default_factory=dict)
    max_tokens: int | None = None
    sample_seed: int | None = None
    chat_template_kwargs: dict[str, Any] | None = None
    reasoning_budget: int | None = None
    claims: str | None = None
    judge: str | None = None
    judge_model: str | None = None
    datasets: str | None = None
    eval_concurrency: int = 4
    load_requests: int = 16
    load_concurrency: int = 4
    load_max_tokens: int = 32
    determinism_repeats: int = 5
    determinism_max_tokens: int = 64
    key: str | None = None
    workload: str | None = None
    baseline: str | None = None
    long_context: bool = False  # planted-fact retrieval up to the served context length
    max_context: int | None = None  # the served context length when /v1/models does not report it
    tokenizer: str | None = None  # 'server' or a tokenizer.json: exact lengths for the long-context probe
    soak_s: float | None = None  # steady load for this many seconds, drift of latency and errors
    progress: bool = True
    command: list[str] = Field(default_factory=list)


class VetResult(BaseModel):
    """What a finished run produced: the decision, the facts it judged, the stages and the dossier."""

    out_dir: str
    decision: Decision
    facts: dict[str, Any]
    stages: list[StageRecord]
    dossier: WrittenDossier

    @property
    def exit_code(self) -> int:
        """0 approved, 1 rejected, 3 needs review."""
        return self.decision.exit_code


def default_out_dir(model: str | Path, now: datetime | None = None) -> Path:
    """``./clearance-runs/<model-name>-<UTC timestamp>``."""
    stem = Path(str(model).rstrip("/")).name
    stem = re.sub(r"\.(gguf|safetensors|json)$", "", stem, flags=re.I)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.").lower() or "model"
    ts = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path("clearance-runs") / f"{name}-{ts}"


class Pipeline:
    """One approval run: the stages in order, then the decision and the sealed dossier."""

    def __init__(
        self,
        opts: VetOptions,
        policy: Policy,
        on_stage: Callable[[StageRecord], None] | None = None,
        stages: list[Stage] | None = None,
    ) -> None:
        self.opts = opts
        self.policy = policy
        self.on_stage = on_stage
        if stages is None:
            from clearance.stages import stages_for  # the boxes load when a run starts, not at import

            stages = stages_for(opts)
        self.stages = stages
        self.run = RunDir(opts.out or default_out_dir(opts.model))
        self.facts: dict[str, object] = {}
        self.evidence: dict[str, str] = {}
        self.records: list[StageRecord] = []
        self.results: dict[str, Any] = {}  # dossier.json's "results": each stage's record as JSON data

    def record(self, rec: StageRecord) -> None:
        self.records.append(rec)
        self.run.save_stage(
            "_progress", {"stages": self.records, "facts": self.facts, "updated_at": utc_now()}
        )
        if self.on_stage is not None:
            self.on_stage(rec)

    def run_stage(self, stage: Stage, ctx: StageContext) -> None:
        """Run one stage and do its bookkeeping; a failed essential stage ends the run (``VetStageError``)."""
        started, t0 = utc_now(), time.perf_counter()
        try:
            out = stage.run(ctx)
            if out.status == "skipped":
                self.record(StageRecord(name=stage.name, status="skipped", summary=out.summary))
                return
            file = out.file
            if out.save_as is not None:
                file = self.run.save_stage(out.save_as, out.result)
            if out.results_key:
                *parents, last = out.results_key
                slot = self.results
                for key in parents:
                    slot = slot.setdefault(key, {})
                slot[last] = {**out.result.model_dump(mode="json"), **out.results_extra}
            self.facts.update(out.facts)
            for prefix in out.evidence:
                if file is not None:
                    self.evidence[prefix] = file
        except Exception as exc:
            known = isinstance(exc, ClearanceError)
            self.record(
                StageRecord(
                    name=stage.name,
                    status="failed",
                    kind=stage.kind,
                    method=stage.method,
                    error=str(exc) if known else f"{type(exc).__name__}: {exc}",
                    started_at=started,
                    duration_s=round(time.perf_counter() - t0, 3),
                )
            )
            if stage.essential and known:
                raise VetStageError(
                    f"{stage.name} failed: {exc} (results so far kept in {self.run.path})"
                ) from exc
            if stage.essential:
                raise
            return
        self.record(
            StageRecord(
                name=stage.name,
                status=out.status,
                kind=stage.kind,
                method=stage.method,
                summary=out.summary,
                file=file,
                started_at=started,
                duration_s=round(time.perf_counter() - t0, 3),
            )
        )

    def execute(self) -> VetResult:
        """Run every stage, decide by policy and seal the dossier."""
        self.run.begin()  # locks the run directory: a second run into it stops with one line
        try:
            return self._execute()
        finally:
            self.run.release()

    def _execute(self) -> VetResult:
        provenance = Provenance(command=self.opts.command)
        with ExitStack() as exits:
            runner = exits.enter_context(asyncio.Runner())
            ctx = StageContext(
                self.opts, self.policy, self.run, provenance, exits, runner, self.facts, self.results
            )
            for stage in self.stages:
                self.run_stage(stage, ctx)
        decision = decide(self.policy, self.facts, evidence=self.evidence)
        self.run.save_stage("decision", decision)
        provenance.datasets = ctx.datasets
        provenance.finished_at = utc_now()
        data = DossierInput(
            title=_title(self.facts.get("model.name"), self.opts.model),
            decision=decision,
            facts=self.facts,
            stages=self.records,
            results=self.results,
            provenance=provenance,
            failing_samples=ctx.samples,
        )
        written = write_dossier(self.run.path, data, key=self.opts.key)
        return VetResult(
            out_dir=str(self.run.path),
            decision=decision,
            facts=self.facts,
            stages=self.records,
            dossier=written,
        )


def _title(name: object, model: str) -> str:
    """The report title: the artifact's own name, with the path's name beside it when they differ.

    GGUF metadata often names the training run (``Smollm2 135M 8k Lc100K Mix1 Ep2``), not the file
    the user passed (``SmolLM2-135M-Instruct.Q4_1.gguf``); showing both avoids a puzzled reader.
    """
    base = Path(model.rstrip("/")).name
    if not name:
        return base
    text = str(name)
    return text if base.lower().startswith(text.lower()) else f"{text} ({base})"


def run_vet(options: VetOptions, *, on_stage: Callable[[StageRecord], None] | None = None) -> VetResult:
    """Run the whole approval pipeline for ``options.model`` and seal a signed dossier; see the module doc."""
    # A typo in the policy (a key, an operator, an undeclared fact) fails before anything runs.
    policy = load_policy(options.policy, suites=options.suites or [])
    if not Path(options.model).exists():
        raise InputError(f"model path does not exist: {options.model}")
    if options.key is not None:
        from clearance.signing import load_private_key

        load_private_key(options.key)  # a bad --key fails now, not after an hour of evals
    for g in [options.gpu, *options.plan_gpus]:
        get_gpu(g)  # an unknown --gpu is a CatalogError now, naming the known GPUs
    if options.workload is not None:
        from clearance.workload import load_workload

        load_workload(options.workload)  # a malformed workload file fails before anything runs
    if options.baseline is not None and not options.baseline.startswith("registry:"):
        from clearance.compare.evidence import read_dossier

        read_dossier(options.baseline, verify=False, with_samples=False)  # not a dossier: fail now
    if options.limit is not None and options.limit < 1:
        raise InputError(f"limit must be at least 1, got {options.limit}", param="limit")
    if options.datasets is not None and not Path(options.datasets).is_dir():
        raise InputError(f"datasets folder not found: {options.datasets}", param="datasets")
    if options.judge is not None:
        from clearance.endpoint import normalize_base_url as _url

        _url(options.judge)  # a malformed judge URL fails now
    if options.claims is not None:
        from clearance.evals.claims import read_claims

        read_claims(options.claims)  # a malformed --claims file fails now, not after the evals
    if options.reasoning_budget is not None and options.reasoning_budget < 0:
        raise InputError(
            f"reasoning_budget must be at least 0, got {options.reasoning_budget}", param="reasoning_budget"
        )
    from clearance.checks import at_least
    from clearance.endpoint import normalize_base_url
    from clearance.outlock import check_out_path

    at_least("max_tokens", options.max_tokens, 1)
    at_least("eval_concurrency", options.eval_concurrency, 1)
    if options.endpoint is not None:
        normalize_base_url(options.endpoint)  # a malformed URL fails now, before intake hashes anything
    if options.out is not None:
        check_out_path(options.out)
    if not options.command:
        options = options.model_copy(update={"command": ["clearance", *sys.argv[1:]]})
    return Pipeline(options, policy, on_stage).execute()


__all__ = [
    "Pipeline",
    "VetOptions",
    "VetResult",
    "VetStageError",
    "cap_max_tokens",
    "default_out_dir",
    "run_vet",
]
