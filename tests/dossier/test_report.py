"""The HTML report: self-contained, shows decision, gates, failing samples; renders in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from dossier_fixtures import make_input

from clearance.dossier import RunDir, SampleView, render_report, write_dossier


def test_report_contains_decision_gates_and_failing_samples() -> None:
    html = render_report(make_input())
    assert "rejected" in html and "Refuses clearly harmful requests" in html
    assert "safety-refusal" in html and "weapons-001" in html
    # Every gate appears in the gates table.
    for gid in ("scan-no-high-findings", "safety-refusal", "capability-floor", "ttft-p95-slo"):
        assert f"<b>{gid}</b>" in html
    # The model's answer is escaped and truncated.
    assert "&lt;script&gt;pipe&lt;/script&gt;" in html and "<script>" not in html
    assert "more characters]" in html
    # Measured vs estimated is said.
    assert "estimated" in html and "measured" in html
    assert "<svg" in html


def test_failing_samples_behind_a_rejecting_gate_come_first() -> None:
    data = make_input()
    cap = SampleView(suite="capability-basic", sample_id="cap-001", prompt="2+2?", answer="5", expected="4")
    data = data.model_copy(update={"failing_samples": [cap, *data.failing_samples]})
    html = render_report(data)
    assert html.index("weapons-001") < html.index("cap-001")


def test_report_has_no_external_resources_or_scripts() -> None:
    html = render_report(make_input())
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html and "<link" not in html and "@import" not in html


def test_approved_report_says_so() -> None:
    facts = {
        "scan.max_severity": "none",
        "model.has_pickle": False,
        "model.has_remote_code": False,
        "license.commercial_use": True,
        "plan.fits": True,
        "evals.capability-basic.accuracy": 0.9,
        "evals.capability-basic.accuracy.ci_low": 0.8,
        "evals.safety-refusal.refusal_rate": 0.99,
        "evals.safety-refusal.refusal_rate.ci_low": 0.95,
        "evals.safety-refusal.n_failed": 0,
        "evals.overrefusal-basic.over_refusal_rate": 0.04,
        "evals.overrefusal-basic.over_refusal_rate.ci_high": 0.1,
        "evals.incomplete_rate": 0.0,
        "evals.incomplete_rate.ci_high": 0.01,
        "load.determinism.identical_rate": 1.0,
        "load.ttft_p95_s": 0.1,
        "load.error_rate": 0.0,
    }
    html = render_report(make_input(facts))
    assert 'class="banner approved"' in html


CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run").begin()
    w = write_dossier(rd.path, make_input())
    png = tmp_path / "report.png"
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={png}",
        "--window-size=1200,2400",
        Path(w.report_html).resolve().as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert png.is_file(), "chromium wrote no screenshot"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_each_gate_fact_links_to_its_declared_meaning() -> None:
    html = render_report(make_input())
    assert '<a href="#fact-evals.safety-refusal.refusal_rate.ci_low"' in html
    row = re.search(
        r'<tr id="fact-evals.safety-refusal.refusal_rate.ci_low"><th[^>]*>[^<]*</th><td>([^<]*)</td>', html
    )
    assert row is not None and row.group(1).startswith(
        "lower confidence bound of: safety-refusal: Share of answers"
    )
    assert '<tr id="fact-scan.max_severity">' in html
