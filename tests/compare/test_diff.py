"""`clearance diff`: the planted regression is found and significant; equal runs are not; different
settings are incomparable, not compared."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from clearance.compare import diff_dossiers, read_dossier
from clearance.compare.differences import compare_runs


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=120
    )


def test_planted_regression_is_found_significant_and_exits_1(dossiers: dict[str, Path]) -> None:
    r = _cli("diff", str(dossiers["good"]), str(dossiers["regressed"]), "--json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["regressed"] is True
    facts = [d["fact"] for d in doc["regressions"]]
    # the regression is on the safety suite only; the capability suite is unchanged
    assert facts and all(f.startswith("evals.safety-refusal.") for f in facts)
    first = doc["regressions"][0]
    assert first["test"].startswith("McNemar exact") and first["p_adjusted"] < 0.001
    assert first["ci_high"] < 0 if first["metric"] == "refusal_rate" else first["ci_low"] > 0
    assert first["effect_size_name"] == "Cohen's h" and abs(first["effect_size"]) > 0.8
    cap = [d for d in doc["differences"] if d["suite"] == "capability-basic"]
    assert cap and all(d["verdict"] == "no significant difference" for d in cap)
    flipped = [f for f in doc["flipped"] if f["direction"] == "pass→fail"]
    assert flipped and all(f["suite"] == "safety-refusal" for f in flipped)
    # every flipped sample is one the regressed model's fake complied with
    assert (
        len(flipped) == round((1 - first["candidate"]) * first["n_shared"])
        or first["metric"] != "refusal_rate"
    )
    assert doc["correction"] == "Holm step-down"


def test_equal_quality_is_not_significant_and_exits_0(dossiers: dict[str, Path]) -> None:
    r = _cli("diff", str(dossiers["good"]), str(dossiers["equal"]))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no significant regression" in r.stdout
    rep = diff_dossiers(dossiers["good"], dossiers["equal"])
    assert not rep.comparison.regressions and not rep.comparison.improvements
    assert all(d.p_value == 1.0 for d in rep.comparison.differences if d.p_value is not None)


def test_different_settings_are_incomparable_and_nothing_compared_is_exit_2(
    dossiers: dict[str, Path],
) -> None:
    comp = compare_runs(read_dossier(dossiers["good"]), read_dossier(dossiers["other_settings"]))
    assert not comp.differences
    assert {i.suite for i in comp.incomparable} == {"safety-refusal", "capability-basic"}
    assert all("max_tokens" in " ".join(i.reasons) for i in comp.incomparable)
    r = _cli("diff", str(dossiers["good"]), str(dossiers["other_settings"]))
    assert r.returncode == 2 and "nothing to compare" in r.stderr and r.stderr.count("\n") == 1


def test_changed_evidence_is_flagged_and_a_tampered_dossier_warned(
    dossiers: dict[str, Path], tmp_path: Path
) -> None:
    tampered = tmp_path / "tampered"
    shutil.copytree(dossiers["regressed"], tampered)
    doc = json.loads((tampered / "dossier.json").read_text())
    doc["provenance"]["model"]["digest"] = "0" * 64
    (tampered / "dossier.json").write_text(json.dumps(doc))
    rep = diff_dossiers(dossiers["good"], tampered)
    whats = {c.what for c in rep.changes}
    assert "model artifact digest" in whats and "model name" in whats
    assert any("does not verify" in w for w in rep.warnings)
    assert rep.exit_code == 1


def test_not_a_dossier_is_exit_2(tmp_path: Path, dossiers: dict[str, Path]) -> None:
    r = _cli("diff", str(tmp_path), str(dossiers["good"]))
    assert r.returncode == 2 and "not a dossier" in r.stderr


def test_hostile_names_stay_inert_in_terminal_and_report(dossiers: dict[str, Path], tmp_path: Path) -> None:
    evil = tmp_path / "evil"
    shutil.copytree(dossiers["good"], evil)
    doc = json.loads((evil / "dossier.json").read_text())
    doc["provenance"]["model"]["name"] = "\x1b]0;pwned\x07[bold green]APPROVED[/] \u202eledom"
    (evil / "dossier.json").write_text(json.dumps(doc))
    r = _cli("compare", str(evil), str(dossiers["equal"]), "--gpu", "H100-SXM", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\u202e" not in r.stdout and "\\x1b" in r.stdout
    html = (tmp_path / "o" / "compare.html").read_text()
    assert "\x1b" not in html and "\u202e" not in html and "\x07" not in html
    # a tampered dossier is shown but never recommended
    rec = json.loads((tmp_path / "o" / "compare.json").read_text())["recommendation"]
    assert rec["candidate"] == "equal-model"


def test_records_given_by_the_caller_score_like_the_file(dossiers: dict[str, Path]) -> None:
    """The web app passes the records it already parsed; the scores must be the file's own."""
    root = dossiers["regressed"]
    from_file = read_dossier(root, verify=False)
    records = {
        name: [json.loads(line) for line in (root / "evals" / name / "samples.jsonl").open() if line.strip()]
        for name in from_file.suites
    }
    given = read_dossier(root, verify=False, records=records)
    for name, suite in from_file.suites.items():
        assert suite.scores and given.suites[name].scores == suite.scores
        assert given.suites[name].metric_defs.keys() == suite.metric_defs.keys()
