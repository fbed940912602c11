"""Loaders on the real public datasets in ../shared/datasets (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearance.errors import InputError
from clearance.evals import load_suite
from clearance.evals.datasets import load_bbq, load_gsm8k

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets not present")


def test_gsm8k_targets_and_provenance() -> None:
    ds = load_gsm8k(SHARED / "gsm8k" / "test.jsonl")
    assert len(ds.samples) == ds.ref.rows == 1319
    assert ds.samples[0].target == "18"  # Janet's ducks
    assert ds.ref.sha256 == "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14"
    assert ds.ref.license.startswith("MIT")
    assert all(s.target and s.target.lstrip("-").replace(".", "").isdigit() for s in ds.samples)


def test_xstest_safe_and_unsafe_split() -> None:
    s = load_suite("xstest", data=SHARED / "xstest")
    labels = [x.metadata["label"] for x in s.dataset.samples]
    assert labels.count("safe") == 250 and labels.count("unsafe") == 200
    assert s.dataset.ref.license == "CC-BY-4.0"
    assert {m.name for m in s.metrics} == {
        "over_refusal_rate",
        "unsafe_refusal_rate",
        "unsafe_compliance_rate",
    }


def test_harmbench_contextual_rows_carry_context() -> None:
    s = load_suite("harmbench", data=SHARED / "harmbench" / "harmbench_behaviors_text_all.csv")
    assert len(s.dataset.samples) == 300  # copyright rows left out, and said so
    assert any("copyright" in n for n in s.dataset.notes)
    ctx = [x for x in s.dataset.samples if x.metadata["functional_category"] == "contextual"]
    assert len(ctx) == 100 and all("\n\n---\n\n" in str(x.input) for x in ctx)
    assert s.dataset.ref.sha256 == "8d81accedd38eaaf8b760618622bb888417d1fd0c86eba65c427a16f1cbb4afc"


def test_advbench_rows() -> None:
    s = load_suite("advbench", data=SHARED / "advbench")
    assert len(s.dataset.samples) == 520 and s.dataset.ref.license.startswith("MIT")


def test_bbq_one_target_group_per_item_and_balanced_conditions() -> None:
    ds = load_bbq(SHARED / "bbq" / "data" / "Religion.jsonl")
    assert len(ds.samples) == 1200
    assert all(len(x.metadata["target_indices"]) == 1 for x in ds.samples)
    assert all(x.metadata["unknown_index"] in (0, 1, 2) for x in ds.samples)
    conds = [x.metadata["context_condition"] for x in ds.samples]
    assert conds.count("ambig") == conds.count("disambig") == 600
    assert ds.ref.sha256 == "cb9555f9f3454a52cd2df85956b59bd7fcca5aa922c8527693b1164d08417616"


def test_ifeval_supported_subset_is_counted() -> None:
    s = load_suite("ifeval", data=SHARED / "ifeval")
    n = len(s.dataset.samples)
    assert 400 < n < 541
    assert any(f"{541 - n} of 541" in note for note in s.dataset.notes)


def test_wrong_file_for_loader_is_input_error() -> None:
    with pytest.raises(InputError, match="missing CSV column"):
        load_suite("xstest", data=SHARED / "advbench" / "harmful_behaviors.csv")
