"""Declared policy facts: every fact a box publishes, with its type, unit, meaning and confidence bounds.

Each box declares what its ``policy_facts()`` publishes in its own ``facts.py`` (``FACTS``, a tuple of
``FactSpec``), listed in ``FACT_MODULES`` below; evaluation metrics are declared from the suite files
themselves (``clearance.evals.facts.suite_facts``). A name may hold a placeholder such as ``{suite}`` or
``{option}``; ``PLACEHOLDERS`` says what each one matches.

The policy loader checks every gate's fact against this catalogue, so a misspelt fact is an error with a
suggestion instead of a silently "missing" fact; ``clearance policy facts`` lists the catalogue and the
report links each gate's fact to its meaning. To publish a new fact: add it to ``policy_facts()`` and
declare it in the same box's ``facts.py``.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

FactType = Literal["bool", "integer", "number", "text", "list", "severity"]
Bound = Literal["ci_low", "ci_high"]
BOUNDS: tuple[Bound, Bound] = ("ci_low", "ci_high")

#: The modules whose ``FACTS`` make up the catalogue (one per box that publishes facts).
FACT_MODULES = [
    "clearance.model.facts",
    "clearance.scan.facts",
    "clearance.plan.facts",
    "clearance.tco.facts",
    "clearance.evals.facts",
    "clearance.load.facts",
    "clearance.signing.facts",
    "clearance.registry.facts",
    "clearance.compare.facts",
]


@dataclass(frozen=True)
class Placeholder:
    """What a ``{name}`` part of a fact name stands for, and the regular expression it matches."""

    meaning: str
    pattern: str = r"[A-Za-z0-9_\-]+"
    values: tuple[str, ...] = ()  # known values, used for suggestions (and matching when ``closed``)
    closed: bool = False


@dataclass(frozen=True)
class FactSpec:
    """One declared fact: its (possibly templated) name, type, unit, meaning and confidence bounds."""

    name: str
    type: FactType
    meaning: str
    unit: str = ""
    bounds: tuple[Bound, ...] = ()
    box: str = ""

    def bound_names(self) -> list[str]:
        """The published names of this fact's bounds (``<name>.ci_low`` ...)."""
        return [f"{self.name}.{b}" for b in self.bounds]


@dataclass(frozen=True)
class FactMatch:
    """A fact name resolved against the catalogue: its spec and which bound, if any, it names."""

    spec: FactSpec
    bound: Bound | None = None


@dataclass
class FactCatalog:
    """The declared facts of this build (plus the metrics of the suites a run will use)."""

    specs: list[FactSpec]
    placeholders: dict[str, Placeholder] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rx: list[tuple[re.Pattern[str], FactSpec]] = [(self._compile(s.name), s) for s in self.specs]

    def _compile(self, name: str) -> re.Pattern[str]:
        out, pos = [], 0
        for m in re.finditer(r"\{([a-z_]+)\}", name):
            out.append(re.escape(name[pos : m.start()]))
            ph = self.placeholders.get(m.group(1), Placeholder(m.group(1)))
            alt = "|".join(re.escape(v) for v in ph.values) if ph.closed and ph.values else ph.pattern
            out.append(f"(?:{alt})")
            pos = m.end()
        out.append(re.escape(name[pos:]))
        return re.compile("".join(out))

    def find(self, name: str) -> FactMatch | None:
        """The declaration behind a published fact name (a bound ``X.ci_low`` resolves to ``X``)."""
        for rx, spec in self._rx:
            if rx.fullmatch(name):
                return FactMatch(spec)
        base, _, last = name.rpartition(".")
        if last in BOUNDS:
            for rx, spec in self._rx:
                if last in spec.bounds and rx.fullmatch(base):
                    return FactMatch(spec, last)
        return None

    def known_names(self) -> list[str]:
        """Every concrete name the catalogue can suggest (placeholders expanded with their known values)."""
        out: list[str] = []
        for spec in self.specs:
            for name in self._expand(spec.name):
                out.append(name)
                out.extend(f"{name}.{b}" for b in spec.bounds)
        return out

    def _expand(self, name: str) -> list[str]:
        m = re.search(r"\{([a-z_]+)\}", name)
        if m is None:
            return [name]
        ph = self.placeholders.get(m.group(1))
        values = ph.values if ph is not None and ph.values else ()
        if not values:
            return [name]
        return [x for v in values for x in self._expand(name[: m.start()] + v + name[m.end() :])]

    def suggest(self, name: str) -> str | None:
        """The closest declared name to a misspelt one, or ``None``."""
        names = self.known_names()
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
        if close:
            return close[0]
        # Same namespace first: a suite or option name right, the last part wrong (or the other way).
        head = name.rsplit(".", 1)[0]
        same = [n for n in names if n.startswith(head + ".")]
        close = difflib.get_close_matches(name, same, n=1, cutoff=0.5)
        return close[0] if close else None

    def meaning(self, name: str) -> str | None:
        """A one-line meaning of a published fact (with its unit), or ``None`` when undeclared."""
        hit = self.find(name)
        if hit is None:
            return None
        text = hit.spec.meaning
        if hit.bound is not None:
            text = f"{'lower' if hit.bound == 'ci_low' else 'upper'} confidence bound of: {text}"
        return f"{text} [{hit.spec.unit}]" if hit.spec.unit else text

    def undeclared(self, facts: Iterable[str]) -> list[str]:
        """The published names that no declaration covers (a box forgot to declare them)."""
        return [n for n in facts if self.find(n) is None]


def _placeholders(suites: Iterable[str], metric_facts: Iterable[str]) -> dict[str, Placeholder]:
    from clearance.findings import Severity

    return {
        "suite": Placeholder("an evaluation suite's name", values=tuple(sorted(set(suites))), closed=True),
        "option": Placeholder(
            "a cost option id (onprem, rental_reserved, rental_on_demand, api.<name>)",
            pattern=r"onprem|rental_reserved|rental_on_demand|api\.[A-Za-z0-9_.\-]+",
            values=("onprem", "rental_reserved", "rental_on_demand"),
        ),
        "eval_fact": Placeholder(
            "an evaluation metric fact, evals.<suite>.<metric>",
            values=tuple(sorted(set(metric_facts))),
            closed=True,
        ),
        "severity": Placeholder("a finding severity", values=tuple(s.value for s in Severity), closed=True),
    }


def declared_facts(suites: Mapping[str, Iterable[FactSpec]] | None = None) -> FactCatalog:
    """The catalogue of this build: every box's ``FACTS`` plus the metrics of ``suites``.

    ``suites`` maps a suite name to its metric facts (``clearance.evals.facts.suite_facts``); ``None``
    means the suites shipped with Clearance.
    """
    specs: list[FactSpec] = []
    for mod_name in FACT_MODULES:
        mod = importlib.import_module(mod_name)
        box = mod_name.split(".")[1]
        specs.extend(s if s.box else FactSpec(**{**s.__dict__, "box": box}) for s in mod.FACTS)
    if suites is None:
        from clearance.evals.facts import shipped_suite_facts

        suites = shipped_suite_facts()
    metric_facts: list[str] = []
    for suite_specs in suites.values():
        listed = list(suite_specs)
        specs.extend(listed)
        metric_facts.extend(s.name for s in listed if s.bounds)  # metrics carry confidence bounds
    return FactCatalog(specs, _placeholders(suites.keys(), metric_facts))


__all__ = [
    "BOUNDS",
    "FACT_MODULES",
    "FactCatalog",
    "FactMatch",
    "FactSpec",
    "FactType",
    "Placeholder",
    "declared_facts",
]
