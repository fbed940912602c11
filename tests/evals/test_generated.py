"""Generated capability items: seeded, exact answers, fresh with a new seed."""

from __future__ import annotations

import datetime as dt
import re

from clearance.evals import load_suite
from clearance.evals.generated import generate_items
from clearance.evals.scorers import get_scorer


def test_same_seed_same_items_new_seed_new_items() -> None:
    a, b, c = generate_items(0, 40), generate_items(0, 40), generate_items(1, 40)
    assert [s.model_dump() for s in a] == [s.model_dump() for s in b]
    assert {s.input for s in a}.isdisjoint({s.input for s in c}) or len(
        {s.input for s in a} & {s.input for s in c}
    ) < 3
    assert {s.metadata["category"] for s in a} == {
        "arithmetic_word_problem",
        "dates",
        "unit_conversion",
        "logic_ordering",
    }


def test_answers_are_exact_and_scored() -> None:
    match = get_scorer("match").fn
    for s in generate_items(7, 80):
        t = str(s.target)
        q = str(s.input)
        if s.metadata["category"] == "unit_conversion":
            x = int(re.search(r"are in (\d+) ", q).group(1))  # type: ignore[union-attr]
            assert int(t) % x == 0
        if "days after" in q:
            start, k = re.search(r"(\d+) days after (\d{4}-\d{2}-\d{2})", q).group(2, 1)  # type: ignore[union-attr]
            assert dt.date.fromisoformat(start) + dt.timedelta(days=int(k)) == dt.date.fromisoformat(t)
        assert match(s, f"The answer is {t}.").value == 1.0, (q, t)
        assert match(s, "I do not know.").value == 0.0


def test_suite_records_seed_and_digest() -> None:
    s = load_suite("capability-generated")
    assert (
        len(s.dataset.samples) == 60 and "seed 0" in s.dataset.ref.source and len(s.dataset.ref.sha256) == 64
    )
