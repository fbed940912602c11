"""Seeded, stratified selection of a suite's samples for ``--limit N``.

Taking the first N rows leaves whole categories unmeasured (XSTest's unsafe half, HarmBench's contextual
behaviours, every BBQ category but one). Instead a suite names its strata (sample metadata keys, e.g.
``[functional_category, category]`` for HarmBench, ``[label, type]`` for XSTest, ``[category,
context_condition]`` for BBQ) and optionally a ``group`` key whose samples are drawn together (the six
variants of one BBQ-style template). ``select_samples`` then:

1. forms units (single samples, or whole groups) and puts each unit in the stratum of its metadata;
2. orders all units so that any prefix is stratified: one unit per stratum first (round-robin over the
   first key's values, so XSTest's safe and unsafe halves both come in before a second unit of
   anything), then one at a time from the stratum furthest below its proportional share; units within
   a stratum in a ``random.Random(seed)`` order;
3. takes units in that order up to the limit and returns them in dataset order. A larger limit extends
   a smaller one (resuming with a larger ``--limit`` asks only for the new samples).

The same suite, limit and seed always select the same samples; the record of what was drawn
(``SamplingRecord``) goes into the evidence.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from clearance.evals.types import Sample

DEFAULT_SEED = 0


class SamplingPlan(BaseModel):
    """How a suite is sampled under a limit: ``strata`` (metadata keys) and ``group`` (drawn together)."""

    strata: list[str] = Field(default_factory=list)
    group: str | None = None


class SamplingRecord(BaseModel):
    """What was selected: method, seed, strata and, per stratum, how many samples there were and were drawn."""

    method: str
    limit: int | None = None
    seed: int | None = None
    strata: list[str] = Field(default_factory=list)
    group: str | None = None
    population: int
    selected: int
    by_stratum: dict[str, dict[str, int]] = Field(default_factory=dict)


def _label(values: Sequence[Any]) -> str:
    return "/".join("-" if v is None else str(v) for v in values) or "all"


def _order(strata: dict[str, list[Any]], rng: random.Random) -> list[tuple[str, Any]]:
    """Every unit once, in the order a growing limit takes them (so a larger limit extends a smaller one).

    First one unit per stratum, round-robin over the first key's values (every value of the first key
    comes before any second unit); then one unit at a time from the stratum furthest below its
    proportional share. Units within a stratum are in a seeded random order.
    """
    queues = {k: rng.sample(v, len(v)) for k, v in sorted(strata.items())}
    by_first: dict[str, list[str]] = {}
    for k in queues:
        by_first.setdefault(k.split("/", 1)[0], []).append(k)
    rounds = [rng.sample(v, len(v)) for _, v in sorted(by_first.items())]
    order: list[tuple[str, Any]] = []
    while any(rounds):
        for r in rounds:
            if r:
                k = r.pop(0)
                order.append((k, queues[k].pop(0)))
    total = sum(len(v) for v in strata.values())
    picked = {k: 1 for k in queues}
    while len(order) < total:
        n = len(order) + 1
        k = max(
            (k for k in queues if queues[k]),
            key=lambda k: (len(strata[k]) * n / total - picked[k], len(strata[k]), k),
        )
        order.append((k, queues[k].pop(0)))
        picked[k] += 1
    return order


def select_samples(
    samples: list[Sample], limit: int | None, *, plan: SamplingPlan | None = None, seed: int | None = None
) -> tuple[list[Sample], SamplingRecord]:
    """The samples to run under ``limit`` (all of them without one) and the record of the draw.

    Draws are nested: with the same seed, ``limit=12`` selects the ``limit=10`` samples and two more, so a
    run resumed with a larger limit asks only for the new ones. With a ``group`` key whole groups are
    drawn, as many as fit in ``limit`` (at least one).
    """
    plan = plan or SamplingPlan()
    if limit is None or limit >= len(samples):
        return list(samples), SamplingRecord(
            method="all", limit=limit, population=len(samples), selected=len(samples)
        )
    seed = DEFAULT_SEED if seed is None else seed
    rng = random.Random(seed)
    units: dict[Any, list[int]] = {}
    for i, s in enumerate(samples):
        key = s.metadata.get(plan.group, s.id) if plan.group else s.id
        units.setdefault(key, []).append(i)
    strata: dict[str, list[Any]] = {}
    for key, idx in units.items():
        md = samples[idx[0]].metadata
        strata.setdefault(_label([md.get(k) for k in plan.strata]), []).append(key)
    picked: list[int] = []
    by_stratum = {
        name: {"population": sum(len(units[k]) for k in members), "selected": 0}
        for name, members in sorted(strata.items())
    }
    for name, key in _order(strata, rng):
        idx = units[key]
        if picked and len(picked) + len(idx) > limit:
            if plan.group:
                continue  # a smaller group further on may still fit
            break
        picked.extend(idx)
        by_stratum[name]["selected"] += len(idx)
        if len(picked) >= limit:
            break
    picked.sort()
    chosen = [samples[i] for i in picked]
    return chosen, SamplingRecord(
        method="stratified" if plan.strata else "random",
        limit=limit,
        seed=seed,
        strata=list(plan.strata),
        group=plan.group,
        population=len(samples),
        selected=len(chosen),
        by_stratum=by_stratum,
    )


__all__ = ["DEFAULT_SEED", "SamplingPlan", "SamplingRecord", "select_samples"]
