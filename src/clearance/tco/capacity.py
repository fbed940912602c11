"""Serving capacity of one model replica, and the fleet a workload needs at peak."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, model_validator

from clearance.errors import InputError
from clearance.tco.workload import Workload

CapacitySource = Literal["planner estimate", "measured", "user"]


class Capacity(BaseModel):
    """One replica: its GPUs and the generated tokens/s it sustains while meeting the latency target.

    ``tokens_per_s`` counts generated tokens (output + reasoning) per second across all concurrent
    requests of one replica, for this workload's request shape (prefill time included).
    """

    gpus_per_replica: int
    tokens_per_s: float
    source: CapacitySource = "user"
    method: str = "given by the user"
    concurrency: int | None = None

    @model_validator(mode="after")
    def _check(self) -> Capacity:
        if self.gpus_per_replica < 1:
            raise InputError(f"capacity: gpus per replica must be >= 1, got {self.gpus_per_replica}")
        if not math.isfinite(self.tokens_per_s) or self.tokens_per_s <= 0:
            raise InputError(f"capacity: tokens/s per replica must be > 0, got {self.tokens_per_s}")
        return self

    def requests_per_s(self, workload: Workload) -> float:
        """Requests/s one replica completes for this workload's request shape."""
        return self.tokens_per_s / workload.generated_tokens

    def replicas_for_peak(self, workload: Workload, year: int = 0, spare: int = 0) -> int:
        """Replicas needed for the peak of year ``year`` (ceil), plus ``spare`` for redundancy."""
        need = workload.peak_rps(year) / self.requests_per_s(workload)
        return max(1, math.ceil(need - 1e-9)) + spare

    def replicas_for_average(self, workload: Workload, year: int = 0) -> float:
        """Fractional replicas busy on average during the hours of use (perfect autoscaling)."""
        return workload.average_rps(year) / self.requests_per_s(workload)

    def with_measured(self, tokens_per_s: float, method: str = "load test") -> Capacity:
        """The same replica with a measured throughput replacing the estimate."""
        return Capacity(
            gpus_per_replica=self.gpus_per_replica,
            tokens_per_s=tokens_per_s,
            source="measured",
            method=method,
            concurrency=self.concurrency,
        )
