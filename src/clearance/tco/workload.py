"""The workload a deployment must serve: request volume, request shape, daily profile and growth."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, model_validator

from clearance.errors import InputError

SECONDS_PER_HOUR = 3600.0


class Workload(BaseModel):
    """Request volume and shape; either ``requests_per_day`` or ``users`` × ``requests_per_user``.

    Volumes are the first year's; ``growth`` compounds them yearly (0.5 = +50 % a year). The peak
    factor is peak requests/s over the average requests/s *within the hours of use*.
    """

    model_config = ConfigDict(frozen=True)

    requests_per_day: float | None = None
    users: int | None = None
    requests_per_user: float | None = None
    input_tokens: int = 500
    output_tokens: int = 200
    reasoning_tokens: int = 0
    peak_factor: float = 3.0
    hours_per_day: float = 24.0
    days_per_year: int = 365
    growth: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> Workload:
        if self.requests_per_day is None and self.users is None:
            raise InputError("workload: give requests_per_day, or users and requests_per_user")
        if self.requests_per_day is not None and self.users is not None:
            raise InputError("workload: give requests_per_day or users, not both")
        if self.users is not None:
            _positive("users", self.users)
            if self.requests_per_user is None:
                raise InputError("workload: users given without requests_per_user")
            _positive("requests_per_user", self.requests_per_user)
        else:
            _positive("requests_per_day", self.requests_per_day)
        _positive("input_tokens", self.input_tokens, allow_zero=True)
        _positive("output_tokens", self.output_tokens)
        _positive("reasoning_tokens", self.reasoning_tokens, allow_zero=True)
        if not math.isfinite(self.peak_factor) or self.peak_factor < 1.0:
            raise InputError(
                f"workload: peak_factor must be >= 1 (peak over average), got {self.peak_factor}"
            )
        if not (0 < self.hours_per_day <= 24):
            raise InputError(f"workload: hours_per_day must be in (0, 24], got {self.hours_per_day}")
        if not (0 < self.days_per_year <= 366):
            raise InputError(f"workload: days_per_year must be in 1..366, got {self.days_per_year}")
        if not math.isfinite(self.growth) or self.growth <= -1.0:
            raise InputError(
                f"workload: growth must be > -1 (a yearly fraction, 0.2 = +20 %), got {self.growth}"
            )
        return self

    @property
    def daily_requests(self) -> float:
        """Requests per day of use in the first year."""
        if self.requests_per_day is not None:
            return float(self.requests_per_day)
        assert self.users is not None and self.requests_per_user is not None
        return float(self.users) * float(self.requests_per_user)

    @property
    def generated_tokens(self) -> int:
        """Tokens the model generates per request (visible output plus reasoning)."""
        return self.output_tokens + self.reasoning_tokens

    @property
    def tokens_per_request(self) -> int:
        """All tokens a request moves: input, output and reasoning."""
        return self.input_tokens + self.output_tokens + self.reasoning_tokens

    def requests_in_year(self, year: int) -> float:
        """Requests served in year ``year`` (0-based), growth compounded."""
        return self.daily_requests * self.days_per_year * (1.0 + self.growth) ** year

    def average_rps(self, year: int = 0) -> float:
        """Average requests/s during the hours of use in year ``year``."""
        return self.daily_requests * (1.0 + self.growth) ** year / (self.hours_per_day * SECONDS_PER_HOUR)

    def peak_rps(self, year: int = 0) -> float:
        """Peak requests/s in year ``year``: the average during hours of use × the peak factor."""
        return self.average_rps(year) * self.peak_factor

    def scaled(self, daily_requests: float) -> Workload:
        """The same shape with a different first-year daily volume (for break-even searches)."""
        data = self.model_dump()
        data.update(requests_per_day=daily_requests, users=None, requests_per_user=None)
        return Workload(**data)


def _positive(field: str, value: float | None, *, allow_zero: bool = False) -> None:
    if value is None or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        need = ">= 0" if allow_zero else "> 0"
        raise InputError(f"workload: {field} must be {need}, got {value}")
