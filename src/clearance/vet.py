"""The approval run: intake → scan → plan → cost → evals → load → policy decision → signed dossier.

``run_vet(VetOptions) -> VetResult`` is what ``clearance vet`` and ``clearance demo`` call. Each stage's
result is saved under ``<out>/stages/`` as it completes; the directory carries a ``.partial`` marker until
the dossier is sealed. A stage the policy cannot do without (intake, scan, evals against a named endpoint)
ends the run with one ``VetStageError`` line; the others (plan, cost, load, a box missing from this build)
become missing facts that the policy turns into ``needs_review``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from clearance.dossier import (
    DossierInput,
    ModelRef,
    Provenance,
    RunDir,
    SampleView,
    StageRecord,
    WrittenDossier,
    write_dossier,
)
from clearance.dossier.records import StageKind
from clearance.errors import ClearanceError, InputError
from clearance.evidence import DatasetRef, utc_now
from clearance.policy import Decision, Policy, decide, load_policy

DEFAULT_SUITES = ["capability-basic", "safety-refusal"]
PLAN_GPUS = ["H100-SXM", "A100-80G-SXM", "L40S", "L4"]
FAILING_SAMPLES_PER_SUITE = 25


class VetStageError(ClearanceError):
    """A stage the decision cannot do without failed; the results so far stay in the run directory."""


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
    eval_concurrency: int = 4
    load_requests: int = 16
    load_concurrency: int = 4
    load_max_tokens: int = 32
    determinism_repeats: int = 5
    determinism_max_tokens: int = 64
    key: str | None = None
    workload: str | None = None
    baseline: str | None = None
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


def cap_max_tokens(suite: Any, cap: int | None) -> Any:
    """The suite with its answer length capped at ``cap`` (suites that need fewer tokens keep their own)."""
    if cap is None:
        return suite
    own = suite.generation.max_tokens
    gen = suite.generation.model_copy(update={"max_tokens": cap if own is None else min(own, cap)})
    return suite.model_copy(update={"generation": gen})


def default_out_dir(model: str | Path, now: datetime | None = None) -> Path:
    """``./clearance-runs/<model-name>-<UTC timestamp>``."""
    stem = Path(str(model).rstrip("/")).name
    stem = re.sub(r"\.(gguf|safetensors|json)$", "", stem, flags=re.I)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.").lower() or "model"
    ts = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path("clearance-runs") / f"{name}-{ts}"


def _optional(module: str, *names: str) -> tuple[Any, ...] | None:
    """Import ``names`` from ``module`` if this build has them (boxes land independently)."""
    try:
        mod = importlib.import_module(module)
        return tuple(getattr(mod, n) for n in names)
    except (ImportError, AttributeError):
        return None


class _Pipeline:
    def __init__(
        self, opts: VetOptions, policy: Policy, on_stage: Callable[[StageRecord], None] | None
    ) -> None:
        self.opts = opts
        self.policy = policy
        self.on_stage = on_stage
        self.run = RunDir(opts.out or default_out_dir(opts.model))
        self.facts: dict[str, Any] = {}
        self.evidence: dict[str, str] = {}
        self.stages: list[StageRecord] = []
        self.results: dict[str, Any] = {}
        self.samples: list[SampleView] = []
        self.provenance = Provenance(command=opts.command)
        self.datasets: list[DatasetRef] = []
        self.endpoint_id: str | None = None

    # ---------------------------------------------------------------- bookkeeping

    def record(self, rec: StageRecord) -> None:
        self.stages.append(rec)
        self.run.save_stage(
            "_progress", {"stages": self.stages, "facts": self.facts, "updated_at": utc_now()}
        )
        if self.on_stage is not None:
            self.on_stage(rec)

    @contextmanager
    def stage(self, name: str, kind: StageKind, method: str, *, essential: bool) -> Iterator[dict[str, Any]]:
        """Run one stage; the body fills ``box['summary']`` / ``box['file']``; errors are recorded."""
        box: dict[str, Any] = {"summary": "", "file": None, "status": "ok"}
        started, t0 = utc_now(), time.perf_counter()
        try:
            yield box
        except Exception as exc:
            known = isinstance(exc, ClearanceError)
            error = str(exc) if known else f"{type(exc).__name__}: {exc}"
            self.record(
                StageRecord(
                    name=name,
                    status="failed",
                    kind=kind,
                    method=method,
                    error=error,
                    started_at=started,
                    duration_s=round(time.perf_counter() - t0, 3),
                )
            )
            if essential and known:
                raise VetStageError(f"{name} failed: {exc} (results so far kept in {self.run.path})") from exc
            if essential:
                raise
            return
        self.record(
            StageRecord(
                name=name,
                status=box["status"],
                kind=kind,
                method=method,
                summary=box["summary"],
                file=box["file"],
                started_at=started,
                duration_s=round(time.perf_counter() - t0, 3),
            )
        )

    def unavailable(self, name: str, why: str) -> None:
        self.record(StageRecord(name=name, status="unavailable", summary=why))

    def skipped(self, name: str, why: str) -> None:
        self.record(StageRecord(name=name, status="skipped", summary=why))

    def add_facts(self, facts: dict[str, object], source: str, *prefixes: str) -> None:
        self.facts.update(facts)
        for p in prefixes:
            self.evidence[p] = source

    # ---------------------------------------------------------------- stages

    def intake(self) -> Any:
        from clearance.model import intake

        with self.stage(
            "intake",
            "static",
            "file list, sha256 of every file, config/GGUF metadata, card, license",
            essential=True,
        ) as box:
            art = intake(self.opts.model, hash=True)
            box["file"] = self.run.save_stage("model", art)
            self.results["model"] = art.model_dump(mode="json")
            self.add_facts(art.policy_facts(), box["file"], "model", "license")
            self.provenance.model = ModelRef(
                name=art.name,
                source=str(Path(self.opts.model).resolve()),
                kind=art.kind,
                digest=art.manifest_digest,
                digest_method="sha256 manifest digest over every file (clearance.model.manifest)",
                files=len(art.files),
                total_bytes=art.total_bytes,
            )
            lic = art.license.id or "unknown"
            box["summary"] = (
                f"{art.kind}: {len(art.files)} files, {art.total_bytes / 2**20:.1f} MiB, license {lic}"
            )
            return art
        return None

    def scan(self) -> None:
        from clearance.scan import scan_path

        with self.stage(
            "scan", "static", "registered scan checks over every file (nothing executed)", essential=True
        ) as box:
            rep = scan_path(self.opts.model)
            box["file"] = self.run.save_stage("scan", rep)
            self.results["scan"] = rep.model_dump(mode="json")
            self.add_facts(rep.policy_facts(), box["file"], "scan")
            worst = rep.max_severity()
            box["summary"] = (
                f"{len(rep.findings)} findings, worst {worst.value if worst else 'none'} ({len(rep.checks)} checks)"
            )

    def plan(self) -> Any:
        api = _optional("clearance.plan", "load_spec", "plan", "PlanOptions")
        if api is None:
            self.unavailable("plan", "the plan box is not available in this build")
            return None
        load_spec, make_plan, plan_options = api
        with self.stage(
            "plan",
            "estimated",
            "memory formula from the architecture (weights + KV cache per token)",
            essential=False,
        ) as box:
            spec = load_spec(self.opts.model)
            rows: list[dict[str, Any]] = []
            chosen: Any = None
            gpus = [self.opts.gpu] + [g for g in self.opts.plan_gpus if g.lower() != self.opts.gpu.lower()]
            for g in gpus:
                res = make_plan(spec, plan_options(gpu=g))
                if g == self.opts.gpu:
                    chosen = res
                rows.append(_plan_row(g, res))
            self.results["plan"] = {
                "gpu": self.opts.gpu,
                "assumptions": [
                    "estimate, not measured",
                    "engine vllm defaults",
                    "gpu_memory_utilization 0.9",
                ],
                "rows": rows,
                "chosen": chosen.model_dump(mode="json") if hasattr(chosen, "model_dump") else None,
            }
            box["file"] = self.run.save_stage("plan", self.results["plan"])
            if chosen is not None and hasattr(chosen, "policy_facts"):
                self.add_facts(chosen.policy_facts(), box["file"], "plan")
            fits = [r["gpu"] for r in rows if r.get("fits")]
            box["summary"] = f"fits on {', '.join(fits) or 'none of ' + ', '.join(gpus)} (estimate)"
            return spec
        return None

    def cost(self) -> None:
        api = _optional("clearance.tco", "Workload", "CostOptions", "estimate_cost", "from_plan")
        if api is None:
            self.unavailable("cost", "the tco box is not available in this build")
            return
        workload_cls, options_cls, estimate_cost, from_plan = api
        wf = None
        if self.opts.workload:
            from clearance.workload import load_workload

            wf = load_workload(self.opts.workload)
        what = (
            f"TCO over {wf.horizon_years} years for the workload in {Path(self.opts.workload or '').name}"
            if wf is not None
            else "TCO over 3 years for an illustrative 10,000 requests/day workload (no --workload given)"
        )
        with self.stage("cost", "estimated", what, essential=False) as box:
            if wf is not None:
                workload = wf.traffic_workload()
                capacity = from_plan(
                    self.opts.model,
                    self.opts.gpu,
                    workload,
                    ttft_target_s=wf.slo.ttft_p95_s or 2.0,
                    itl_target_s=wf.slo.tpot_p95_s or 0.05,
                )
                options = options_cls(
                    gpu=self.opts.gpu,
                    capacity=capacity,
                    years=wf.horizon_years,
                    apis=wf.apis,
                    model_name=_model_name(self.facts, self.opts.model),
                )
                rep = estimate_cost(workload, options, prices=wf.price_book())
            else:
                workload = workload_cls(requests_per_day=10_000)
                capacity = from_plan(self.opts.model, self.opts.gpu, workload)
                options = options_cls(
                    gpu=self.opts.gpu, capacity=capacity, model_name=_model_name(self.facts, self.opts.model)
                )
                rep = estimate_cost(workload, options)
            box["file"] = self.run.save_stage("cost", rep)
            self.results["cost"] = rep.model_dump(mode="json")
            if wf is not None:
                self.results["cost"]["workload_file"] = wf.model_dump(mode="json", exclude={"prices"})
            self.add_facts(rep.policy_facts(), box["file"], "tco")
            label = "workload file" if wf is not None else "illustrative workload"
            box["summary"] = f"cheapest option: {getattr(rep, 'cheapest', '?')} (estimate, {label})"

    def baseline(self) -> None:
        if self.opts.baseline is None:
            return
        from clearance.compare.baseline import baseline_comparison, baseline_facts, resolve_baseline

        with self.stage(
            "baseline",
            "measured",
            "paired tests on the samples shared with the baseline dossier (McNemar exact, Holm)",
            essential=False,
        ) as box:
            base = resolve_baseline(self.opts.baseline, _model_name(self.facts, self.opts.model))
            digest = self.provenance.model.digest if self.provenance.model else None
            comp = baseline_comparison(
                base,
                self.run.path,
                self.results.get("evals") or {},
                model_digest=digest,
                policy_gates=[g.model_dump(mode="json") for g in self.policy.gates],
            )
            box["file"] = self.run.save_stage("baseline", comp)
            self.results["baseline"] = comp.model_dump(mode="json")
            self.add_facts(baseline_facts(comp, base, digest), box["file"], "baseline")
            box["summary"] = (
                f"{len(comp.regressions)} significant regression(s), {len(comp.differences)} metrics paired, "
                f"{len(comp.incomparable)} suite(s) incomparable"
            )

    async def evals(self, client: Any) -> None:
        api = _optional("clearance.evals", "load_suite", "list_suites", "run_suite")
        if api is None:
            self.unavailable("evals", "the evals box is not available in this build")
            return
        load_suite, list_suites, run_suite = api
        from clearance.evals.runner import combined_facts
        from clearance.evals.suite import with_generation

        budget = await self.reasoning(client)
        from clearance.evals.accuracy import shipped_accuracy

        self.results["classifiers"] = {
            k: {"overall": {kk: vv for kk, vv in v["overall"].items() if kk != "errors"}}
            for k, v in shipped_accuracy().items()
        }
        done: list[Any] = []
        names = self.opts.suites
        if names is None:
            shipped = [s["name"] for s in list_suites() if s.get("data") == "shipped"]
            names = [n for n in DEFAULT_SUITES if n in shipped] + [
                n for n in shipped if n not in DEFAULT_SUITES
            ]
        for name in names:
            with self.stage(
                f"eval:{name}",
                "measured",
                "requests to the endpoint, scored per sample, Wilson 95% CI",
                essential=True,
            ) as box:
                suite = load_suite(name)
                suite = cap_max_tokens(suite, self.opts.max_tokens)
                own = suite.generation.max_tokens
                suite = with_generation(
                    suite,
                    max_tokens=own + budget if budget and own is not None else None,
                    chat_template_kwargs=self.opts.chat_template_kwargs,
                )
                model = self.provenance.model
                res = await run_suite(
                    client,
                    suite,
                    self.run.sub("evals", suite.name),
                    limit=self.opts.suite_limits.get(suite.name, self.opts.limit),
                    # start at the asked level per replica; AIMD lowers it on 429/503/timeouts and recovers
                    concurrency=self.opts.eval_concurrency * max(1, len(getattr(client, "urls", [1]))),
                    adaptive=True,
                    progress=self.opts.progress,
                    sample_seed=self.opts.sample_seed,
                    model_digest=model.digest if model is not None else None,
                    endpoint_id=self.endpoint_id,
                    on_mismatch="restart",  # answers from another model or endpoint are never resumed
                )
                if res.n_selected and res.n_completed == 0:
                    first = next(iter(res.errors_by_type), "error")
                    raise VetStageError(f"the endpoint answered none of {res.n_selected} requests ({first})")
                rel = Path(res.metrics_path).resolve().relative_to(self.run.path.resolve()).as_posix()
                box["file"] = rel
                self.results.setdefault("evals", {})[suite.name] = res.model_dump(mode="json")
                self.add_facts(res.policy_facts(), rel, f"evals.{suite.name}")
                done.append(res)
                self.add_facts(combined_facts(done), rel, "evals.incomplete_rate", "evals.n_incomplete")
                self.datasets.append(res.dataset)
                self.provenance.generation[suite.name] = res.generation.model_dump(mode="json")
                if self.provenance.endpoint is None:
                    self.provenance.endpoint = res.endpoint
                self.samples.extend(_failing_views(res, FAILING_SAMPLES_PER_SUITE))
                main = ", ".join(
                    f"{k} {m.value:.3g} [{m.ci_low:.3g}, {m.ci_high:.3g}]"
                    for k, m in list(res.metrics.items())[:3]
                    if m.value is not None
                )
                box["summary"] = f"{res.n_completed}/{res.n_selected} samples; {main}"
                if res.reasoning.n_with_reasoning or res.reasoning.n_incomplete:
                    box["summary"] += f"; {res.reasoning.describe()}"

    def claims(self) -> None:
        """Claimed scores (model card ``model-index`` or ``--claims``) against the measured ones."""
        from clearance.evals.claims import check_claims, claims_from_card, read_claims

        card = (self.results.get("model") or {}).get("card") or {}
        stated = read_claims(self.opts.claims) if self.opts.claims else []
        stated += claims_from_card(card.get("data") if isinstance(card, dict) else None)
        if not stated:
            return
        with self.stage(
            "claims",
            "measured",
            "claimed scores against the measured 95% intervals ± tolerance",
            essential=False,
        ) as box:
            rep = check_claims(stated, self.facts)
            box["file"] = self.run.save_stage("claims", rep)
            self.results["claims"] = rep.model_dump(mode="json")
            self.add_facts(rep.policy_facts(), box["file"], "claims")
            f = rep.policy_facts()
            box["summary"] = (
                f"{f['claims.n_checked']} of {f['claims.n']} claims checked, {f['claims.n_not_reproduced']} not "
                "reproduced" + "".join(f"; {r.reason}" for r in rep.results if r.verdict == "not_reproduced")
            )

    async def reasoning(self, client: Any) -> int:
        """Notice a reasoning model (first answer, chat template); return the reasoning budget per answer."""
        from clearance.evals.probe import DEFAULT_REASONING_BUDGET, probe_reasoning

        budget = self.opts.reasoning_budget or 0
        with self.stage(
            "reasoning",
            "measured",
            "one probe question with room to reason, and the chat template read for reasoning tags",
            essential=False,
        ) as box:
            extra: dict[str, object] = {}
            if self.opts.chat_template_kwargs is not None:
                extra["chat_template_kwargs"] = self.opts.chat_template_kwargs
            probe = await probe_reasoning(client, model=self.opts.model, extra=extra)
            if probe.is_reasoning_model and self.opts.reasoning_budget is None:
                budget = DEFAULT_REASONING_BUDGET
                did = (
                    f"reasoning model noticed ({probe.note}): each suite's max_tokens is raised by a "
                    f"{budget}-token reasoning budget (--reasoning-budget to change); answers are scored "
                    "on the final answer only"
                )
            elif probe.is_reasoning_model:
                did = f"reasoning model ({probe.note}): reasoning budget {budget} tokens as given"
            else:
                did = probe.note + (f"; reasoning budget {budget} tokens as given" if budget else "")
            self.results["reasoning"] = {**probe.model_dump(), "budget": budget, "summary": did}
            box["file"] = self.run.save_stage("reasoning", self.results["reasoning"])
            self.add_facts(
                {"evals.reasoning_budget": budget, "evals.reasoning_detected": probe.is_reasoning_model},
                box["file"],
                "evals.reasoning_budget",
                "evals.reasoning_detected",
            )
            box["summary"] = did
        return budget

    async def load(self, client: Any) -> None:
        api = _optional("clearance.load", "run_loadtest", "LoadConfig")
        if api is None:
            self.unavailable("load", "the load box is not available in this build")
        else:
            run_loadtest, load_config = api
            with self.stage(
                "load",
                "measured",
                f"closed loop, concurrency {self.opts.load_concurrency}, "
                f"{self.opts.load_requests} streamed requests",
                essential=False,
            ) as box:
                cfg = load_config(
                    concurrency=self.opts.load_concurrency,
                    requests=self.opts.load_requests,
                    max_tokens=self.opts.load_max_tokens,
                )
                res = await run_loadtest(client, cfg)
                box["file"] = self.run.save_stage("load", res)
                self.results["load"] = res.model_dump(mode="json")
                self.add_facts(res.policy_facts(), box["file"], "load")
                box["summary"] = _short_facts(res.policy_facts(), ("ttft_p95", "error_rate", "throughput"))
        det = _optional("clearance.load", "probe_determinism")
        if det is None:
            self.unavailable("determinism", "the determinism probe is not available in this build")
            return
        with self.stage(
            "determinism", "measured", "identical greedy requests repeated, answers compared", essential=False
        ) as box:
            res = await det[0](
                client,
                repeats=self.opts.determinism_repeats,
                max_tokens=self.opts.determinism_max_tokens,
                concurrency=self.opts.load_concurrency,
            )
            box["file"] = self.run.save_stage("determinism", res)
            self.results["determinism"] = res.model_dump(mode="json")
            self.add_facts(res.policy_facts(), box["file"], "load.determinism")
            box["summary"] = _short_facts(res.policy_facts(), ("determinism",))

    async def endpoint_stages(self, base_url: str, server: str | None) -> None:
        from clearance.endpoint.pool import ReplicaPool

        urls = [base_url, *self.opts.replicas]
        # the embedded server gets a new port each run; its identity is the model it serves
        self.endpoint_id = (
            " ".join(urls) if server is None else f"{server} serving {Path(self.opts.model).name}"
        )
        async with (
            ReplicaPool(urls, api_key=self.opts.api_key) as client,
            # load and determinism measure faults as they happen: no retries hide a failing request
            ReplicaPool(urls, api_key=self.opts.api_key, max_retries=0) as load_client,
        ):
            with self.stage("endpoint", "measured", "GET /v1/models (every replica)", essential=True) as box:
                models = await client.models()
                served = await client.served_model()
                self.provenance.endpoint = client.endpoint_ref(server)
                self.results["endpoint"] = {
                    "url": client.base_url,
                    "models": models,
                    "server": server,
                    "replicas": client.urls,
                }
                more = f" and {len(urls) - 1} more replicas" if len(urls) > 1 else ""
                box["summary"] = f"{client.base_url}{more} serve {served}"
            await self.evals(client)
            self.claims()
            await self.load(load_client)

    # ---------------------------------------------------------------- the whole run

    def execute(self) -> VetResult:
        self.run.begin()  # locks the run directory: a second run into it stops with one line
        try:
            return self._execute()
        finally:
            self.run.release()

    def _execute(self) -> VetResult:
        self.intake()
        self.scan()
        self.plan()
        self.cost()
        self._run_endpoint_part()
        self.baseline()
        decision = decide(self.policy, self.facts, evidence=self.evidence)
        self.run.save_stage("decision", decision)
        self.provenance.datasets = self.datasets
        self.provenance.finished_at = utc_now()
        title = _title(self.facts.get("model.name"), self.opts.model)
        data = DossierInput(
            title=title,
            decision=decision,
            facts=self.facts,
            stages=self.stages,
            results=self.results,
            provenance=self.provenance,
            failing_samples=self.samples,
        )
        written = write_dossier(self.run.path, data, key=self.opts.key)
        return VetResult(
            out_dir=str(self.run.path),
            decision=decision,
            facts=self.facts,
            stages=self.stages,
            dossier=written,
        )

    def _run_endpoint_part(self) -> None:
        if self.opts.endpoint:
            asyncio.run(self.endpoint_stages(self.opts.endpoint, None))
            return
        model = Path(self.opts.model)
        if not (model.is_file() and model.suffix.lower() == ".gguf"):
            why = "no --endpoint given and MODEL is not a GGUF file the embedded llama.cpp server can serve"
            for name in ("evals", "load"):
                self.skipped(name, why)
            return
        from clearance.endpoint.server import EmbeddedServer

        srv = EmbeddedServer(model_path=model, log_path=self.run.path / "server.log")
        try:
            with self.stage(
                "server", "measured", "python -m llama_cpp.server on 127.0.0.1", essential=True
            ) as box:
                srv.start()
                box["summary"] = f"embedded llama.cpp serving {model.name} at {srv.base_url}"
            asyncio.run(self.endpoint_stages(srv.base_url, "llama.cpp (embedded, llama-cpp-python)"))
        finally:
            srv.stop()


def _model_name(facts: dict[str, Any], model: str) -> str:
    """The model's name for matching hosted APIs of its family (artifact name, else the path's name)."""
    name = facts.get("model.name")
    return str(name) if name else Path(model.rstrip("/")).name


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


def _plan_row(gpu: str, res: Any) -> dict[str, Any]:
    def get(k: str) -> Any:
        return getattr(res, k, None)

    perf = get("performance")
    mem = None
    gi = _optional("clearance.plan.gpus", "get_gpu")
    if gi is not None:
        try:
            mem = gi[0](gpu).memory_bytes
        except ClearanceError:
            mem = None
    return {
        "gpu": gpu,
        "memory_bytes": mem,
        "weights_bytes": get("weights_bytes"),
        "weights_bytes_per_gpu": get("weights_bytes_per_gpu"),
        "kv_bytes_per_token": get("kv_bytes_per_token"),
        "kv_cache_bytes_per_gpu": get("kv_cache_bytes_per_gpu"),
        "kv_cache_tokens": get("kv_cache_tokens"),
        "max_concurrency": get("max_concurrency"),
        "fits": get("fits"),
        "decode_tokens_per_s": getattr(perf, "decode_tokens_per_s", None),
        "ttft_s": getattr(perf, "ttft_s", None),
    }


def _short_facts(facts: dict[str, object], keys: tuple[str, ...]) -> str:
    parts = []
    for k, v in facts.items():
        if any(s in k for s in keys) and ".ci_" not in k and not isinstance(v, dict | list):
            parts.append(
                f"{k.split('.', 1)[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.', 1)[-1]}={v}"
            )
    return ", ".join(parts[:4])


def _failing_views(res: Any, limit: int) -> list[SampleView]:
    wanted = list(res.failing_samples)[:limit]
    if not wanted:
        return []
    records: dict[str, dict[str, Any]] = {}
    try:
        with open(res.samples_path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(rec, dict) and rec.get("id") in wanted:
                    records[str(rec["id"])] = rec
    except OSError:
        return []
    out = []
    for sid in wanted:
        rec = records.get(sid)
        if rec is None:
            continue
        msgs = rec.get("messages") or []
        prompt = next((m.get("content", "") for m in reversed(msgs) if m.get("role") == "user"), "")
        target = rec.get("target")
        scores = rec.get("scores") or {}
        note = (
            "; ".join(
                f"{k}: {v.get('explanation') or v.get('value')}"
                for k, v in scores.items()
                if isinstance(v, dict)
            )[:200]
            or None
        )
        out.append(
            SampleView(
                suite=res.suite,
                sample_id=sid,
                prompt=str(prompt),
                answer=str(rec.get("output") or rec.get("error") or ""),
                expected=(", ".join(map(str, target)) if isinstance(target, list) else target),
                note=note,
                reasoning=rec.get("reasoning"),
                incomplete=rec.get("incomplete"),
            )
        )
    return out


def run_vet(options: VetOptions, *, on_stage: Callable[[StageRecord], None] | None = None) -> VetResult:
    """Run the whole approval pipeline for ``options.model`` and seal a signed dossier; see the module doc."""
    policy = load_policy(options.policy)  # a typo in the policy fails before anything runs
    if not Path(options.model).exists():
        raise InputError(f"model path does not exist: {options.model}")
    if options.key is not None:
        from clearance.signing import load_private_key

        load_private_key(options.key)  # a bad --key fails now, not after an hour of evals
    gpus = _optional("clearance.plan.gpus", "get_gpu")
    if gpus is not None:
        for g in [options.gpu, *options.plan_gpus]:
            gpus[0](g)  # an unknown --gpu is a CatalogError now, naming the known GPUs
    if options.workload is not None:
        from clearance.workload import load_workload

        load_workload(options.workload)  # a malformed workload file fails before anything runs
    if options.baseline is not None and not options.baseline.startswith("registry:"):
        from clearance.compare.evidence import read_dossier

        read_dossier(options.baseline, verify=False, with_samples=False)  # not a dossier: fail now
    if options.limit is not None and options.limit < 1:
        raise InputError(f"--limit must be at least 1, got {options.limit}")
    if options.claims is not None:
        from clearance.evals.claims import read_claims

        read_claims(options.claims)  # a malformed --claims file fails now, not after the evals
    if options.reasoning_budget is not None and options.reasoning_budget < 0:
        raise InputError(f"--reasoning-budget must be at least 0, got {options.reasoning_budget}")
    from clearance.checks import at_least
    from clearance.endpoint import normalize_base_url
    from clearance.outlock import check_out_path

    at_least("--max-tokens", options.max_tokens, 1)
    at_least("--concurrency", options.eval_concurrency, 1)
    if options.endpoint is not None:
        normalize_base_url(options.endpoint)  # a malformed URL fails now, before intake hashes anything
    if options.out is not None:
        check_out_path(options.out)
    if not options.command:
        options = options.model_copy(update={"command": ["clearance", *sys.argv[1:]]})
    return _Pipeline(options, policy, on_stage).execute()


__all__ = ["VetOptions", "VetResult", "VetStageError", "default_out_dir", "run_vet"]
