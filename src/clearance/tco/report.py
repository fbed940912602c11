"""Result models of a cost estimate: per-option costs, break-even, sensitivity, assumptions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

from clearance.evidence import ToolInfo, utc_now
from clearance.tco.capacity import Capacity
from clearance.tco.workload import Workload

OptionKind = Literal["onprem", "rental", "api"]


class OptionCost(BaseModel):
    """One way of serving the workload, costed year by year over the horizon."""

    id: str
    kind: OptionKind
    label: str
    annual: list[float]
    components: dict[str, list[float]]
    cumulative_cash: list[float]
    tokens: list[float]
    requests: list[float]
    details: dict[str, object] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def horizon_total(self) -> float:
        """Total cost over the horizon (sum of the yearly costs)."""
        return sum(self.annual)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost_per_mtok(self) -> float:
        """Horizon cost per million tokens actually served (input + output + reasoning)."""
        return self.horizon_total / sum(self.tokens) * 1e6

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost_per_1k_requests(self) -> float:
        """Horizon cost per thousand requests actually served."""
        return self.horizon_total / sum(self.requests) * 1e3


class BreakEven(BaseModel):
    """Where option ``a`` (self-hosted) becomes cheaper than option ``b``."""

    a: str
    b: str
    month: int | None = None
    requests_per_day: float | None = None
    mtok_per_month: float | None = None
    status: Literal["crosses", "always_cheaper", "never_cheaper"] = "never_cheaper"
    note: str = ""


class SensitivityRow(BaseModel):
    """The target metric when one input moves by -X % and +X % (one bar of the tornado)."""

    input: str
    base_value: float
    low_value: float
    high_value: float
    metric_low: float
    metric_high: float
    cheapest_low: str
    cheapest_high: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def swing(self) -> float:
        """Width of the bar: |metric_high - metric_low|."""
        return abs(self.metric_high - self.metric_low)


class Assumption(BaseModel):
    """An input figure as used, with its unit, date, source and whether it is stale."""

    key: str
    value: float | str
    unit: str
    date: str
    source: str
    url: str | None = None
    origin: str = "catalog"
    stale: bool = False


class CostReport(BaseModel):
    """A labelled estimate of what serving the workload costs under each option."""

    kind: Literal["estimate"] = "estimate"
    model: str | None = None
    gpu: str
    years: int
    workload: Workload
    capacity: Capacity
    options: list[OptionCost]
    skipped: list[str] = Field(default_factory=list)
    cheapest: str
    break_even: list[BreakEven] = Field(default_factory=list)
    sensitivity_option: str = ""
    sensitivity_metric: str = ""
    sensitivity_pct: float = 0.2
    sensitivity: list[SensitivityRow] = Field(default_factory=list)
    assumptions: list[Assumption] = Field(default_factory=list)
    stale_after_days: int = 365
    as_of: str
    created_at: str = Field(default_factory=utc_now)
    tool: ToolInfo = Field(default_factory=ToolInfo)

    def option(self, option_id: str) -> OptionCost:
        """The option with this id (``KeyError`` when absent)."""
        for opt in self.options:
            if opt.id == option_id:
                return opt
        raise KeyError(option_id)

    @property
    def stale(self) -> list[Assumption]:
        """Assumptions older than ``stale_after_days``."""
        return [a for a in self.assumptions if a.stale]

    def summary(self) -> list[dict[str, object]]:
        """One flat row per option (for tables and JSON consumers)."""
        return [
            {
                "id": o.id,
                "label": o.label,
                "annual_cost_year1": round(o.annual[0], 2),
                "horizon_total": round(o.horizon_total, 2),
                "cost_per_mtok": round(o.cost_per_mtok, 4),
                "cost_per_1k_requests": round(o.cost_per_1k_requests, 4),
            }
            for o in self.options
        ]

    def policy_facts(self) -> dict[str, object]:
        """Flat facts for policy gates (``tco.*``)."""
        facts: dict[str, object] = {
            "tco.estimate": True,
            "tco.cheapest_option": self.cheapest,
            "tco.horizon_years": self.years,
            "tco.gpu": self.gpu,
            "tco.throughput_source": self.capacity.source,
            "tco.tokens_per_s_per_replica": self.capacity.tokens_per_s,
            "tco.gpus_per_replica": self.capacity.gpus_per_replica,
            "tco.stale_figures": len(self.stale),
        }
        for o in self.options:
            facts[f"tco.{o.id}.annual_cost"] = round(o.annual[0], 2)
            facts[f"tco.{o.id}.horizon_cost"] = round(o.horizon_total, 2)
            facts[f"tco.{o.id}.cost_per_mtok"] = round(o.cost_per_mtok, 6)
        for be in self.break_even:
            facts[f"tco.break_even.{be.a}_vs_{be.b}.month"] = be.month
            facts[f"tco.break_even.{be.a}_vs_{be.b}.requests_per_day"] = be.requests_per_day
        return facts
