"""Reasoning: notice a reasoning model (one probe answer, the chat template) and set each suite's reasoning budget."""

from __future__ import annotations

from pydantic import BaseModel

from clearance.dossier.records import StageKind
from clearance.evals.accuracy import shipped_accuracy
from clearance.evals.probe import DEFAULT_REASONING_BUDGET, ReasoningProbe, probe_reasoning
from clearance.stages.base import StageContext, StageOutcome


class ReasoningDecision(BaseModel):
    """What the probe found and what vet did about it: the reasoning budget added to each suite's answer length."""

    probe: ReasoningProbe
    budget: int
    summary: str


def reasoning_budget(ctx: StageContext) -> int:
    """The budget the reasoning stage settled on (the ``--reasoning-budget`` given, else 0 before it ran)."""
    rec = ctx.results.get("reasoning")
    if isinstance(rec, dict) and isinstance(rec.get("budget"), int):
        return int(rec["budget"])
    return ctx.opts.reasoning_budget or 0


class ReasoningStage:
    name: str = "reasoning"
    kind: StageKind = "measured"
    method: str = "one probe question with room to reason, and the chat template read for reasoning tags"
    essential: bool = False

    def run(self, ctx: StageContext) -> StageOutcome[ReasoningDecision]:
        opts = ctx.opts
        # every dossier states how accurate the offline classifiers behind its rates were measured to be
        ctx.results["classifiers"] = {
            k: {"overall": {kk: vv for kk, vv in v["overall"].items() if kk != "errors"}}
            for k, v in shipped_accuracy().items()
        }
        extra: dict[str, object] = {}
        if opts.chat_template_kwargs is not None:
            extra["chat_template_kwargs"] = opts.chat_template_kwargs
        probe = ctx.wait(probe_reasoning(ctx.require_client(), model=opts.model, extra=extra))
        budget = opts.reasoning_budget or 0
        if probe.is_reasoning_model and opts.reasoning_budget is None:
            budget = DEFAULT_REASONING_BUDGET
            did = (
                f"reasoning model noticed ({probe.note}): each suite's max_tokens is raised by a "
                f"{budget}-token reasoning budget (--reasoning-budget to change); answers are scored on "
                "the final answer only"
            )
        elif probe.is_reasoning_model:
            did = f"reasoning model ({probe.note}): reasoning budget {budget} tokens as given"
        else:
            did = probe.note + (f"; reasoning budget {budget} tokens as given" if budget else "")
        return StageOutcome(
            ReasoningDecision(probe=probe, budget=budget, summary=did),
            summary=did,
            facts={"evals.reasoning_budget": budget, "evals.reasoning_detected": probe.is_reasoning_model},
            evidence=("evals.reasoning_budget", "evals.reasoning_detected"),
            save_as="reasoning",
            results_key=("reasoning",),
        )
