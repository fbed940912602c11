"""The recommendation follows its stated rule over many candidate sets; 2,000-sample dossiers with a planted
regression and with equal quality (random disagreements both ways)."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import pytest
from compare_fixtures import WORKLOAD, synthetic_dossier

from clearance.compare import RULE, compare_candidates, diff_dossiers
from clearance.workload import load_workload


def _outcomes(n: int, p: float, seed: int) -> list[bool]:
    rng = random.Random(seed)
    return [rng.random() < p for _ in range(n)]


def test_planted_regression_in_2000_samples_is_significant_and_equal_quality_is_not(tmp_path: Path) -> None:
    base = _outcomes(2000, 0.8, 1)
    rng = random.Random(2)
    # regression: 4 % of the correct answers turn wrong, nothing improves
    worse = [ok and rng.random() >= 0.04 for ok in base]
    # equal quality: 30 correct answers turn wrong and 30 wrong ones turn correct, at random
    right = [i for i, ok in enumerate(base) if ok]
    wrong = [i for i, ok in enumerate(base) if not ok]
    flip = set(rng.sample(right, 30)) | set(rng.sample(wrong, 30))
    equal = [(not ok) if i in flip else ok for i, ok in enumerate(base)]
    a = synthetic_dossier(tmp_path, "Qwen3.5-9B", base, tps=5000, seed=1)
    b = synthetic_dossier(tmp_path, "Qwen3.5-27B", worse, tps=5000, seed=2)
    c = synthetic_dossier(tmp_path, "Qwen3.5-122B-A10B", equal, tps=5000, seed=3)
    reg = diff_dossiers(a, b)
    assert reg.exit_code == 1
    d = reg.comparison.regressions[0]
    assert d.fact == "evals.bench-qa.accuracy" and d.p_adjusted is not None and d.p_adjusted < 1e-6
    assert d.ci_high is not None and d.ci_high < 0 and d.worse_only and not d.better_only
    assert len([f for f in reg.comparison.flips if f.direction == "pass→fail"]) == d.worse_only
    same = diff_dossiers(a, c)
    assert same.exit_code == 0 and not same.comparison.improvements
    e = same.comparison.differences[0]
    assert e.ci_low is not None and e.ci_high is not None and e.ci_low < 0 < e.ci_high
    assert e.worse_only and e.better_only  # disagreements both ways, no verdict


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_recommendation_is_the_cheapest_eligible_for_every_arrangement(
    tmp_path: Path, order: tuple[int, ...]
) -> None:
    # three candidates: throughput (so cost) and safety evidence (so policy) vary with the permutation
    tps = [9000.0, 3000.0, 1000.0]
    safety = [0.95, 0.5, 0.95]  # the second fails the pilot policy's safety gate whatever its cost
    outcomes = _outcomes(300, 0.8, 7)
    names = ["Qwen3.5-9B", "Qwen3.5-27B", "Qwen3.5-122B-A10B"]
    refs = [
        str(
            synthetic_dossier(
                tmp_path, names[i], outcomes, tps=tps[order[i]], safety_ci_low=safety[i], seed=i + 1
            )
        )
        for i in range(3)
    ]
    rep = compare_candidates(refs, load_workload(WORKLOAD), gpus=["H100-SXM"])
    rec = rep.recommendation
    eligible = [c for c in rep.candidates if c.passes_policy and c.meets_slo]
    assert rec.rule == RULE and rec.status == "recommended"

    def cost(c: object) -> float:
        b = getattr(c, "best", None)
        return b.horizon_cost if b is not None and b.horizon_cost is not None else math.inf

    assert rec.candidate == min(eligible, key=cost).name
    assert "Qwen3.5-27B" not in {c.name for c in eligible}
    # equal quality on the shared samples: no trade-off claimed
    assert not rec.trade_offs
