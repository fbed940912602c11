"""``--limit N`` draws a seeded sample stratified over a suite's categories (issue 9)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from clearance.endpoint import OpenAIClient
from clearance.evals import load_suite, run_suite
from clearance.evals.sampling import SamplingPlan, select_samples
from clearance.evals.types import Sample
from fakes.openai_server import FakeOpenAI

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"  # ../shared beside the repo


def _samples(n_a: int, n_b: int) -> list[Sample]:
    rows = [
        Sample(id=f"a{i}", input="x", metadata={"label": "safe", "type": f"t{i % 3}"}) for i in range(n_a)
    ]
    rows += [
        Sample(id=f"b{i}", input="x", metadata={"label": "unsafe", "type": f"u{i % 2}"}) for i in range(n_b)
    ]
    return rows


def test_every_stratum_is_drawn_and_the_draw_is_seeded() -> None:
    rows = _samples(90, 10)
    plan = SamplingPlan(strata=["label", "type"])
    got, rec = select_samples(rows, 10, plan=plan, seed=3)
    assert len(got) == 10 and rec.method == "stratified" and rec.seed == 3
    assert {s.metadata["type"] for s in got} == {"t0", "t1", "t2", "u0", "u1"}
    again, _ = select_samples(rows, 10, plan=plan, seed=3)
    other, _ = select_samples(rows, 10, plan=plan, seed=4)
    assert [s.id for s in again] == [s.id for s in got]
    assert [s.id for s in other] != [s.id for s in got]
    assert sum(v["selected"] for v in rec.by_stratum.values()) == 10
    assert [s.id for s in got] == sorted((s.id for s in got), key=[r.id for r in rows].index)


def test_fewer_units_than_strata_still_covers_the_first_key() -> None:
    got, _ = select_samples(_samples(90, 10), 2, plan=SamplingPlan(strata=["label", "type"]), seed=0)
    assert {s.metadata["label"] for s in got} == {"safe", "unsafe"}


def test_groups_are_drawn_whole() -> None:
    rows = [
        Sample(id=f"g{g}-{i}", input="x", metadata={"template": g, "category": f"c{g % 4}"})
        for g in range(12)
        for i in range(6)
    ]
    got, _ = select_samples(rows, 24, plan=SamplingPlan(strata=["category"], group="template"), seed=1)
    per = Counter(s.metadata["template"] for s in got)
    assert len(got) == 24 and set(per.values()) == {6} and len({s.metadata["category"] for s in got}) == 4


def test_no_limit_or_a_large_one_takes_everything() -> None:
    rows = _samples(5, 5)
    assert select_samples(rows, None)[1].method == "all"
    assert len(select_samples(rows, 50)[0]) == 10


@pytest.mark.skipif(not (SHARED / "xstest").is_dir(), reason="../shared/datasets absent")
def test_repro_xstest_limit_measures_the_unsafe_half() -> None:
    """Issue 9: --limit 20 took the first rows, so XSTest's unsafe half went unmeasured."""
    suite = load_suite("xstest", data=SHARED / "xstest")
    got, _ = select_samples(suite.dataset.samples, 20, plan=suite.sampling, seed=0)
    labels = Counter(s.metadata["label"] for s in got)
    assert labels["unsafe"] >= 5 and labels["safe"] >= 5
    first = Counter(s.metadata["label"] for s in suite.dataset.samples[:20])
    assert first["unsafe"] == 0  # what the old first-N selection measured


@pytest.mark.skipif(not (SHARED / "harmbench").is_dir(), reason="../shared/datasets absent")
def test_repro_harmbench_limit_measures_contextual_behaviours() -> None:
    suite = load_suite("harmbench", data=SHARED / "harmbench")
    got, _ = select_samples(suite.dataset.samples, 20, plan=suite.sampling, seed=0)
    kinds = Counter(s.metadata["functional_category"] for s in got)
    assert kinds["contextual"] >= 1 and kinds["standard"] >= 1
    cats = {s.metadata["category"] for s in got}
    assert len(cats) >= 5


@pytest.mark.skipif(not (SHARED / "bbq").is_dir(), reason="../shared/datasets absent")
def test_repro_bbq_limit_measures_every_category_and_condition() -> None:
    suite = load_suite("bbq", data=SHARED / "bbq")
    got, _ = select_samples(suite.dataset.samples, 48, plan=suite.sampling, seed=0)
    pairs = {(s.metadata["category"], s.metadata["context_condition"]) for s in got}
    cats = {c for c, _ in pairs}
    assert len(cats) == len({s.metadata["category"] for s in suite.dataset.samples})
    assert {c for _, c in pairs} == {"ambig", "disambig"}


def test_run_records_the_draw_and_sample_seed_changes_it(tmp_path: Path) -> None:
    async def go(url: str, out: Path, seed: int | None) -> object:
        async with OpenAIClient(url, max_retries=0) as c:
            return await run_suite(
                c, load_suite("safety-refusal"), out, limit=9, sample_seed=seed, progress=False
            )

    with FakeOpenAI("I can't help with that.") as srv:
        res = asyncio.run(go(srv.url, tmp_path / "a", None))
        res2 = asyncio.run(go(srv.url, tmp_path / "b", 7))
    assert res.sampling.method == "stratified" and res.sampling.seed == 0  # type: ignore[attr-defined]
    assert len(res.sampling.by_stratum) == 9 and res.n_selected == 9  # type: ignore[attr-defined]
    assert res2.sampling.seed == 7  # type: ignore[attr-defined]
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert run["sampling"]["strata"] == ["category"]
    cats = {json.loads(line)["id"] for line in (tmp_path / "a" / "samples.jsonl").read_text().splitlines()}
    assert len(cats) == 9


def test_draws_are_nested_so_a_larger_limit_resumes_a_smaller_one() -> None:
    rows = _samples(90, 10)
    plan = SamplingPlan(strata=["label", "type"])
    small = {s.id for s in select_samples(rows, 10, plan=plan, seed=5)[0]}
    large = {s.id for s in select_samples(rows, 40, plan=plan, seed=5)[0]}
    assert small <= large and len(large) == 40
    counts = Counter(s.metadata["label"] for s in select_samples(rows, 50, plan=plan, seed=5)[0])
    assert 40 <= counts["safe"] <= 46  # close to the 90:10 population share once every stratum is in
