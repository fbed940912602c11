"""`clearance compare`: dossiers and catalog models side by side; the recommendation follows its rule."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from clearance.compare import RULE, compare_candidates
from clearance.policy import load_policy
from clearance.workload import load_workload

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "workload.yaml"
PILOT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "policy-pilot.yaml"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=180
    )


def _cost(c: dict) -> float:
    b = c.get("best")
    return b["horizon_cost"] if b and b.get("horizon_cost") is not None else math.inf


def test_dossiers_recommendation_is_the_cheapest_that_passes_and_meets_the_slo(
    dossiers: dict[str, Path], tmp_path: Path
) -> None:
    refs = [str(dossiers[k]) for k in ("equal", "regressed", "good")]
    r = _cli(
        "compare",
        *refs,
        "--workload",
        str(EXAMPLE),
        "--gpu",
        "H100-SXM",
        "--out",
        str(tmp_path / "o"),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    rec = doc["recommendation"]
    assert set(rec) >= {"candidate", "rule", "reasons"} and rec["rule"] == RULE
    cands = {c["name"]: c for c in doc["candidates"]}
    assert len(cands) == 3
    eligible = [c for c in doc["candidates"] if c["passes_policy"] and c["meets_slo"]]
    # the rule, checked from the output alone
    assert rec["candidate"] == min(eligible, key=_cost)["name"]
    assert rec["candidate"] == "good-model"
    # the regressed model is rejected by policy and never recommended, whatever its cost
    assert cands["regressed-model"]["policy_status"] == "rejected"
    # equal quality, different cost: the slower endpoint needs more replicas
    good, equal = cands["good-model"], cands["equal-model"]
    assert good["best"]["latency_source"] == equal["best"]["latency_source"] == "measured"
    assert equal["best"]["replicas"] > good["best"]["replicas"] and _cost(equal) > _cost(good)
    # and the paired tests between them find no significant difference
    pair = [d for d in doc["differences"] if {d["a"], d["b"]} == {"good-model", "equal-model"}]
    assert pair and not any(d["difference"]["significant"] for d in pair)
    # the regressed one differs significantly on the safety gate from both others
    reg = [
        d
        for d in doc["differences"]
        if "regressed-model" in (d["a"], d["b"]) and d["difference"]["significant"]
    ]
    assert reg and all(d["difference"]["suite"] == "safety-refusal" for d in reg)
    # gated metrics with intervals, planner beside the measurement
    m = next(x for x in good["gated_metrics"] if x["fact"] == "evals.safety-refusal.refusal_rate")
    assert m["value"] == 1.0 and m["ci_low"] < 1.0 and m["n"] == 54
    check = good["best"]["planner_check"]
    assert check["measured_tokens_per_s"] > 0 and check["estimated_tokens_per_s"] > 0
    assert check["tokens_per_s_error"] == pytest.approx(
        check["estimated_tokens_per_s"] / check["measured_tokens_per_s"] - 1
    )
    assert (tmp_path / "o" / "compare.html").is_file() and (tmp_path / "o" / "compare.json").is_file()


def test_a_better_dearer_candidate_is_stated_as_a_trade_off(dossiers: dict[str, Path]) -> None:
    # Under a policy whose safety floor lets the regressed model pass, it is cheaper than 'equal' (faster endpoint),
    # and 'equal' is significantly better on the safety gate: the trade-off is stated in numbers.
    wl = load_workload(EXAMPLE)
    pol = load_policy(PILOT)
    gates = [g.model_copy(update={"threshold": 0.1}) if g.id == "safety-refusal" else g for g in pol.gates]
    lenient = pol.model_copy(update={"gates": gates})
    rep = compare_candidates(
        [str(dossiers["regressed"]), str(dossiers["equal"])], wl, policy=lenient, gpus=["H100-SXM"]
    )
    rec = rep.recommendation
    assert rec.candidate == "regressed-model" and rec.status == "recommended"
    assert any(
        t.startswith("equal-model is significantly better on evals.safety-refusal.refusal_rate")
        for t in rec.trade_offs
    )
    assert any("Holm-adjusted p" in t and "over 3 years" in t for t in rec.trade_offs)
    assert rec.flips  # what change would flip it is stated


def test_three_qwen_sizes_on_a_named_gpu_and_workload() -> None:
    names = ["Qwen3.5-9B", "Qwen3.5-27B", "Qwen3.5-122B-A10B"]
    r = _cli("compare", *names, "--workload", str(EXAMPLE), "--gpu", "H100-SXM", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    cands = {c["name"]: c for c in doc["candidates"]}
    assert list(cands) == names
    for c in cands.values():
        assert (
            c["evidence"] == "estimated" and c["policy_status"] == "not evaluated" and not c["passes_policy"]
        )
        s = c["sizings"][0]
        assert s["gpu"] == "H100-SXM" and s["fits"] and s["latency_source"] == "planner estimate"
        # the workload owns 8 H100s: each sizing says whether its fleet fits in them
        assert s["owned_gpus"] == 8 and s["owned_suffices"] == (s["gpus_total"] <= 8)
    # bigger models need at least as many GPUs per replica
    per = [cands[n]["sizings"][0]["gpus_per_replica"] for n in names]
    assert per == sorted(per) and per[-1] > per[0]
    rec = doc["recommendation"]
    # nothing is measured: the recommendation is provisional, never an approval, and follows its rule
    assert rec["status"] == "provisional" and "provisional" in rec["rule"]
    meeting = [c for c in doc["candidates"] if c["meets_slo"]]
    assert rec["candidate"] == min(meeting, key=_cost)["name"]
    assert any("TTFT p95 SLO below" in f for f in rec["flips"])


def test_unknown_candidate_is_one_line_exit_2() -> None:
    r = _cli("compare", "No-Such-Model-7B", "--workload", str(EXAMPLE))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "No-Such-Model-7B" in r.stderr


def test_a_model_directory_is_a_candidate_beside_a_catalog_name(tmp_path: Path) -> None:
    from compare_fixtures import small_model

    model = small_model(tmp_path / "small")
    r = _cli("compare", str(model), "Qwen3.5-9B", "--workload", str(EXAMPLE), "--gpu", "L4", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    kinds = {c["ref"]: (c["kind"], c["evidence"]) for c in doc["candidates"]}
    assert kinds[str(model)] == ("model", "estimated") and kinds["Qwen3.5-9B"] == ("model", "estimated")
    small = next(c for c in doc["candidates"] if c["ref"] == str(model))
    assert small["sizings"][0]["gpu"] == "L4" and small["sizings"][0]["fits"]
