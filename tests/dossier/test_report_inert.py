"""report.html is inert: no control bytes from a model or endpoint, and a strict Content-Security-Policy.

Before, the report carried raw NUL/ESC bytes from model answers and names and sent no CSP at all.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from dossier_fixtures import make_input

from clearance.dossier import RunDir, write_dossier
from clearance.dossier.records import SampleView
from clearance.dossier.report import render_report

HOSTILE = "evil\x00\x1b]0;pwned\x07\x1b[2J\u202egnp.exe\x9b31m"


def _hostile_input():  # type: ignore[no-untyped-def]
    data = make_input()
    data.title = f"model {HOSTILE}"
    data.failing_samples.append(
        SampleView(suite="safety-refusal", sample_id="x-1", prompt=HOSTILE, answer=HOSTILE, note=HOSTILE)
    )
    data.provenance.endpoint.served_model = HOSTILE  # type: ignore[union-attr]
    return data


def test_report_strips_control_bytes_and_bidi_overrides() -> None:
    html = render_report(_hostile_input())
    assert "evil" in html and "pwned" in html  # the text is kept, the bytes that act on it are not
    bad = [c for c in html if (ord(c) < 0x20 and c not in "\n\t\r") or 0x7F <= ord(c) <= 0x9F]
    assert not bad, sorted({hex(ord(c)) for c in bad})
    assert "\u202e" not in html


def test_report_has_a_strict_content_security_policy_before_its_style() -> None:
    html = render_report(make_input())
    m = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert m is not None
    csp = m.group(1)
    assert "default-src 'none'" in csp and "img-src data:" in csp and "base-uri 'none'" in csp
    assert "unsafe-inline" not in csp and "script-src" not in csp  # nothing may run
    assert re.search(r"style-src 'sha256-[A-Za-z0-9+/]+=*'", csp)
    assert html.index("Content-Security-Policy") < html.index("<style>")
    assert " style=" not in html  # no inline style attribute that the policy would block


CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_report_with_csp_renders_in_headless_chromium_without_violations(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run").begin()
    w = write_dossier(rd.path, _hostile_input())
    rd.release()
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        Path(w.report_html).resolve().as_uri(),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert 'class="banner' in r.stdout, r.stderr[-2000:]  # the page loaded and was parsed
    violations = [line for line in r.stderr.splitlines() if "Content Security Policy" in line]
    assert not violations, violations[:3]  # its own style block applies; nothing it needs is blocked
