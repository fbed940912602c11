"""Plan: memory and speed estimates of the model on the chosen GPU and a few others."""

from __future__ import annotations

from pydantic import BaseModel

from clearance.dossier.records import StageKind
from clearance.errors import ClearanceError
from clearance.plan import PlanOptions, PlanResult, load_spec, plan
from clearance.plan.gpus import get_gpu
from clearance.stages.base import StageContext, StageOutcome


class PlanRow(BaseModel):
    """One GPU's plan, as the report's table shows it."""

    gpu: str
    memory_bytes: int | None
    weights_bytes: int
    weights_bytes_per_gpu: int
    kv_bytes_per_token: int
    kv_cache_bytes_per_gpu: int
    kv_cache_tokens: int
    max_concurrency: float
    fits: bool
    decode_tokens_per_s: float
    ttft_s: float

    @classmethod
    def of(cls, gpu: str, res: PlanResult) -> PlanRow:
        try:
            mem: int | None = get_gpu(gpu).memory_bytes
        except ClearanceError:
            mem = None
        return cls(
            gpu=gpu,
            memory_bytes=mem,
            weights_bytes=res.weights_bytes,
            weights_bytes_per_gpu=res.weights_bytes_per_gpu,
            kv_bytes_per_token=res.kv_bytes_per_token,
            kv_cache_bytes_per_gpu=res.kv_cache_bytes_per_gpu,
            kv_cache_tokens=res.kv_cache_tokens,
            max_concurrency=res.max_concurrency,
            fits=res.fits,
            decode_tokens_per_s=res.performance.decode_tokens_per_s,
            ttft_s=res.performance.ttft_s,
        )


class PlanComparison(BaseModel):
    """The chosen GPU's full plan and one row per compared GPU."""

    gpu: str
    assumptions: list[str]
    rows: list[PlanRow]
    chosen: PlanResult | None


class PlanStage:
    name: str = "plan"
    kind: StageKind = "estimated"
    method: str = "memory formula from the architecture (weights + KV cache per token)"
    essential: bool = False

    def run(self, ctx: StageContext) -> StageOutcome[PlanComparison]:
        opts = ctx.opts
        spec = load_spec(opts.model)
        rows: list[PlanRow] = []
        chosen: PlanResult | None = None
        gpus = [opts.gpu] + [g for g in opts.plan_gpus if g.lower() != opts.gpu.lower()]
        for g in gpus:
            res = plan(spec, PlanOptions(gpu=g))
            if g == opts.gpu:
                chosen = res
            rows.append(PlanRow.of(g, res))
        result = PlanComparison(
            gpu=opts.gpu,
            assumptions=["estimate, not measured", "engine vllm defaults", "gpu_memory_utilization 0.9"],
            rows=rows,
            chosen=chosen,
        )
        fits = [r.gpu for r in rows if r.fits]
        return StageOutcome(
            result,
            summary=f"fits on {', '.join(fits) or 'none of ' + ', '.join(gpus)} (estimate)",
            facts=chosen.policy_facts() if chosen is not None else {},
            evidence=("plan",) if chosen is not None else (),
            save_as="plan",
            results_key=("plan",),
        )
