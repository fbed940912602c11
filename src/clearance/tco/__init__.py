"""Total cost of ownership: on-premise against GPU rental and hosted APIs, with sourced prices.

Public surface: ``Workload``, ``Capacity``, ``CostOptions``, ``estimate_cost(workload, options) ->
CostReport``, ``load_prices(overrides)``, ``crf(rate, years)``, ``from_plan(...)`` (planner adapter)
and the SVG charts in ``clearance.tco.charts``.
"""

from __future__ import annotations

from clearance.tco.capacity import Capacity
from clearance.tco.compare import CostOptions, compute_options, estimate_cost, sensitivity
from clearance.tco.onprem import annual_capital_charge, crf
from clearance.tco.prices import Figure, PriceBook, load_prices
from clearance.tco.report import Assumption, BreakEven, CostReport, OptionCost, SensitivityRow
from clearance.tco.throughput import from_plan
from clearance.tco.workload import Workload

__all__ = [
    "Assumption",
    "BreakEven",
    "Capacity",
    "CostOptions",
    "CostReport",
    "Figure",
    "OptionCost",
    "PriceBook",
    "SensitivityRow",
    "Workload",
    "annual_capital_charge",
    "compute_options",
    "crf",
    "estimate_cost",
    "from_plan",
    "load_prices",
    "sensitivity",
]
