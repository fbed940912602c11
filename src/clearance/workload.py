"""The workload file (``--workload FILE``): traffic, token lengths, SLOs, horizon and hardware in one YAML.

One document describes what a deployment must serve, for ``plan``, ``cost``, ``vet`` and ``compare``::

    name: support-assistant
    traffic:
      requests_per_day: 40000          # or users + requests_per_user
      daily_profile: [0, 0, ...]       # 24 hourly weights (peak factor and hours of use follow), or:
      peak_factor: 3                   # peak req/s over the average within the hours of use
      hours_per_day: 10
      days_per_year: 250
      growth: 0.3                      # yearly volume growth (0.3 = +30 %/yr)
    tokens:                            # per request; percentiles, a mean, or a histogram
      prompt: {p50: 900, p95: 3000}
      output: {p50: 250, p95: 700}
      reasoning: {mean: 0}
    context_length: 8192               # the longest request the deployment must accept (max_model_len)
    slo: {ttft_p95_s: 2.0, tpot_p95_s: 0.05, e2e_p95_s: 30}
    horizon_years: 3
    hardware:
      owned: {H100-SXM: 8}             # GPUs the organisation has (costed at zero purchase price? no: see docs)
      purchasable: [H100-SXM, L40S]    # GPU types it may buy or rent
    prices: {...}                      # overrides, same layout as ``clearance cost --prices``
    apis: [openrouter-qwen3.5-27b]     # hosted APIs to compare (default: the model's own family)

Every problem is reported with the file and line (``workload FILE:LINE: ...``). The mean of a token
distribution given as percentiles is estimated from the piecewise-linear quantile function and says so.
"""

from __future__ import annotations

import difflib
import itertools
import math
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from clearance.errors import InputError
from clearance.tco.workload import Workload as Traffic

PERCENTILE_KEYS = ("p50", "p75", "p90", "p95", "p99", "max")
_PCT = {"p50": 0.50, "p75": 0.75, "p90": 0.90, "p95": 0.95, "p99": 0.99, "max": 1.0}


class WorkloadFileError(InputError):
    """The workload file is missing, not YAML, or fails validation (the message names file and line)."""


class Bucket(BaseModel):
    """One histogram bucket: requests with up to ``upto`` tokens (above the previous bucket) make ``share``."""

    model_config = ConfigDict(extra="forbid")

    upto: int = Field(ge=0)
    share: float = Field(ge=0)


class TokenDistribution(BaseModel):
    """Tokens per request: a ``mean``, percentiles (``p50`` … ``p99``, ``max``) or a ``histogram``."""

    model_config = ConfigDict(extra="forbid")

    mean: float | None = Field(default=None, ge=0)
    p50: float | None = Field(default=None, ge=0)
    p75: float | None = Field(default=None, ge=0)
    p90: float | None = Field(default=None, ge=0)
    p95: float | None = Field(default=None, ge=0)
    p99: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, ge=0)
    histogram: list[Bucket] | None = None

    @model_validator(mode="after")
    def _check(self) -> TokenDistribution:
        pts = self.percentiles()
        if self.histogram is not None:
            if pts:
                raise ValueError("give percentiles or a histogram, not both")
            if not self.histogram:
                raise ValueError("histogram needs at least one bucket")
            edges = [b.upto for b in self.histogram]
            if edges != sorted(edges) or len(set(edges)) != len(edges):
                raise ValueError("histogram buckets must have increasing 'upto'")
            total = sum(b.share for b in self.histogram)
            if total <= 0:
                raise ValueError("histogram shares must sum to more than 0")
        elif self.mean is None and not pts:
            raise ValueError("give a mean, percentiles (p50, p90, p95, p99, max) or a histogram")
        vals = [v for _, v in pts]
        if vals != sorted(vals):
            raise ValueError("percentiles must not decrease (p50 <= p90 <= p95 <= p99 <= max)")
        return self

    def percentiles(self) -> list[tuple[float, float]]:
        """Given percentiles as (quantile, tokens), ascending."""
        out = []
        for k in PERCENTILE_KEYS:
            v = getattr(self, k)
            if v is not None:
                out.append((_PCT[k], float(v)))
        return out

    def expected(self) -> tuple[float, str]:
        """Mean tokens per request and how it was obtained."""
        if self.mean is not None:
            return float(self.mean), "given mean"
        if self.histogram is not None:
            total = sum(b.share for b in self.histogram)
            lo, acc = 0.0, 0.0
            for b in self.histogram:
                acc += b.share * (lo + b.upto) / 2.0
                lo = float(b.upto)
            return acc / total, "histogram bucket midpoints"
        pts = self.percentiles()
        # piecewise-linear quantile function; flat below the lowest and above the highest percentile given
        q = [(0.0, pts[0][1]), *pts]
        if q[-1][0] < 1.0:
            q.append((1.0, q[-1][1]))
        area = sum((q2 - q1) * (v1 + v2) / 2.0 for (q1, v1), (q2, v2) in itertools.pairwise(q))
        names = ", ".join(k for k in PERCENTILE_KEYS if getattr(self, k) is not None)
        return area, f"estimated from percentiles ({names})"

    def high(self) -> float:
        """The largest length given (p99/max/last bucket/mean): what a request may need at most."""
        if self.histogram is not None:
            return float(self.histogram[-1].upto)
        pts = self.percentiles()
        return pts[-1][1] if pts else float(self.mean or 0.0)

    def at(self, quantile: float) -> float:
        """Tokens at ``quantile`` from the percentiles (linear between them), else the mean."""
        pts = self.percentiles()
        if not pts:
            return self.expected()[0]
        if quantile <= pts[0][0]:
            return pts[0][1]
        for (q1, v1), (q2, v2) in itertools.pairwise(pts):
            if q1 <= quantile <= q2:
                return v1 + (v2 - v1) * (quantile - q1) / (q2 - q1)
        return pts[-1][1]


class TrafficSpec(BaseModel):
    """Request volume and its shape over the day."""

    model_config = ConfigDict(extra="forbid")

    requests_per_day: float | None = Field(default=None, gt=0)
    users: int | None = Field(default=None, gt=0)
    requests_per_user: float | None = Field(default=None, gt=0)
    peak_factor: float | None = Field(default=None, ge=1)
    daily_profile: list[float] | None = None
    hours_per_day: float | None = Field(default=None, gt=0, le=24)
    days_per_year: int = Field(default=365, ge=1, le=366)
    growth: float = Field(default=0.0, gt=-1)

    @model_validator(mode="after")
    def _check(self) -> TrafficSpec:
        if self.requests_per_day is None and self.users is None:
            raise ValueError("give requests_per_day, or users and requests_per_user")
        if self.requests_per_day is not None and self.users is not None:
            raise ValueError("give requests_per_day or users, not both")
        if self.users is not None and self.requests_per_user is None:
            raise ValueError("users given without requests_per_user")
        if self.daily_profile is not None:
            p = self.daily_profile
            if len(p) != 24:
                raise ValueError(f"daily_profile needs 24 hourly weights, got {len(p)}")
            if any((not math.isfinite(x)) or x < 0 for x in p) or sum(p) <= 0:
                raise ValueError("daily_profile weights must be >= 0 and not all 0")
            if self.peak_factor is not None or self.hours_per_day is not None:
                raise ValueError("daily_profile sets peak_factor and hours_per_day; give one or the other")
        return self

    def shape(self) -> tuple[float, float, str]:
        """(peak factor, hours of use per day, how they were obtained)."""
        if self.daily_profile is not None:
            used = [x for x in self.daily_profile if x > 0]
            mean = sum(used) / len(used)
            return max(used) / mean, float(len(used)), "from the 24-hour daily_profile"
        return (
            3.0 if self.peak_factor is None else self.peak_factor,
            24.0 if self.hours_per_day is None else self.hours_per_day,
            "given" if self.peak_factor is not None else "default peak factor 3",
        )


class TokenSpec(BaseModel):
    """Token lengths per request."""

    model_config = ConfigDict(extra="forbid")

    prompt: TokenDistribution
    output: TokenDistribution
    reasoning: TokenDistribution = Field(default_factory=lambda: TokenDistribution(mean=0))


class SLO(BaseModel):
    """Latency objectives at the 95th percentile (seconds); unset ones are not checked."""

    model_config = ConfigDict(extra="forbid")

    ttft_p95_s: float | None = Field(default=None, gt=0)
    tpot_p95_s: float | None = Field(default=None, gt=0)
    e2e_p95_s: float | None = Field(default=None, gt=0)


class Hardware(BaseModel):
    """GPUs the organisation owns (name → count) and GPU types it may buy or rent."""

    model_config = ConfigDict(extra="forbid")

    owned: dict[str, int] = Field(default_factory=dict)
    purchasable: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Hardware:
        for k, v in self.owned.items():
            if v < 0:
                raise ValueError(f"owned GPU count for {k} must be >= 0, got {v}")
        return self

    def gpu_types(self) -> list[str]:
        """Owned types first, then purchasable ones, without repeats."""
        out: list[str] = []
        for g in [*self.owned, *self.purchasable]:
            if g.lower() not in (x.lower() for x in out):
                out.append(g)
        return out


class WorkloadFile(BaseModel):
    """A validated workload file; ``traffic_workload()`` is what the cost model consumes."""

    model_config = ConfigDict(extra="forbid")

    name: str = "workload"
    description: str = ""
    traffic: TrafficSpec
    tokens: TokenSpec
    context_length: int | None = Field(default=None, ge=1)
    slo: SLO = Field(default_factory=SLO)
    horizon_years: int = Field(default=3, ge=1, le=15)
    hardware: Hardware = Field(default_factory=Hardware)
    prices: dict[str, Any] | None = None
    apis: list[str] | None = None
    source: str | None = None

    def traffic_workload(self) -> Traffic:
        """The cost model's workload: volumes, mean token lengths, peak factor, hours, growth."""
        peak, hours, _ = self.traffic.shape()
        return Traffic(
            requests_per_day=self.traffic.requests_per_day,
            users=self.traffic.users,
            requests_per_user=self.traffic.requests_per_user,
            input_tokens=round(self.tokens.prompt.expected()[0]),
            output_tokens=max(1, round(self.tokens.output.expected()[0])),
            reasoning_tokens=round(self.tokens.reasoning.expected()[0]),
            peak_factor=peak,
            hours_per_day=hours,
            days_per_year=self.traffic.days_per_year,
            growth=self.traffic.growth,
        )

    def max_model_len(self) -> int:
        """``context_length``, else the longest prompt + output + reasoning the distributions allow."""
        if self.context_length is not None:
            return self.context_length
        t = self.tokens
        return max(256, math.ceil(t.prompt.high() + t.output.high() + t.reasoning.high()))

    def assumptions(self) -> list[str]:
        """How derived figures were obtained (shown beside every estimate that uses this file)."""
        _, _, how = self.traffic.shape()
        out = [f"peak factor and hours of use: {how}"]
        for label, dist in (
            ("prompt", self.tokens.prompt),
            ("output", self.tokens.output),
            ("reasoning", self.tokens.reasoning),
        ):
            mean, method = dist.expected()
            out.append(f"{label} tokens per request: mean {mean:,.0f} ({method})")
        out.append(f"context length: {self.max_model_len():,} tokens")
        return out

    def price_book(self, extra_file: str | Path | None = None) -> Any:
        """The price catalog with ``extra_file`` and then this file's ``prices:`` merged on top."""
        from clearance.tco.prices import load_prices, merge_prices, parse_prices

        book = load_prices(extra_file)
        if not self.prices:
            return book
        where = f"{self.source or 'workload'} prices"
        user = parse_prices(self.prices, origin=where, where=where)
        return merge_prices(book, user, where=where)

    def summary(self) -> str:
        """One line: volume, token means, SLO."""
        w = self.traffic_workload()
        slo = ", ".join(f"{k} {v:g}" for k, v in self.slo.model_dump().items() if v is not None) or "no SLO"
        return (
            f"{w.daily_requests:,.0f} requests/day, {w.input_tokens} in / {w.output_tokens} out / "
            f"{w.reasoning_tokens} reasoning tokens (means), peak ×{w.peak_factor:.3g} over "
            f"{w.hours_per_day:g} h/day, growth {w.growth:+.0%}/yr, {self.horizon_years} years; {slo}"
        )


def load_workload(path: str | Path) -> WorkloadFile:
    """Read and validate a workload file; ``WorkloadFileError`` naming file and line on any problem."""
    p = Path(path)
    if not p.is_file():
        raise WorkloadFileError(f"workload file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadFileError(f"workload {p}: cannot read as UTF-8 text ({exc})") from None
    return parse_workload(text, source=str(p))


def parse_workload(text: str, *, source: str = "<string>") -> WorkloadFile:
    """Validate workload YAML text (see the module doc for the layout)."""
    from clearance.policy.loader import _line

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise WorkloadFileError(f"workload {where}: not valid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise WorkloadFileError(
            f"workload {source}: expected a mapping with at least 'traffic' and 'tokens', "
            f"got {type(data).__name__}"
        )
    if "source" in data:
        raise WorkloadFileError(
            f"workload {source}:{_line(node, ('source',))}: key 'source' is set by Clearance"
        )
    try:
        wf = WorkloadFile.model_validate({**data, "source": source})
    except ValidationError as exc:
        errs = exc.errors()
        err = errs[0]
        loc = tuple(x for x in err.get("loc", ()) if not (isinstance(x, str) and x.startswith("function-")))
        line = _line(node, loc)
        where = f"{source}:{line}" if line else source
        path = ".".join(str(x) for x in loc) or "workload"
        more = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
        if err.get("type") == "extra_forbidden" and loc:
            key = str(loc[-1])
            valid = _fields_at(loc[:-1])
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"
            raise WorkloadFileError(f"workload {where}: unknown key {path!r}{hint}{more}") from None
        if err.get("type") == "missing":
            raise WorkloadFileError(f"workload {where}: missing required key {path!r}{more}") from None
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        raise WorkloadFileError(f"workload {where}: {path}: {msg}{more}") from None
    _check_names(wf, node, source, _line)
    return wf


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = WorkloadFile
    for item in loc:
        if isinstance(item, int):
            continue
        field = model.model_fields.get(str(item))
        ann = getattr(field, "annotation", None) if field else None
        sub = next(
            (
                a
                for a in (ann, *getattr(ann, "__args__", ()))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ),
            None,
        )
        if sub is None:
            break
        model = sub
    return [k for k in model.model_fields if k != "source"]


def _check_names(wf: WorkloadFile, node: Any, source: str, line_of: Any) -> None:
    """GPU names must be in the planner's catalog; API names in the price catalog (with line numbers)."""
    from clearance.errors import ClearanceError
    from clearance.plan.gpus import get_gpu

    for g in wf.hardware.owned:
        try:
            get_gpu(g)
        except ClearanceError as exc:
            raise WorkloadFileError(
                f"workload {source}:{line_of(node, ('hardware', 'owned', g))}: {exc}"
            ) from None
    for i, g in enumerate(wf.hardware.purchasable):
        try:
            get_gpu(g)
        except ClearanceError as exc:
            raise WorkloadFileError(
                f"workload {source}:{line_of(node, ('hardware', 'purchasable', i))}: {exc}"
            ) from None
    if wf.prices or wf.apis:
        try:
            book = wf.price_book()
        except ClearanceError as exc:
            raise WorkloadFileError(f"workload {source}:{line_of(node, ('prices',))}: {exc}") from None
        for i, a in enumerate(wf.apis or []):
            try:
                book.resolve_api(a)
            except ClearanceError as exc:
                raise WorkloadFileError(f"workload {source}:{line_of(node, ('apis', i))}: {exc}") from None


__all__ = [
    "SLO",
    "Hardware",
    "TokenDistribution",
    "TrafficSpec",
    "WorkloadFile",
    "WorkloadFileError",
    "load_workload",
    "parse_workload",
]
