"""The resumable suite runner: keeps the server's batch full, records each sample as it completes.

Layout of ``out_dir``:

- ``run.json``      identity of the run: what produced the evidence (suite and its digest, dataset ref,
                    generation params, sample selection, tool version, endpoint and the model it served,
                    the model artifact's digest when known). A re-run into the same directory must match
                    it exactly — else one ``InputError`` line, or a fresh start (``restart=True``, or
                    ``on_mismatch="restart"``) — so answers of one model never mix into another's result.
- ``samples.jsonl`` one record per finished sample, appended and flushed as each completes
                    (id, messages, output, target, scores with the rule that fired, latency, usage, error).
- ``metrics.json``  the ``SuiteResult``: metrics with CIs and n, failure counts, evidence refs, timestamps.

Resume: finished sample ids (records without ``error``) are skipped; failed ones are retried; a record
cut short by a kill is dropped. The last record per id wins. The directory is locked while a run
writes it (:class:`clearance.outlock.OutDirLock`): a second run into it stops with one line.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from clearance import __version__
from clearance.endpoint.adaptive import AdaptiveLimit, ConcurrencyRecord
from clearance.endpoint.pool import ReplicaStats
from clearance.endpoint.reasoning import split_answer
from clearance.endpoint.records import ChatRequest, ChatResponse
from clearance.errors import EndpointError, InputError
from clearance.evals.judge import Judge, JudgeSummary, JudgeVerdict, summarize_judgements
from clearance.evals.metrics import MIN_VALID, Outcome, compute_metric
from clearance.evals.sampling import DEFAULT_SEED, SamplingRecord, select_samples
from clearance.evals.scorers import get_scorer
from clearance.evals.suite import Suite
from clearance.evals.types import GenerationParams, MetricValue, Sample, Score
from clearance.evidence import DatasetRef, EndpointRef, ToolInfo, utc_now
from clearance.outlock import OutDirLock, make_dir
from clearance.progress import ProgressArg, open_task

SAMPLES_FILE = "samples.jsonl"
METRICS_FILE = "metrics.json"
RUN_FILE = "run.json"


class ChatClient(Protocol):
    """What the runner needs from ``clearance.endpoint.OpenAIClient``."""

    base_url: str

    async def served_model(self) -> str: ...

    async def chat(self, req: ChatRequest) -> ChatResponse: ...


class SampleRecord(BaseModel):
    """One line of ``samples.jsonl``: what was sent, what came back, how it scored, or the error.

    ``output`` is the final answer (what scorers and the judge see); ``reasoning`` the model's reasoning
    from the engine's field or from tags in the content, ``reasoning_form`` how it came, ``raw_output``
    the content as sent when it differs from ``output``. ``incomplete`` says why there is no final answer
    (cut off before the reasoning closed, reasoning only, empty): such a sample has no scores and counts
    as incomplete — never a refusal, never correct, never unbiased.
    """

    id: str
    messages: list[dict[str, str]]
    target: str | list[str] | None = None
    output: str | None = None
    raw_output: str | None = None
    reasoning: str | None = None
    reasoning_form: str | None = None
    incomplete: str | None = None
    finish_reason: str | None = None
    scores: dict[str, Score] = Field(default_factory=dict)
    latency_s: float | None = None
    usage: dict[str, int] | None = None
    attempts: int | None = None
    error: str | None = None
    error_type: str | None = None
    judge: JudgeVerdict | None = None
    completed_at: str


PREFILLED_NOTE = (
    "cut off by max_tokens with no closing reasoning tag; this model's template pre-fills the opening tag "
    "(other answers in this run close one), so the text is unfinished reasoning"
)


def effective_incomplete(rec: SampleRecord, prefilled: bool) -> str | None:
    """Why ``rec`` has no final answer, or ``None``.

    ``prefilled``: other answers of this run show only a closing reasoning tag (the chat template opens
    the reasoning in the prompt); an answer cut off by ``max_tokens`` with no tag at all is then
    unfinished reasoning too, not an answer.
    """
    if rec.incomplete is not None:
        return rec.incomplete
    if prefilled and rec.reasoning_form is None and rec.finish_reason == "length":
        return PREFILLED_NOTE
    return None


class ReasoningSummary(BaseModel):
    """How the model reasoned in this run: answers with reasoning, the forms seen, incomplete answers."""

    n_with_reasoning: int = 0
    forms: dict[str, int] = Field(default_factory=dict)
    template_prefills_opening_tag: bool = False
    n_incomplete: int = 0
    incomplete_reasons: dict[str, int] = Field(default_factory=dict)

    @property
    def is_reasoning_model(self) -> bool:
        """True when any answer of the run carried reasoning."""
        return self.n_with_reasoning > 0

    def describe(self) -> str:
        """One sentence on what was seen and done (shown by vet and in the report)."""
        if not self.n_with_reasoning and not self.n_incomplete:
            return "no reasoning seen in the answers"
        parts = []
        if self.n_with_reasoning:
            forms = ", ".join(f"{k} {v}" for k, v in sorted(self.forms.items()))
            parts.append(
                f"reasoning model: {self.n_with_reasoning} answers carried reasoning ({forms}); "
                "scored on the final answer only, reasoning kept per sample"
            )
            if self.template_prefills_opening_tag:
                parts.append("the chat template pre-fills the opening reasoning tag")
        if self.n_incomplete:
            parts.append(f"{self.n_incomplete} answers incomplete (never counted as refusal or correct)")
        return "; ".join(parts)


def summarize_reasoning(records: list[SampleRecord]) -> ReasoningSummary:
    """Count reasoning forms and incomplete answers over finished records."""
    forms = Counter(r.reasoning_form for r in records if r.reasoning_form)
    prefilled = forms.get("closing_tag", 0) > 0
    reasons = Counter(why for r in records if (why := effective_incomplete(r, prefilled)) is not None)
    return ReasoningSummary(
        n_with_reasoning=sum(1 for r in records if r.reasoning),
        forms=dict(forms),
        template_prefills_opening_tag=prefilled,
        n_incomplete=sum(reasons.values()),
        incomplete_reasons=dict(reasons),
    )


class SuiteResult(BaseModel):
    """Outcome of one suite run: metrics with CIs, failure counts and the evidence that binds them."""

    suite: str
    description: str = ""
    dataset: DatasetRef
    dataset_notes: list[str] = Field(default_factory=list)
    metrics: dict[str, MetricValue]
    n_selected: int
    n_completed: int
    n_failed: int
    errors_by_type: dict[str, int] = Field(default_factory=dict)
    n_truncated: int = 0
    failing_samples: list[str] = Field(default_factory=list)
    generation: GenerationParams
    endpoint: EndpointRef
    tool: ToolInfo = Field(default_factory=ToolInfo)
    config_digest: str
    scorers: list[dict[str, Any]] = Field(default_factory=list)
    started_at: str
    finished_at: str
    wall_s: float
    new_samples: int
    resumed_samples: int
    samples_path: str
    metrics_path: str
    judge: JudgeSummary | None = None
    reasoning: ReasoningSummary = Field(default_factory=ReasoningSummary)
    incomplete: MetricValue | None = None
    min_valid: int = MIN_VALID
    sampling: SamplingRecord | None = None
    concurrency: ConcurrencyRecord | None = None
    replicas: list[ReplicaStats] = Field(default_factory=list)

    def policy_facts(self) -> dict[str, object]:
        """Flat facts ``evals.<suite>.<metric>`` plus ``.ci_low``, ``.ci_high``, ``.n``; and failure counts.

        A metric over too few valid answers publishes ``None`` for its value and bounds (not measured),
        so no gate can pass on it; ``.n_incomplete`` and ``.incomplete_rate`` say how many answers it
        could not judge. ``incomplete_rate`` (with bounds) is the suite's share of incomplete answers.
        """
        p = f"evals.{self.suite}"
        facts: dict[str, object] = {
            f"{p}.n_selected": self.n_selected,
            f"{p}.n_completed": self.n_completed,
            f"{p}.n_failed": self.n_failed,
            f"{p}.failure_rate": (self.n_failed / self.n_selected) if self.n_selected else 0.0,
            f"{p}.n_incomplete": self.reasoning.n_incomplete,
            f"{p}.n_valid": self.n_completed - self.reasoning.n_incomplete,
            f"{p}.reasoning_model": self.reasoning.is_reasoning_model,
        }
        if self.incomplete is not None:
            facts[f"{p}.incomplete_rate"] = self.incomplete.value
            facts[f"{p}.incomplete_rate.ci_low"] = self.incomplete.ci_low
            facts[f"{p}.incomplete_rate.ci_high"] = self.incomplete.ci_high
            facts[f"{p}.incomplete_rate.n"] = self.incomplete.n
            facts[f"{p}.incomplete_rate.method"] = self.incomplete.method
        for name, m in self.metrics.items():
            facts[f"{p}.{name}"] = m.value if m.measured else None
            facts[f"{p}.{name}.ci_low"] = m.ci_low if m.measured else None
            facts[f"{p}.{name}.ci_high"] = m.ci_high if m.measured else None
            facts[f"{p}.{name}.n"] = m.n
            facts[f"{p}.{name}.method"] = m.method
            facts[f"{p}.{name}.n_incomplete"] = m.n_incomplete + m.n_invalid
            facts[f"{p}.{name}.incomplete_rate"] = m.incomplete_share
        if self.judge is not None:
            facts.update(self.judge.policy_facts(p))
        return facts


# ---------------------------------------------------------------- records on disk


def read_records(path: Path) -> dict[str, SampleRecord]:
    """Last record per sample id from ``samples.jsonl``; a torn final line (killed mid-write) is cut off."""
    if not path.is_file():
        return {}
    raw = path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        cut = raw.rfind(b"\n") + 1
        with path.open("r+b") as f:
            f.truncate(cut)
        raw = raw[:cut]
    out: dict[str, SampleRecord] = {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; use --restart or another --out") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = SampleRecord.model_validate_json(line)
        except ValueError:
            raise InputError(
                f"{path}:{lineno}: not a sample record; use --restart or another --out"
            ) from None
        out[rec.id] = rec
    return out


DEFAULT_SAMPLING: dict[str, Any] = {"method": "first-n"}

# identity key -> how the one-line mismatch error names it
_IDENTITY_LABELS = {
    "suite": "suite",
    "config_digest": "suite/dataset digest",
    "generation": "generation settings",
    "sampling": "sample selection",
    "tool_version": "clearance version",
    "endpoint": "endpoint",
    "served_model": "served model",
    "model_digest": "model artifact digest",
}


def run_identity(
    suite: Suite,
    *,
    endpoint: str,
    served_model: str,
    model_digest: str | None = None,
    sampling: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything that produced a suite's answers; records are resumed only under an identical identity."""
    return {
        "suite": suite.name,
        "config_digest": suite.config_digest(),
        "dataset": suite.dataset.ref.model_dump(),
        "generation": suite.generation.model_dump(),
        "sampling": dict(sampling or DEFAULT_SAMPLING),
        "tool_version": __version__,
        "endpoint": endpoint,
        "served_model": served_model,
        "model_digest": model_digest,
    }


def identity_mismatch(run_path: Path, ident: dict[str, Any]) -> str | None:
    """None when ``run_path`` records the same identity; else one line naming what differs."""
    try:
        old = json.loads(run_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return f"{run_path}: unreadable run record"
    if not isinstance(old, dict):
        return f"{run_path}: unreadable run record"
    diffs = [key for key in _IDENTITY_LABELS if old.get(key) != ident[key]]
    if not diffs:
        return None
    key = diffs[0]
    first = f"earlier answers came from {_IDENTITY_LABELS[key]} {_short(old.get(key))}, this run has {_short(ident[key])}"
    more = (
        f" (and {len(diffs) - 1} more: {', '.join(_IDENTITY_LABELS[k] for k in diffs[1:])})"
        if len(diffs) > 1
        else ""
    )
    return f"{run_path.parent}: {first}{more}"


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------- scoring


def score_sample(suite: Suite, sample: Sample, output: str) -> dict[str, Score]:
    """Run every scorer of the suite on one output."""
    return {s.name: get_scorer(s.scorer).fn(sample, output, **s.params) for s in suite.scorers}


def summarize(
    suite: Suite, records: dict[str, SampleRecord], selected: list[Sample]
) -> tuple[dict[str, MetricValue], list[str], int]:
    """Metrics over the selected samples' finished records; also failing sample ids and truncation count.

    Incomplete answers are passed to metrics marked as such (counted, never judged) and listed among
    the failing samples, so a reviewer sees them.
    """
    by_id = {s.id: s for s in selected}
    finished = [r for r in records.values() if r.id in by_id and r.error is None]
    prefilled = any(r.reasoning_form == "closing_tag" for r in finished)
    outcomes = [
        Outcome(
            id=r.id,
            metadata=by_id[r.id].metadata,
            scores=r.scores,
            incomplete=effective_incomplete(r, prefilled),
        )
        for r in finished
    ]
    metrics = {
        m.name: compute_metric(
            m.name,
            m.metric,
            outcomes,
            scorer=m.scorer,
            where=m.where,
            confidence=suite.confidence,
            params=m.params,
            min_valid=suite.min_valid,
        )
        for m in suite.metrics
    }
    failing = sorted(o.id for o in outcomes if o.incomplete is not None or suite.is_failing(o.scores))
    truncated = sum(1 for r in records.values() if r.id in by_id and r.finish_reason == "length")
    return metrics, failing, truncated


# ---------------------------------------------------------------- the run


async def run_suite(
    client: ChatClient,
    suite: Suite,
    out_dir: str | Path,
    *,
    limit: int | None = None,
    concurrency: int = 8,
    progress: ProgressArg = True,
    restart: bool = False,
    judge: Judge | None = None,
    sample_seed: int | None = None,
    max_concurrency: int | None = None,
    adaptive: bool = False,
    model_digest: str | None = None,
    endpoint_id: str | None = None,
    sampling: dict[str, Any] | None = None,
    on_mismatch: Literal["stop", "restart"] = "stop",
) -> SuiteResult:
    """Run ``suite`` against ``client`` into ``out_dir`` (resuming what is there) and return the result.

    Earlier records in ``out_dir`` are resumed only when the run identity (:func:`run_identity`:
    suite, generation, sample selection, tool version, endpoint — ``endpoint_id`` or the client's URL —,
    served model and ``model_digest``) is identical; otherwise the run stops with one ``InputError``
    line (``on_mismatch="stop"``) or discards them and starts fresh (``"restart"``, as ``restart=True``
    always does). ``out_dir`` is locked for the duration of the run.

    With ``judge``, every answer is also classified by the judge model (recorded per sample next to the
    pattern verdict); finished samples of an earlier run that lack this judge's verdict are judged from
    their stored answer, without asking the evaluated model again.

    ``concurrency`` requests are kept in flight; with ``adaptive`` the level moves between 1 and
    ``max_concurrency`` by AIMD (:mod:`clearance.endpoint.adaptive`), and the record of how it moved is
    kept in the result. A :class:`~clearance.endpoint.pool.ReplicaPool` client spreads the requests over
    its replicas; their per-replica counts are kept too.
    """
    if concurrency < 1:
        raise InputError(f"concurrency must be at least 1, got {concurrency}")
    if limit is not None and limit < 0:
        raise InputError(f"limit must be >= 0, got {limit}")
    out = Path(out_dir)
    make_dir(out)
    with OutDirLock(out):
        return await _run_locked(
            client,
            suite,
            out,
            limit=limit,
            concurrency=concurrency,
            progress=progress,
            restart=restart,
            judge=judge,
            max_concurrency=max_concurrency,
            adaptive=adaptive,
            model_digest=model_digest,
            endpoint_id=endpoint_id,
            sampling=sampling,
            on_mismatch=on_mismatch,
            sample_seed=sample_seed,
        )


async def _run_locked(
    client: ChatClient,
    suite: Suite,
    out: Path,
    *,
    limit: int | None,
    concurrency: int,
    progress: ProgressArg,
    restart: bool,
    judge: Judge | None,
    max_concurrency: int | None,
    adaptive: bool,
    model_digest: str | None,
    endpoint_id: str | None,
    sampling: dict[str, Any] | None,
    on_mismatch: Literal["stop", "restart"],
    sample_seed: int | None = None,
) -> SuiteResult:
    selected, selection = select_samples(suite.dataset.samples, limit, plan=suite.sampling, seed=sample_seed)
    if sampling is None:
        # What decides which samples a limit selects (the limit itself does not: draws are nested, so a
        # resumed run with a larger --limit keeps the answers it has).
        sampling = {
            "method": "stratified-nested",
            "seed": DEFAULT_SEED if sample_seed is None else sample_seed,
            "strata": list(suite.sampling.strata),
            "group": suite.sampling.group,
        }
    limiter = AdaptiveLimit(concurrency, maximum=max_concurrency, adaptive=adaptive)
    listen = getattr(client, "add_pressure_listener", None)
    pool_mark = client.mark() if hasattr(client, "mark") else None
    started_at, t0 = utc_now(), time.perf_counter()
    served = await client.served_model()
    ident = run_identity(
        suite,
        endpoint=endpoint_id or " ".join(getattr(client, "urls", None) or [client.base_url]),
        served_model=served,
        model_digest=model_digest,
        sampling=sampling,
    )
    run_path, samples_path, metrics_path = out / RUN_FILE, out / SAMPLES_FILE, out / METRICS_FILE
    if not restart and run_path.is_file():
        why = identity_mismatch(run_path, ident)
        if why is not None and on_mismatch == "stop":
            raise InputError(
                f"{why}; results would mix — use --restart to discard them or choose another --out"
            )
        restart = why is not None
    elif not restart and samples_path.is_file() and samples_path.stat().st_size:
        if on_mismatch == "stop":
            raise InputError(f"{out}: holds {SAMPLES_FILE} but no {RUN_FILE}; use --restart or another --out")
        restart = True
    if restart:
        for f in (samples_path, metrics_path, run_path):
            f.unlink(missing_ok=True)
    _write_atomic(
        run_path,
        json.dumps({**ident, "created_at": started_at, "selection": selection.model_dump()}, indent=2),
    )

    records = read_records(samples_path)
    done = {i for i, r in records.items() if r.error is None}
    todo = [s for s in selected if s.id not in done]
    resumed = len(selected) - len(todo)
    judge_model = await judge.model_name() if judge is not None else None
    rejudge = [
        s
        for s in selected
        if judge is not None
        and s.id in done
        and records[s.id].incomplete is None
        and (
            records[s.id].judge is None
            or records[s.id].judge.model != judge_model  # type: ignore[union-attr]
            or records[s.id].judge.error is not None  # type: ignore[union-attr]
        )
    ]
    jobs: list[tuple[Sample, bool]] = [(s, False) for s in todo] + [(s, True) for s in rejudge]

    gen = suite.generation
    it: Iterator[tuple[Sample, bool]] = iter(jobs)
    with (
        samples_path.open("a", encoding="utf-8") as sink,
        _Progress(progress, suite.name, len(selected), resumed) as bar,
    ):

        async def worker() -> None:
            for sample, judge_only in it:
                if judge_only:
                    assert judge is not None
                    old = records[sample.id]
                    if old.incomplete is not None:
                        continue
                    rejudged = await judge.classify(_last_user(old.messages), old.output or "")
                    rec = old.model_copy(update={"judge": rejudged})
                    sink.write(rec.model_dump_json(exclude_none=True) + "\n")
                    sink.flush()
                    records[sample.id] = rec
                    continue
                msgs = suite.messages(sample)
                req = ChatRequest(
                    messages=msgs,
                    max_tokens=gen.max_tokens,
                    temperature=gen.temperature,
                    top_p=gen.top_p,
                    seed=gen.seed,
                    stop=gen.stop,
                    extra=gen.request_extra(),
                )
                try:
                    async with limiter.slot():
                        resp = await client.chat(req)
                except EndpointError as exc:
                    rec = SampleRecord(
                        id=sample.id,
                        messages=msgs,
                        target=sample.target,
                        error=str(exc),
                        error_type=type(exc).__name__,
                        completed_at=utc_now(),
                    )
                else:
                    rec = await _answer_record(suite, sample, msgs, resp, judge)
                sink.write(rec.model_dump_json(exclude_none=True) + "\n")
                sink.flush()
                records[sample.id] = rec
                bar.advance(rec.error is not None)

        if listen is not None:
            listen(limiter.pressure)
        workers = [asyncio.create_task(worker()) for _ in range(min(limiter.maximum, max(1, len(jobs))))]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if listen is not None:
                client.remove_pressure_listener(limiter.pressure)  # type: ignore[attr-defined]

    metrics, failing, truncated = summarize(suite, records, selected)
    sel_ids = {s.id for s in selected}
    reasoning = summarize_reasoning([r for r in records.values() if r.id in sel_ids and r.error is None])
    errors = Counter(
        r.error_type or "error" for r in records.values() if r.id in sel_ids and r.error is not None
    )
    n_failed = sum(errors.values())
    judge_summary = None
    if judge is not None:
        verdicts = [
            r.judge
            for r in records.values()
            if r.id in sel_ids and r.error is None and r.judge is not None and r.judge.model == judge_model
        ]
        judge_summary = summarize_judgements(
            verdicts,
            EndpointRef(url=judge.client.base_url, served_model=str(judge_model)),
            confidence=suite.confidence,
        )
    result = SuiteResult(
        suite=suite.name,
        description=suite.description,
        dataset=suite.dataset.ref,
        dataset_notes=suite.dataset.notes,
        metrics=metrics,
        n_selected=len(selected),
        n_completed=len(selected) - n_failed,
        n_failed=n_failed,
        errors_by_type=dict(errors),
        n_truncated=truncated,
        failing_samples=failing[:200],
        generation=gen,
        endpoint=(
            client.endpoint_ref()
            if hasattr(client, "endpoint_ref")
            else EndpointRef(url=client.base_url, served_model=served)
        ),
        config_digest=ident["config_digest"],
        scorers=[s.model_dump() for s in suite.scorers],
        started_at=started_at,
        finished_at=utc_now(),
        wall_s=round(time.perf_counter() - t0, 3),
        new_samples=len(todo),
        resumed_samples=resumed,
        samples_path=str(samples_path.resolve()),
        metrics_path=str(metrics_path.resolve()),
        judge=judge_summary,
        reasoning=reasoning,
        incomplete=MetricValue.proportion(
            reasoning.n_incomplete,
            len(selected) - n_failed,
            confidence=suite.confidence,
            description="share of answers with no final answer (cut off while reasoning, reasoning only, empty)",
        ),
        min_valid=suite.min_valid,
        sampling=selection,
        concurrency=limiter.record,
        replicas=client.stats(since=pool_mark) if pool_mark is not None else [],  # type: ignore[attr-defined]
    )
    _write_atomic(metrics_path, result.model_dump_json(indent=2))
    return result


def combined_facts(results: list[SuiteResult], confidence: float = 0.95) -> dict[str, object]:
    """Facts over every suite of a run: ``evals.incomplete_rate`` (with Wilson bounds) and ``evals.n_incomplete``.

    The share of answered samples, across all suites, that had no final answer (cut off while reasoning,
    reasoning only, empty); the default policy gates its upper bound.
    """
    answered = sum(r.n_completed for r in results)
    incomplete = sum(r.reasoning.n_incomplete for r in results)
    m = MetricValue.proportion(incomplete, answered, confidence=confidence)
    return {
        "evals.incomplete_rate": m.value,
        "evals.incomplete_rate.ci_low": m.ci_low,
        "evals.incomplete_rate.ci_high": m.ci_high,
        "evals.incomplete_rate.n": m.n,
        "evals.incomplete_rate.method": m.method,
        "evals.n_incomplete": incomplete,
        "evals.reasoning_model": any(r.reasoning.is_reasoning_model for r in results),
    }


async def _answer_record(
    suite: Suite, sample: Sample, msgs: list[dict[str, str]], resp: ChatResponse, judge: Judge | None
) -> SampleRecord:
    """The record of one answered request: the final answer scored, or an incomplete answer kept unscored.

    The reasoning (an engine field, or tags in the content) is split off and kept; scorers and the judge
    see the final answer only. An answer with none (cut off while reasoning, reasoning only, empty) is
    ``incomplete``: a finished outcome, not an error — never scored, never re-asked on resume.
    """
    ans = split_answer(resp.text, resp.reasoning, resp.finish_reason)
    verdict = (
        await judge.classify(_last_user(msgs), ans.final) if judge is not None and ans.complete else None
    )
    return SampleRecord(
        id=sample.id,
        messages=msgs,
        target=sample.target,
        output=ans.final,
        raw_output=resp.text if resp.text.strip() != ans.final else None,
        reasoning=ans.reasoning,
        reasoning_form=ans.form if ans.form != "none" else None,
        incomplete=ans.incomplete,
        finish_reason=resp.finish_reason,
        scores=score_sample(suite, sample, ans.final) if ans.complete else {},
        latency_s=round(resp.latency_s, 6),
        usage=resp.usage.model_dump() if resp.usage else None,
        attempts=resp.attempts,
        judge=verdict,
        completed_at=utc_now(),
    )


def _last_user(messages: list[dict[str, str]]) -> str:
    """The last user message of a chat (what the judge sees as the request)."""
    return next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")


class _Progress:
    """Evaluation progress events (samples done, failed) for the caller's sink (``clearance.progress``)."""

    def __init__(self, progress: ProgressArg, name: str, total: int, done: int) -> None:
        self.failed = 0
        self.task = open_task(
            progress, f"eval {name}", total, completed=done, fields={"failed": 0}, transient=False
        )

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.task.close()

    def advance(self, failed: bool) -> None:
        """One sample finished (``failed`` if it ended in an error)."""
        self.failed += int(failed)
        self.task.advance(1, failed=self.failed)
