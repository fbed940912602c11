"""Evals: one stage per suite; requests to the endpoint, scored per sample, metrics with Wilson CIs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clearance.dossier import SampleView
from clearance.dossier.records import StageKind
from clearance.evals import SuiteResult, list_suites, load_suite, run_suite
from clearance.evals.runner import combined_facts
from clearance.evals.suite import with_generation
from clearance.stages.base import StageContext, StageOutcome, VetStageError, cap_max_tokens
from clearance.stages.reasoning import reasoning_budget

DEFAULT_SUITES = ["capability-basic", "safety-refusal"]
FAILING_SAMPLES_PER_SUITE = 25


def default_suites() -> list[str]:
    """The shipped suites whose data ships too: the two basic ones first, then the rest."""
    shipped = [s["name"] for s in list_suites() if s.get("data") == "shipped"]
    return [n for n in DEFAULT_SUITES if n in shipped] + [n for n in shipped if n not in DEFAULT_SUITES]


class EvalStage:
    kind: StageKind = "measured"
    method: str = "requests to the endpoint, scored per sample, Wilson 95% CI"
    essential: bool = True

    def __init__(self, suite: str, data: str | None = None) -> None:
        self.suite = suite
        self.data = data  # a public dataset's local path (``vet --datasets DIR``)
        self.name = f"eval:{suite}"

    def run(self, ctx: StageContext) -> StageOutcome[SuiteResult]:
        opts = ctx.opts
        suite = cap_max_tokens(load_suite(self.suite, data=self.data), opts.max_tokens)
        budget = reasoning_budget(ctx)
        own = suite.generation.max_tokens
        suite = with_generation(
            suite,
            max_tokens=own + budget if budget and own is not None else None,
            chat_template_kwargs=opts.chat_template_kwargs,
        )
        model = ctx.provenance.model
        judge = None
        if opts.judge is not None:
            from clearance.endpoint import OpenAIClient
            from clearance.evals import Judge

            jclient = OpenAIClient(opts.judge, api_key=opts.api_key)
            ctx.exits.callback(lambda: ctx.wait(jclient.aclose()))
            judge = Judge(jclient, model=opts.judge_model)
        res = ctx.wait(
            run_suite(
                ctx.require_client(),
                suite,
                ctx.run.sub("evals", suite.name),
                limit=opts.suite_limits.get(suite.name, opts.limit),
                # start at the asked level per replica; AIMD lowers it on 429/503/timeouts and recovers
                concurrency=opts.eval_concurrency * max(1, len(ctx.require_client().urls)),
                adaptive=True,
                progress=opts.progress,
                sample_seed=opts.sample_seed,
                judge=judge,
                model_digest=model.digest if model is not None else None,
                endpoint_id=ctx.endpoint_id,
                on_mismatch="restart",  # answers from another model or endpoint are never resumed
            )
        )
        if res.n_selected and res.n_completed == 0:
            first = next(iter(res.errors_by_type), "error")
            raise VetStageError(f"the endpoint answered none of {res.n_selected} requests ({first})")
        rel = Path(res.metrics_path).resolve().relative_to(ctx.run.path.resolve()).as_posix()
        ctx.datasets.append(res.dataset)
        ctx.provenance.generation[suite.name] = res.generation.model_dump(mode="json")
        if ctx.provenance.endpoint is None:
            ctx.provenance.endpoint = res.endpoint
        ctx.samples.extend(failing_views(res, FAILING_SAMPLES_PER_SUITE))
        main = ", ".join(
            f"{k} {m.value:.3g} [{m.ci_low:.3g}, {m.ci_high:.3g}]"
            for k, m in list(res.metrics.items())[:3]
            if m.value is not None
        )
        summary = f"{res.n_completed}/{res.n_selected} samples; {main}"
        if res.reasoning.n_with_reasoning or res.reasoning.n_incomplete:
            summary += f"; {res.reasoning.describe()}"
        earlier = [
            SuiteResult.model_validate(v)
            for k, v in (ctx.results.get("evals") or {}).items()
            if k != suite.name and isinstance(v, dict)
        ]
        return StageOutcome(
            res,
            summary=summary,
            facts={**res.policy_facts(), **combined_facts([*earlier, res])},
            evidence=(
                f"evals.{suite.name}",
                "evals.incomplete_rate",
                "evals.n_incomplete",
                "evals.reasoning_model",
            ),
            file=rel,
            results_key=("evals", suite.name),
        )


def failing_views(res: SuiteResult, limit: int) -> list[SampleView]:
    """Up to ``limit`` failing samples of a suite as the report shows them (prompt, answer, expected)."""
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
