"""Evaluation: suites = dataset + prompt + scorers + metrics → per-sample records → metrics with CIs.

Public surface: ``load_suite``, ``list_suites``, ``run_suite`` (async, resumable), ``SuiteResult``
(with ``policy_facts()``), the nouns ``Sample``, ``Dataset``, ``Score``, ``MetricValue``, and the
registries ``@scorer`` / ``@metric`` / ``@loader`` for adding your own; ``Judge`` (optional LLM judge,
recorded next to the offline pattern classifier).
"""

from __future__ import annotations

from clearance.evals import generated as _generated  # noqa: F401  (registers the "generated" loader)
from clearance.evals.datasets import LOADERS, loader
from clearance.evals.judge import Judge, JudgeSummary, JudgeVerdict, parse_judgement
from clearance.evals.metrics import METRICS, metric
from clearance.evals.refusal import RefusalVerdict, classify_refusal
from clearance.evals.runner import SampleRecord, SuiteResult, run_suite
from clearance.evals.scorers import SCORERS, scorer
from clearance.evals.suite import Suite, list_suites, load_suite
from clearance.evals.types import Dataset, GenerationParams, MetricValue, Sample, Score
from clearance.stats import bootstrap_interval, wilson_interval

__all__ = [
    "LOADERS",
    "METRICS",
    "SCORERS",
    "Dataset",
    "GenerationParams",
    "Judge",
    "JudgeSummary",
    "JudgeVerdict",
    "MetricValue",
    "RefusalVerdict",
    "Sample",
    "SampleRecord",
    "Score",
    "Suite",
    "SuiteResult",
    "bootstrap_interval",
    "classify_refusal",
    "list_suites",
    "load_suite",
    "loader",
    "metric",
    "parse_judgement",
    "run_suite",
    "scorer",
    "wilson_interval",
]
