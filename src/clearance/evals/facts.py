"""Facts an evaluation publishes (``SuiteResult.policy_facts``): ``evals.<suite>.*``.

The counts and judge facts exist for every suite; the metrics are declared from the suite files
themselves (each entry of a suite's ``metrics:`` becomes ``evals.<suite>.<name>`` with its bounds and
``.n``), so a new suite declares its facts by existing.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from clearance.facts import BOUNDS, FactSpec

FACTS = (
    FactSpec(
        "evals.{suite}.n_selected", "integer", "samples selected for the run (after --limit)", "samples"
    ),
    FactSpec("evals.{suite}.n_completed", "integer", "samples the endpoint answered", "samples"),
    FactSpec("evals.{suite}.n_failed", "integer", "samples whose request failed", "samples"),
    FactSpec(
        "evals.{suite}.failure_rate", "number", "share of selected samples whose request failed", "ratio"
    ),
    FactSpec("evals.{suite}.judge.model", "text", "the judge model's served name"),
    FactSpec("evals.{suite}.judge.n_parsed", "integer", "judge verdicts that could be read", "verdicts"),
    FactSpec(
        "evals.{suite}.judge.n_unparsed", "integer", "judge answers that were not a verdict", "verdicts"
    ),
    FactSpec("evals.{suite}.judge.n_errors", "integer", "judge requests that failed", "requests"),
    FactSpec(
        "evals.{suite}.judge.cohen_kappa", "number", "agreement of judge and offline classifier beyond chance"
    ),
    FactSpec(
        "evals.{suite}.judge.agreement",
        "number",
        "share of samples where judge and classifier agree",
        "ratio",
        BOUNDS,
    ),
    FactSpec(
        "evals.{suite}.judge.judge_refusal_rate",
        "number",
        "refusal rate by the judge's verdicts",
        "ratio",
        BOUNDS,
    ),
    FactSpec(
        "evals.{suite}.judge.pattern_refusal_rate",
        "number",
        "refusal rate by the offline classifier on judged samples",
        "ratio",
        BOUNDS,
    ),
    FactSpec(
        "evals.{suite}.judge.harmful_rate",
        "number",
        "share of answers the judge calls harmful",
        "ratio",
        BOUNDS,
    ),
    FactSpec("evals.{suite}.judge.{metric}.n", "integer", "samples behind a judge rate", "samples"),
    FactSpec(
        "evals.{suite}.n_incomplete",
        "integer",
        "answers with no final answer (cut off while reasoning, reasoning only, empty)",
        "samples",
    ),
    FactSpec("evals.{suite}.n_valid", "integer", "answered samples with a final answer", "samples"),
    FactSpec("evals.{suite}.reasoning_model", "bool", "some answers of the suite carried reasoning"),
    FactSpec(
        "evals.{suite}.incomplete_rate",
        "number",
        "share of the suite's answers that were incomplete (Wilson interval)",
        "ratio",
        BOUNDS,
    ),
    FactSpec("evals.{suite}.incomplete_rate.n", "integer", "answers behind incomplete_rate", "samples"),
    FactSpec("evals.{suite}.incomplete_rate.method", "text", "interval method of incomplete_rate"),
    FactSpec(
        "evals.incomplete_rate",
        "number",
        "share of all answered samples, over every suite of the run, that were incomplete (Wilson interval)",
        "ratio",
        BOUNDS,
    ),
    FactSpec("evals.incomplete_rate.n", "integer", "answers behind evals.incomplete_rate", "samples"),
    FactSpec("evals.incomplete_rate.method", "text", "interval method of evals.incomplete_rate"),
    FactSpec("evals.n_incomplete", "integer", "incomplete answers over every suite of the run", "samples"),
    FactSpec("evals.reasoning_model", "bool", "some answer of the run carried reasoning"),
    FactSpec("evals.reasoning_detected", "bool", "the probe answer or the chat template showed reasoning"),
    FactSpec(
        "evals.reasoning_budget",
        "integer",
        "tokens of reasoning added to each suite's answer length",
        "tokens",
    ),
    FactSpec("claims.n", "integer", "claimed scores found (model card model-index, --claims)", "claims"),
    FactSpec("claims.n_checked", "integer", "claims whose metric was measured", "claims"),
    FactSpec(
        "claims.n_not_reproduced",
        "integer",
        "claims above the measured 95% interval plus tolerance",
        "claims",
    ),
)


def _metric_entries(raw: Any) -> list[tuple[str, str]]:
    """``(fact name, metric kind)`` for each entry of a suite's ``metrics:`` (default ``accuracy``)."""
    out = []
    for item in raw.get("metrics") or ["accuracy"] if isinstance(raw, dict) else []:
        if isinstance(item, str):
            out.append((item, item))
        elif isinstance(item, dict) and item.get("metric"):
            out.append((str(item.get("name") or item["metric"]), str(item["metric"])))
    return out


def suite_facts(name: str, raw: Any) -> list[FactSpec]:
    """The metric facts of one suite, from its parsed YAML: value with CI bounds, and the sample count."""
    from clearance.evals.metrics import METRICS

    specs = []
    for fact, kind in _metric_entries(raw):
        meaning = METRICS[kind].description if kind in METRICS else kind
        specs.append(FactSpec(f"evals.{name}.{fact}", "number", f"{name}: {meaning}", "", BOUNDS, "evals"))
        specs.append(
            FactSpec(
                f"evals.{name}.{fact}.n",
                "integer",
                f"{name}: valid answers behind {fact}",
                "samples",
                (),
                "evals",
            )
        )
        specs.append(
            FactSpec(
                f"evals.{name}.{fact}.n_incomplete",
                "integer",
                f"{name}: incomplete or invalid answers {fact} could not judge",
                "samples",
                (),
                "evals",
            )
        )
        specs.append(
            FactSpec(
                f"evals.{name}.{fact}.incomplete_rate",
                "number",
                f"{name}: share of {fact}'s answers that were incomplete or invalid",
                "ratio",
                (),
                "evals",
            )
        )
        specs.append(
            FactSpec(
                f"evals.{name}.{fact}.method", "text", f"{name}: interval method of {fact}", "", (), "evals"
            )
        )
    return specs


def suite_file_facts(path: Path) -> tuple[str, list[FactSpec]]:
    """``(suite name, metric facts)`` of a suite YAML file; its dataset is not read."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    name = str(raw.get("name", path.stem)) if isinstance(raw, dict) else path.stem
    return name, suite_facts(name, raw)


@lru_cache(maxsize=1)
def _shipped() -> tuple[tuple[str, tuple[FactSpec, ...]], ...]:
    from clearance.evals.suite import builtin_dir

    out = []
    for f in sorted(builtin_dir().glob("*.yaml")):
        name, specs = suite_file_facts(f)
        out.append((name, tuple(specs)))
    return tuple(out)


def shipped_suite_facts() -> dict[str, list[FactSpec]]:
    """Metric facts of every suite shipped with Clearance, by suite name."""
    return {name: list(specs) for name, specs in _shipped()}


def suites_facts(names_or_files: Iterable[str]) -> dict[str, list[FactSpec]]:
    """Shipped suites plus the suites a run names (a built-in name or a suite YAML file)."""
    out = shipped_suite_facts()
    for item in names_or_files:
        p = Path(item)
        if p.suffix in (".yaml", ".yml") and p.is_file():
            name, specs = suite_file_facts(p)
            out[name] = specs
    return out
