"""Adaptive concurrency (AIMD): how many requests an evaluation keeps in flight.

Additive increase while throughput grows, multiplicative decrease on pressure:

- every *window* (``max(limit, 4)`` completions) the completion rate is measured; when it beat the best
  window since the last decrease by at least half of what the extra slots could add
  (``rate > best × (1 + ½·step/limit)``) and no pressure was seen, the limit rises by ``step``; otherwise
  it holds (so noise on a plateau does not ratchet the limit up);
- a 429, a 503 or a timeout (from a :class:`~clearance.endpoint.pool.ReplicaPool` listener, or a request
  that failed with one) halves the limit (``× decrease``, at least ``minimum``), at most once per window,
  so one burst of 429s is one decrease. ``Retry-After`` is honoured by the pool (the replica that sent
  it is skipped until then) and by the client's own retries.

The record (:class:`ConcurrencyRecord`) keeps every change with its reason, the final level and the
level at which the best throughput was measured; evaluations store it beside their metrics.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from pydantic import BaseModel, Field

from clearance.errors import EndpointError, EndpointStatusError, EndpointTimeoutError, InputError

_MAX_CHANGES_KEPT = 200


def is_pressure(exc: BaseException) -> bool:
    """A sign the server is overloaded: HTTP 429 or 503, or a timeout."""
    if isinstance(exc, EndpointStatusError):
        return exc.status_code in (429, 503)
    return isinstance(exc, EndpointTimeoutError)


class ConcurrencyChange(BaseModel):
    """One change of the limit: when (seconds from the start), the new limit and why."""

    at_s: float
    limit: int
    reason: str


class ConcurrencyRecord(BaseModel):
    """How concurrency was chosen in one run (evidence beside an evaluation's metrics)."""

    mode: Literal["fixed", "adaptive"]
    initial: int
    minimum: int
    maximum: int
    final: int
    peak_in_flight: int
    best_rate_per_s: float | None = None
    best_rate_limit: int | None = None
    increases: int = 0
    decreases: int = 0
    pressure_events: int = 0
    changes: list[ConcurrencyChange] = Field(default_factory=list)
    measured_how: str = (
        "AIMD: +step per window of max(limit, 4) completions while the completion rate grows by at least "
        "half the extra slots' share; x0.5 on a 429, 503 or timeout (once per window)"
    )


class AdaptiveLimit:
    """A resizable semaphore driven by AIMD (``adaptive=False``: a fixed limit that still counts pressure)."""

    def __init__(
        self,
        initial: int,
        *,
        maximum: int | None = None,
        minimum: int = 1,
        adaptive: bool = True,
        step: int | None = None,
        decrease: float = 0.5,
    ) -> None:
        if initial < 1:
            raise InputError(f"concurrency must be at least 1, got {initial}")
        maximum = initial if maximum is None else maximum
        if maximum < initial:
            raise InputError(f"--max-concurrency {maximum} is below --concurrency {initial}")
        if not 0 < decrease < 1:
            raise InputError(f"decrease factor must be between 0 and 1, got {decrease}")
        self.adaptive = adaptive
        self.limit = initial
        self.initial = initial
        self.minimum = max(1, min(minimum, initial))
        self.maximum = maximum
        self.step = step or max(1, initial // 4)
        self.decrease = decrease
        self.active = 0
        self.peak = 0
        self._cond: asyncio.Condition | None = None
        self._t0 = time.perf_counter()
        self._win_start = self._t0
        self._win_done = 0
        self._win_pressure = False
        self._prev_rate: float | None = None
        self._last_decrease = -1.0
        self._best: tuple[float, int] | None = None
        self.record = ConcurrencyRecord(
            mode="adaptive" if adaptive else "fixed",
            initial=initial,
            minimum=self.minimum,
            maximum=maximum,
            final=initial,
            peak_in_flight=0,
        )

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self) -> None:
        """Wait for a free slot under the current limit."""
        cond = self._condition()
        async with cond:
            await cond.wait_for(lambda: self.active < self.limit)
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.record.peak_in_flight = self.peak

    async def release(self, error: BaseException | None = None) -> None:
        """Give the slot back; ``error`` is how the request ended (pressure lowers the limit)."""
        cond = self._condition()
        async with cond:
            self.active -= 1
            if error is not None and is_pressure(error):
                self.pressure(error)
            elif error is None:
                self._completed()
            cond.notify_all()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """``async with limit.slot():`` around one request."""
        await self.acquire()
        err: BaseException | None = None
        try:
            yield
        except EndpointError as exc:
            err = exc
            raise
        finally:
            await self.release(err)

    def pressure(self, exc: BaseException | None = None) -> None:
        """A 429/503/timeout was seen: halve the limit (at most once per window)."""
        self.record.pressure_events += 1
        self._win_pressure = True
        if not self.adaptive:
            return
        now = time.perf_counter()
        if self._last_decrease >= self._win_start:
            return  # already lowered in this window: one burst is one decrease
        new = max(self.minimum, int(self.limit * self.decrease))
        self._last_decrease = now
        self._prev_rate = None
        self._win_start, self._win_done = now, 0
        if new != self.limit:
            what = "timeout" if isinstance(exc, EndpointTimeoutError) else "overload"
            if isinstance(exc, EndpointStatusError):
                what = f"HTTP {exc.status_code}"
            self._change(new, f"{what}: x{self.decrease:g}")
            self.record.decreases += 1

    def _completed(self) -> None:
        self._win_done += 1
        if self._win_done < max(self.limit, 4):
            return
        now = time.perf_counter()
        rate = self._win_done / max(now - self._win_start, 1e-9)
        if self._best is None or rate > self._best[0]:
            self._best = (rate, self.limit)
            self.record.best_rate_per_s, self.record.best_rate_limit = round(rate, 3), self.limit
        # compared with the best window since the last decrease, so noise on a plateau does not ratchet up
        grew = self._prev_rate is None or rate > self._prev_rate * (1 + 0.5 * self.step / self.limit)
        if self.adaptive and grew and not self._win_pressure and self.limit < self.maximum:
            self._change(min(self.maximum, self.limit + self.step), f"throughput {rate:.1f}/s grew: +step")
            self.record.increases += 1
        self._prev_rate = max(rate, self._prev_rate or 0.0)
        self._win_start, self._win_done, self._win_pressure = now, 0, False

    def _change(self, new: int, reason: str) -> None:
        self.limit = new
        self.record.final = new
        if len(self.record.changes) < _MAX_CHANGES_KEPT:
            self.record.changes.append(
                ConcurrencyChange(at_s=round(time.perf_counter() - self._t0, 3), limit=new, reason=reason)
            )


__all__ = ["AdaptiveLimit", "ConcurrencyChange", "ConcurrencyRecord", "is_pressure"]
