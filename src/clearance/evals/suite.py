"""Suites = dataset + prompt template + generation parameters + scorers + metrics, from YAML.

A suite file (built-in ones live in ``clearance/evals/suites/``)::

    name: capability-basic
    description: One line on what it measures.
    dataset: {loader: jsonl, path: capability-basic.jsonl, license: Apache-2.0}   # path relative to the file
    system: optional system prompt (Jinja, sandboxed)
    template: "{{ input }}"                # user message (Jinja, sandboxed; sees input, choices, metadata)
    generation: {max_tokens: 64, temperature: 0}
    scorers: [match]                      # or {scorer: regex, name: x, pattern: "..."}
    metrics: [accuracy]                   # or {metric: refusal_rate, name: x, scorer: refusal, where: {label: safe}}
    sampling: {strata: [category], group: template}   # how --limit N draws (seeded, stratified)
    min_valid: 10                         # fewer valid answers → the metric is "not measured"

A dataset without ``path`` must be given with ``--data PATH`` (public datasets are never shipped).
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, Field, ValidationError

from clearance.errors import InputError
from clearance.evals.datasets import get_loader
from clearance.evals.metrics import MIN_VALID, get_metric
from clearance.evals.sampling import SamplingPlan
from clearance.evals.scorers import get_scorer
from clearance.evals.types import Dataset, GenerationParams, Sample, Score

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
_template = functools.lru_cache(maxsize=128)(_ENV.from_string)


class ScorerSpec(BaseModel):
    """A scorer in a suite: registered ``scorer`` type, the ``name`` its scores are stored under, params."""

    scorer: str
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class MetricSpec(BaseModel):
    """A metric in a suite: registered ``metric``, reported ``name``, the ``scorer`` it reads, ``where`` filter."""

    metric: str
    name: str
    scorer: str
    where: dict[str, Any] | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class FailingSpec(BaseModel):
    """Which samples count as failing: those where ``scorer`` scored ``when`` (default: the first scorer scored 0)."""

    scorer: str
    when: int = 0


class Suite(BaseModel):
    """A runnable evaluation: dataset, prompt, generation parameters, scorers and metrics."""

    name: str
    description: str = ""
    dataset: Dataset
    system: str | None = None
    template: str = "{{ input }}"
    generation: GenerationParams = Field(default_factory=GenerationParams)
    scorers: list[ScorerSpec]
    metrics: list[MetricSpec]
    confidence: float = 0.95
    source: str = ""
    failing: FailingSpec | None = None
    min_valid: int = Field(default=MIN_VALID, ge=1)
    sampling: SamplingPlan = Field(default_factory=SamplingPlan)

    def failing_rule(self) -> FailingSpec:
        """The failing-sample rule: the suite's ``failing:`` entry, else 'first scorer scored 0'."""
        return self.failing or FailingSpec(scorer=self.scorers[0].name, when=0)

    def is_failing(self, scores: dict[str, Score]) -> bool:
        """Whether a sample with these scores counts as failing (e.g. a leak suite fails when the canary shows)."""
        rule = self.failing_rule()
        s = scores.get(rule.scorer)
        if s is None:
            return False
        return (s.value >= 0.5) if rule.when == 1 else (s.value < 0.5)

    def messages(self, sample: Sample) -> list[dict[str, str]]:
        """The chat messages sent for one sample (system prompt + rendered template, or the sample's own messages)."""
        ctx = {
            "input": sample.input,
            "choices": sample.choices or [],
            "metadata": sample.metadata,
            "id": sample.id,
            "target": sample.target,
        }
        msgs: list[dict[str, str]] = []
        try:
            if self.system:
                msgs.append({"role": "system", "content": _template(self.system).render(**ctx)})
            if isinstance(sample.input, list):
                msgs.extend(dict(m) for m in sample.input)
            else:
                msgs.append({"role": "user", "content": _template(self.template).render(**ctx)})
        except TemplateError as exc:
            raise InputError(f"suite {self.name}: template failed on sample {sample.id}: {exc}") from None
        return msgs

    def config_digest(self) -> str:
        """sha256 over everything that determines results: dataset digest, prompts, generation, scorers, metrics."""
        cfg = {
            "dataset_sha256": self.dataset.ref.sha256,
            "dataset_rows": self.dataset.ref.rows,
            "system": self.system,
            "template": self.template,
            "generation": self.generation.model_dump(),
            "scorers": [s.model_dump() for s in self.scorers],
            "metrics": [m.model_dump() for m in self.metrics],
        }
        return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()


def builtin_dir() -> Path:
    """Directory of the built-in suite files shipped as package data."""
    return Path(str(resources.files("clearance.evals").joinpath("suites")))


def list_suites() -> list[dict[str, str]]:
    """Built-in suites: name, description, and whether they need ``--data``."""
    out = []
    for f in sorted(builtin_dir().glob("*.yaml")):
        raw = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        ds = raw.get("dataset") or {}
        out.append(
            {
                "name": str(raw.get("name", f.stem)),
                "description": str(raw.get("description", "")),
                "data": "shipped" if ds.get("path") else f"--data PATH ({ds.get('loader')})",
            }
        )
    return out


def _scorer_spec(item: Any, where: str) -> ScorerSpec:
    if isinstance(item, str):
        get_scorer(item)
        return ScorerSpec(scorer=item, name=item)
    if isinstance(item, dict) and "scorer" in item:
        d = dict(item)
        kind = str(d.pop("scorer"))
        get_scorer(kind)
        name = str(d.pop("name", kind))
        return ScorerSpec(scorer=kind, name=name, params=d)
    raise InputError(f"{where}: each scorer is a name or a mapping with `scorer:`; got {item!r}")


def _metric_spec(item: Any, scorers: list[ScorerSpec], where: str) -> MetricSpec:
    if isinstance(item, str):
        item = {"metric": item}
    if not isinstance(item, dict) or "metric" not in item:
        raise InputError(f"{where}: each metric is a name or a mapping with `metric:`; got {item!r}")
    d = dict(item)
    kind = str(d.pop("metric"))
    md = get_metric(kind)
    names = [s.name for s in scorers]
    scorer = d.pop("scorer", None) or (md.default_scorer if md.default_scorer in names else names[0])
    if scorer not in names:
        raise InputError(
            f"{where}: metric {kind!r} reads scorer {scorer!r}, which the suite does not define ({', '.join(names)})"
        )
    name = str(d.pop("name", kind))
    where_f = d.pop("where", None)
    return MetricSpec(metric=kind, name=name, scorer=scorer, where=where_f, params=d)


def _failing_spec(item: Any, scorers: list[ScorerSpec], where: str) -> FailingSpec | None:
    if item is None:
        return None
    names = [s.name for s in scorers]
    if not isinstance(item, dict) or item.get("scorer") not in names or item.get("when", 0) not in (0, 1):
        raise InputError(
            f"{where}: `failing` is {{scorer: <one of {', '.join(names)}>, when: 0|1}}; got {item!r}"
        )
    return FailingSpec(scorer=str(item["scorer"]), when=int(item.get("when", 0)))


def suite_from_dict(
    raw: dict[str, Any], *, base_dir: Path, data: str | Path | None = None, source: str = ""
) -> Suite:
    """Build a ``Suite`` from a parsed YAML mapping (dataset paths resolve against ``base_dir``)."""
    where = source or "suite"
    if not isinstance(raw, dict) or "name" not in raw:
        raise InputError(f"{where}: a suite file is a mapping with at least `name`, `dataset`, `scorers`")
    name = str(raw["name"])
    ds_cfg = dict(raw.get("dataset") or {})
    kind = str(ds_cfg.pop("loader", "jsonl"))
    rel = ds_cfg.pop("path", None)
    if data is not None:
        path: Path = Path(data)
    elif rel is not None:
        path = (base_dir / str(rel)) if not Path(str(rel)).is_absolute() else Path(str(rel))
    else:
        raise InputError(
            f"suite {name!r} needs its dataset: pass --data PATH (the {kind} files are not shipped; nothing is downloaded)"
        )
    options = dict(ds_cfg.pop("options", {}) or {})
    dataset = get_loader(kind)(path, **ds_cfg, **options)
    scorers = [_scorer_spec(s, where) for s in (raw.get("scorers") or [])]
    if not scorers:
        raise InputError(f"{where}: suite {name!r} defines no scorers")
    if len({s.name for s in scorers}) != len(scorers):
        raise InputError(f"{where}: scorer names must be unique; give `name:` to repeated scorers")
    metrics = [_metric_spec(m, scorers, where) for m in (raw.get("metrics") or ["accuracy"])]
    failing = _failing_spec(raw.get("failing"), scorers, where)
    try:
        gen = GenerationParams(**(raw.get("generation") or {}))
        return Suite(
            name=name,
            description=str(raw.get("description", "")),
            dataset=dataset,
            system=raw.get("system"),
            template=str(raw.get("template", "{{ input }}")),
            generation=gen,
            scorers=scorers,
            metrics=metrics,
            confidence=float(raw.get("confidence", 0.95)),
            source=source,
            failing=failing,
            min_valid=int(raw.get("min_valid", MIN_VALID)),
            sampling=SamplingPlan(**(raw.get("sampling") or {})),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"{where}: field {'.'.join(str(x) for x in first['loc'])}: {first['msg']}") from None


def load_suite(name_or_path: str | Path, *, data: str | Path | None = None) -> Suite:
    """Load a built-in suite by name or a suite YAML file; ``data`` overrides/supplies the dataset path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.is_file():
        if not p.is_file():
            raise InputError(f"{p}: suite file not found")
        f = p
    else:
        f = builtin_dir() / f"{name_or_path}.yaml"
        if not f.is_file():
            known = ", ".join(s["name"] for s in list_suites())
            raise InputError(
                f"unknown suite {str(name_or_path)!r}; built-in: {known} (or give a suite .yaml file)"
            )
    try:
        raw = yaml.safe_load(f.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{f}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise InputError(f"{f}: not UTF-8 text") from None
    except RecursionError:
        raise InputError(f"{f}: nested too deeply to be a suite") from None
    try:
        return suite_from_dict(raw, base_dir=f.parent, data=data, source=str(f))
    except UnicodeDecodeError:  # a data file a loader read without naming it
        raise InputError(f"{f}: a data file of this suite is not UTF-8 text") from None
    except RecursionError:
        raise InputError(f"{f}: a data file of this suite is nested too deeply") from None


def parse_kwargs(text: str | None) -> dict[str, Any] | None:
    """A ``--chat-template-kwargs`` JSON object (``None`` when not given); anything else is an ``InputError``."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--chat-template-kwargs is not JSON ({exc.msg}): {text[:80]!r}") from None
    if not isinstance(value, dict):
        raise InputError(f"--chat-template-kwargs must be a JSON object, got {type(value).__name__}")
    return value


def with_generation(
    suite: Suite, *, max_tokens: int | None = None, chat_template_kwargs: dict[str, Any] | None = None
) -> Suite:
    """The suite with generation settings set for this run (recorded in its evidence and identity)."""
    update: dict[str, Any] = {}
    if max_tokens is not None:
        if max_tokens < 1:
            raise InputError(f"--max-tokens must be at least 1, got {max_tokens}")
        update["max_tokens"] = max_tokens
    if chat_template_kwargs is not None:
        update["chat_template_kwargs"] = chat_template_kwargs
    if not update:
        return suite
    return suite.model_copy(update={"generation": suite.generation.model_copy(update=update)})
