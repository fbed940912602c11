"""Typed configuration, per-request records and results of a load test.

Metric definitions (client clock ``time.perf_counter``, seconds, following vLLM ``bench serve``):

- **TTFT**: request sent → first SSE chunk carrying generated text (a role-only chunk does not count).
- **ITL**: every gap between consecutive text-bearing chunks, pooled over all requests (per chunk, and a
  chunk may carry more than one token — see ``tokens_per_chunk``).
- **TPOT**: per request ``(t_last_chunk − ttft) / (output_tokens − 1)``, requests with ≥ 2 tokens only;
  ``output_tokens`` from the server's ``usage`` when it sends one, else the number of text chunks
  (``output_token_source`` says which).
- **E2E**: request sent → response complete (``[DONE]``).
- **Throughput**: completed requests (and their output tokens) / duration, where duration runs from
  the first dispatch to the last completion (ramp-up and tail included).
- **Goodput** (vLLM's definition): completed requests meeting every SLO given (TTFT, TPOT, E2E)
  / duration, beside throughput.
- **Warm-up**: ``warmup`` requests sent before the measured run and left out of every metric.
- Open loop: ``send_lag`` = actual send − scheduled send (client lateness; large values mean the client,
  not the server, limited the rate). Latencies are measured from the actual send.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from clearance.endpoint.pool import ReplicaStats
from clearance.errors import InputError
from clearance.evidence import EndpointRef, ToolInfo
from clearance.load.stats import Distribution
from clearance.stats import wilson_interval


class LoadConfig(BaseModel):
    """What to run: closed loop (``concurrency`` in flight) or open loop (``rate`` arrivals per second)."""

    concurrency: int | None = None
    rate: float | None = None
    arrival: Literal["poisson", "constant"] = "poisson"
    requests: int = 100
    duration_s: float | None = None
    max_tokens: int = 64
    prompt_tokens: int = 64
    ignore_eos: bool = False
    seed: int = 0
    temperature: float = 0.0
    grace_s: float = 30.0
    out_dir: Path | None = None
    warmup: int = 0
    tokenizer: str | None = None
    slo_ttft_s: float | None = None
    slo_tpot_s: float | None = None
    slo_e2e_s: float | None = None

    @model_validator(mode="after")
    def _check(self) -> LoadConfig:
        if self.warmup < 0:
            raise InputError(f"warmup must be >= 0, got {self.warmup}", param="warmup")
        for name in ("slo_ttft_s", "slo_tpot_s", "slo_e2e_s"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise InputError(
                    f"goodput SLO {name.removeprefix('slo_').removesuffix('_s')} must be > 0, got {v}"
                )
        if (self.concurrency is None) == (self.rate is None):
            raise InputError("give exactly one of --concurrency (closed loop) or --rate (open loop)")
        if self.concurrency is not None and self.concurrency < 1:
            raise InputError(f"concurrency must be >= 1, got {self.concurrency}", param="concurrency")
        if self.rate is not None and not (math.isfinite(self.rate) and self.rate > 0):
            raise InputError(f"rate must be > 0 requests/s and finite, got {self.rate}", param="rate")
        if self.requests < 1:
            raise InputError(f"requests must be >= 1, got {self.requests}", param="requests")
        if self.duration_s is not None and not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise InputError(
                f"duration_s must be > 0 s and finite, got {self.duration_s}", param="duration_s"
            )
        if not (math.isfinite(self.grace_s) and self.grace_s >= 0):
            raise InputError(f"grace_s must be a finite number >= 0 s, got {self.grace_s}")
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise InputError(
                f"temperature must be a finite number >= 0, got {self.temperature}", param="temperature"
            )
        if self.max_tokens < 1 or self.prompt_tokens < 1:
            raise InputError("--max-tokens and --prompt-tokens must be >= 1")
        return self

    @property
    def mode(self) -> str:
        """``closed`` (fixed concurrency) or ``open`` (fixed arrival rate)."""
        return "closed" if self.concurrency is not None else "open"

    @property
    def slo(self) -> dict[str, float]:
        """The goodput SLOs given (``ttft``, ``tpot``, ``e2e`` in seconds)."""
        out = {"ttft": self.slo_ttft_s, "tpot": self.slo_tpot_s, "e2e": self.slo_e2e_s}
        return {k: v for k, v in out.items() if v is not None}

    def meets_slo(self, rec: RequestRecord) -> bool:
        """vLLM's goodput rule: a completed request meeting every SLO given (a missing value fails)."""
        if not rec.ok:
            return False
        for name, limit in self.slo.items():
            v = rec.ttft_s if name == "ttft" else rec.tpot_s if name == "tpot" else rec.e2e_s
            if name == "tpot" and v is None and (rec.output_tokens or 0) < 2:
                continue  # TPOT is undefined for one-token answers (vLLM skips them too)
            if v is None or v > limit:
                return False
        return True


class PromptTokens(BaseModel):
    """How prompt lengths were made and checked against the server's own ``usage.prompt_tokens``."""

    source: str
    exact: bool
    target: int
    content_target: int | None = None
    template_overhead: int | None = None
    checked: int = 0
    matched: int = 0
    usage_min: int | None = None
    usage_max: int | None = None


class RequestRecord(BaseModel):
    """One request of a load test, as written (one JSON line each) to ``requests.jsonl``."""

    index: int
    scheduled_s: float | None = None
    start_s: float
    send_lag_s: float | None = None
    ttft_s: float | None = None
    e2e_s: float | None = None
    last_chunk_s: float | None = None
    itl_s: list[float] = Field(default_factory=list)
    chunks: int = 0
    output_tokens: int | None = None
    output_token_source: Literal["usage", "chunks"] | None = None
    prompt_tokens: int | None = None
    finish_reason: str | None = None
    error: str | None = None
    error_type: str | None = None
    cancelled: bool = False
    replica: str | None = None
    prompt_tokens_sent: int | None = None

    @property
    def ok(self) -> bool:
        """Completed without error and not cancelled by the run's time limit."""
        return self.error is None and not self.cancelled

    @property
    def tpot_s(self) -> float | None:
        """``(t_last_chunk − ttft) / (output_tokens − 1)`` or ``None`` with fewer than 2 tokens."""
        if (
            self.ttft_s is None
            or self.last_chunk_s is None
            or not self.output_tokens
            or self.output_tokens < 2
        ):
            return None
        return (self.last_chunk_s - self.ttft_s) / (self.output_tokens - 1)


class LoadResult(BaseModel):
    """Measured outcome of one load test, with the metric definitions of this module's docstring."""

    kind: Literal["loadtest"] = "loadtest"
    config: LoadConfig
    endpoint: EndpointRef
    tool: ToolInfo = Field(default_factory=ToolInfo)
    started_at: str
    duration_s: float
    requests_sent: int
    completed: int
    failed: int
    cancelled: int
    error_rate: float
    error_rate_ci: tuple[float, float]
    errors_by_type: dict[str, int]
    first_errors: list[str]
    request_throughput: float
    output_tokens_per_s: float
    output_tokens_total: int
    output_token_source: dict[str, int]
    tokens_per_chunk: float | None
    ttft: Distribution | None
    itl: Distribution | None
    tpot: Distribution | None
    e2e: Distribution | None
    send_lag: Distribution | None = None
    target_rate: float | None = None
    achieved_rate: float | None = None
    scheduled_rate: float | None = None
    records_path: str | None = None
    replicas: list[ReplicaStats] = Field(default_factory=list)
    warmup_requests: int = 0
    workers: int = 1
    prompt: PromptTokens | None = None
    slo: dict[str, float] = Field(default_factory=dict)
    good_requests: int | None = None
    goodput: float | None = None
    measured_how: str = (
        "client-side, time.perf_counter on the load generator host; streaming chat completions; "
        "see clearance.load.records for metric definitions"
    )

    def policy_facts(self) -> dict[str, object]:
        """Flat ``load.*`` facts for policy gates (seconds, rates, requests/s, tokens/s)."""
        facts: dict[str, object] = {
            "load.mode": self.config.mode,
            "load.requests": self.requests_sent,
            "load.completed": self.completed,
            "load.error_rate": self.error_rate,
            "load.error_rate.ci_low": self.error_rate_ci[0],
            "load.error_rate.ci_high": self.error_rate_ci[1],
            "load.requests_per_s": self.request_throughput,
            "load.output_tokens_per_s": self.output_tokens_per_s,
        }
        if self.goodput is not None:
            facts["load.goodput_requests_per_s"] = self.goodput
            good = self.good_requests or 0
            facts["load.goodput_ratio"] = good / self.completed if self.completed else 0.0
            lo, hi = wilson_interval(good, self.completed)
            facts["load.goodput_ratio.ci_low"], facts["load.goodput_ratio.ci_high"] = lo, hi
        if self.prompt is not None and self.prompt.exact:
            facts["load.prompt_tokens_exact_rate"] = (
                self.prompt.matched / self.prompt.checked if self.prompt.checked else 0.0
            )
        if self.config.concurrency is not None:
            facts["load.concurrency"] = self.config.concurrency
        if self.target_rate is not None:
            facts["load.target_rate"] = self.target_rate
            facts["load.achieved_rate"] = self.achieved_rate
        for name in ("ttft", "itl", "tpot", "e2e"):
            dist: Distribution | None = getattr(self, name)
            if dist is None:
                continue
            for q in ("p50", "p90", "p95", "p99"):
                facts[f"load.{name}_{q}_s"] = getattr(dist, q)
            facts[f"load.{name}_mean_s"] = dist.mean
        return facts


def error_rate_with_ci(failed: int, n: int) -> tuple[float, tuple[float, float]]:
    """Error rate and its 95 % Wilson interval."""
    return (failed / n if n else 0.0), wilson_interval(failed, n)
