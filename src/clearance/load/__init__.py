"""Load tests of an OpenAI-compatible endpoint: latency/throughput, SLO search, determinism probe.

Public surface: ``run_loadtest(client, LoadConfig) -> LoadResult``, ``slo_search(client, base, ...)
-> SLOSearchResult``, ``probe_determinism(client, prompts, repeats) -> DeterminismResult``; each result
has ``policy_facts()`` (``load.*``). Metric definitions are in :mod:`clearance.load.records`.
"""

from __future__ import annotations

from clearance.load.determinism import DeterminismResult, probe_determinism
from clearance.load.generator import arrival_schedule, load_records, run_loadtest, summarize, synthetic_prompt
from clearance.load.records import LoadConfig, LoadResult, RequestRecord
from clearance.load.slo import SLOSearchResult, SLOStep, slo_search
from clearance.load.stats import Distribution, percentile
from clearance.stats import wilson_interval

__all__ = [
    "DeterminismResult",
    "Distribution",
    "LoadConfig",
    "LoadResult",
    "RequestRecord",
    "SLOSearchResult",
    "SLOStep",
    "arrival_schedule",
    "load_records",
    "percentile",
    "probe_determinism",
    "run_loadtest",
    "slo_search",
    "summarize",
    "synthetic_prompt",
    "wilson_interval",
]
