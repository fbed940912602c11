"""Replica capacity from the planner: the GPUs its fit needs, and throughput at the latency target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clearance.errors import InputError
from clearance.tco.capacity import Capacity
from clearance.tco.workload import Workload

GPU_COUNTS = (1, 2, 4, 8, 16)


def from_plan(
    model: str | Path | Any,
    gpu: str,
    workload: Workload,
    *,
    gpus: int | None = None,
    ttft_target_s: float = 2.0,
    itl_target_s: float = 0.05,
    engine: str = "vllm",
    weights_dtype: str | None = None,
    kv_dtype: str | None = None,
    max_model_len: int | None = None,
) -> Capacity:
    """Ask the planner for the smallest GPU count that fits, then the highest concurrency whose
    estimated TTFT and inter-token latency still meet the targets; throughput is taken there, not at
    the peak (``max_model_len``: the context each sequence must hold, default the mean request's
    length). ``model`` is anything ``clearance.plan.load_spec`` accepts, or a loaded ``ModelSpec``."""
    from clearance.plan import PlanOptions, load_spec, plan

    if ttft_target_s <= 0 or itl_target_s <= 0:
        raise InputError("latency targets must be > 0 seconds")
    spec = load_spec(model) if isinstance(model, str | Path) else model
    max_len = max_model_len or max(256, workload.tokens_per_request)

    def run(n: int, concurrency: int) -> Any:
        opts = PlanOptions(
            gpu=gpu,
            gpus=n,
            engine=engine,
            weights_dtype=weights_dtype,
            kv_dtype=kv_dtype,
            max_model_len=max_len,
            concurrency=concurrency,
            prompt_tokens=max(1, workload.input_tokens),
            output_tokens=workload.generated_tokens,
        )
        return plan(spec, opts)

    counts = [gpus] if gpus else list(GPU_COUNTS)
    chosen = None
    for n in counts:
        first = run(n, 1)
        if first.fits:
            chosen = (n, first)
            break
    if chosen is None:
        raise InputError(
            f"{getattr(spec, 'name', model)} does not fit on {counts[-1]} × {gpu} at {max_len} tokens of context; "
            "try a bigger GPU, more GPUs, or lower-precision weights"
        )
    n, first = chosen
    limit = max(1, int(first.max_concurrency))

    def meets(c: int) -> tuple[bool, Any]:
        res = run(n, c)
        perf = res.performance
        ok = (
            bool(res.fits)
            and perf.decode_tokens_per_s > 0
            and perf.ttft_s <= ttft_target_s
            and 1.0 / perf.decode_tokens_per_s <= itl_target_s
        )
        return ok, res

    ok1, best_res = meets(1)
    best = 1
    if ok1:
        lo, hi = 1, None
        c = 2
        while c <= limit:
            ok, res = meets(c)
            if not ok:
                hi = c
                break
            lo, best_res = c, res
            c *= 2
        if hi is None:
            hi = limit + 1
            if lo < limit:
                ok, res = meets(limit)
                if ok:
                    lo, best_res = limit, res
        while hi - lo > 1:
            mid = (lo + hi) // 2
            ok, res = meets(mid)
            if ok:
                lo, best_res = mid, res
            else:
                hi = mid
        best = lo
    perf = best_res.performance
    seconds_per_request = perf.ttft_s + workload.generated_tokens / perf.decode_tokens_per_s
    rps = best / seconds_per_request
    met = "meets" if ok1 else "cannot meet even at concurrency 1;"
    method = (
        f"{n} × {gpu} ({engine}), concurrency {best} {met} TTFT <= {ttft_target_s:g} s and "
        f"ITL <= {itl_target_s * 1000:g} ms; per request {perf.ttft_s:.3f} s TTFT + "
        f"{workload.generated_tokens} tokens at {perf.decode_tokens_per_s:.1f} tok/s"
    )
    return Capacity(
        gpus_per_replica=n,
        tokens_per_s=rps * workload.generated_tokens,
        source="planner estimate",
        method=method,
        concurrency=best,
    )


def from_goodput(
    goodput_requests_per_s: float,
    workload: Workload,
    *,
    replicas: int = 1,
    gpus_per_replica: int = 1,
    slo: dict[str, float] | None = None,
) -> Capacity:
    """Replica capacity from a measured load test: goodput (requests/s meeting every SLO, vLLM's
    definition) over ``replicas`` replicas, as generated tokens/s of one replica for ``workload``'s
    request shape. Throughput past the SLO does not count — only what users would accept."""
    if replicas < 1:
        raise InputError(f"replicas must be >= 1, got {replicas}")
    if not goodput_requests_per_s > 0:
        raise InputError("no request met the SLO in the load test: measured goodput is 0")
    per_replica = goodput_requests_per_s / replicas
    slo_text = ", ".join(f"{k} <= {v * 1000:g} ms" for k, v in (slo or {}).items()) or "no SLO given"
    return Capacity(
        gpus_per_replica=gpus_per_replica,
        tokens_per_s=per_replica * workload.generated_tokens,
        source="measured",
        method=(
            f"measured goodput {goodput_requests_per_s:.3g} req/s ({slo_text}) over {replicas} replica(s) = "
            f"{per_replica:.3g} req/s per replica x {workload.generated_tokens} generated tokens per request"
        ),
    )
