"""The diff and compare pages over a real registry: real sealed dossiers whose capability suite has the
same dataset bytes and settings, so the paired tests run (a planted regression of 25 flipped samples out
of 60 must be found), flipped samples link to their drill-down, hostile strings stay text, untrusted
evidence gives a message and no numbers, and bad requests get one-line 4xx answers."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from web_fixtures import HOSTILE, PASSWORD, login, make_dossier

DATASET_SHA = hashlib.sha256(b"web-compare-capability-dataset").hexdigest()
CONFIG_DIGEST = hashlib.sha256(b"web-compare-capability-config").hexdigest()
N = 60


def seal(
    root: Path,
    label: str,
    failing_ids: set[int],
    *,
    key: Path | None,
    model: str = "acme-chat-7b",
    hostile_output: str | None = None,
    max_tokens: int = 256,
    odd: dict[str, object] | None = None,
) -> Path:
    """A sealed dossier with a 60-sample capability suite, the given samples failing, facts that
    follow from the samples (accuracy with an interval), judged under the web test policy."""
    acc = 1 - len(failing_ids) / N
    facts: dict[str, object] = {
        "scan.max_severity": "none",
        "evals.capability-basic.accuracy": acc,
        "evals.capability-basic.accuracy.ci_low": max(0.0, acc - 0.1),
        "evals.capability-basic.accuracy.ci_high": min(1.0, acc + 0.1),
        "evals.capability-basic.accuracy.n": N,
        "evals.safety-refusal.refusal_rate": 0.99,
        "evals.safety-refusal.refusal_rate.ci_low": 0.95,
        "evals.safety-refusal.refusal_rate.ci_high": 1.0,
    }
    suite = {
        "dataset": {"name": "capability-web", "sha256": DATASET_SHA},
        "config_digest": CONFIG_DIGEST if max_tokens == 256 else CONFIG_DIGEST[::-1],
        "generation": {"temperature": 0.0, "max_tokens": max_tokens},
        "metrics": {
            "accuracy": {
                "value": acc,
                "ci_low": facts["evals.capability-basic.accuracy.ci_low"],
                "ci_high": facts["evals.capability-basic.accuracy.ci_high"],
                "n": N,
            }
        },
    }
    return make_dossier(
        root,
        facts,
        name=model,
        label=label,
        title=f"{model} {label}",
        n_samples=N,
        failing_ids=failing_ids,
        failing_output=hostile_output,
        suite_fields={**suite, **(odd or {})},
        key=key,
    )


BASE_FAIL = {0, 1, 2}  # 57/60 correct: 0.95, passes the capability floor of 0.5
CAND_FAIL = BASE_FAIL | set(range(10, 45))  # 35 more fail
FIXED = {1}  # failed in the baseline, passes in the candidate: 23/60 correct (0.383), below the floor


def _runs(site, tmp_path, **kw) -> tuple[int, int]:
    k = site.keys.runner_key
    a = site.reg.add(seal(tmp_path, "v1", BASE_FAIL, key=k), registered_by="lead").id
    b = site.reg.add(seal(tmp_path, "v2", CAND_FAIL - FIXED, key=k, **kw), registered_by="lead").id
    return a, b


def _approve(site, run_id: int) -> None:
    for who, role in (("alice", "security"), ("bob", "ml")):
        person = site.people.get(who)
        key = site.people.signing_key(person, PASSWORD, "test", action="signoff")
        site.reg.sign_off(run_id, role=role, key=key, decision="approve", signer=who)
    assert site.reg.status(run_id).status == "approved"


def test_diff_page_finds_the_planted_regression_and_links_flipped_samples(site, tmp_path):
    a, b = _runs(site, tmp_path)
    login(site.client, "vic")
    r = site.client.get(f"/diff?baseline={a}&candidate={b}")
    assert r.status_code == 200, r.text
    html = r.text
    assert 'id="verdict"' in html and "1 REGRESSION" in html
    reg = html.split('id="regressions"', 1)[1].split("</table>", 1)[0]
    assert "evals.capability-basic.accuracy" in reg
    assert "0.95" in reg and "0.383" in reg  # 57/60 → 23/60
    assert "-0.567" in reg  # Δ
    assert "McNemar exact" in reg and "Cohen&#39;s h" in reg
    p_holm = float(re.findall(r'<td class="num">([0-9.e-]+)</td>', reg)[-1])
    assert p_holm < 0.001  # 35 discordant pairs against 1
    worse = html.split('id="flipped-worse"', 1)[1].split("</table>", 1)[0]
    assert worse.count('class="flip"') == 35
    link = f'/runs/{b}/sample?suite=capability-basic&amp;id=cap-00010"'
    assert link in worse
    assert "Question 10: what is 10 + 10?" in worse  # the prompt beside it
    better = html.split('id="flipped-better"', 1)[1].split("</table>", 1)[0]
    assert "cap-00001" in better
    changes = html.split('id="changes"', 1)[1].split("</table>", 1)[0]
    assert "model artifact digest" in changes
    assert site.client.get(link[:-1].replace("&amp;", "&")).status_code == 200  # the drill-down opens


def test_diff_without_regression_and_with_changed_settings(site, tmp_path):
    a, b = _runs(site, tmp_path, max_tokens=32)
    login(site.client, "vic")
    html = site.client.get(f"/diff?baseline={a}&candidate={b}").text
    assert 'id="nothing-compared"' in html and "max_tokens 256 vs 32" in html
    assert 'id="regressions"' not in html
    html = site.client.get(f"/diff?baseline={a}&candidate={a + 0}").text  # same run twice
    assert "at least 2 different runs" in html


def test_run_page_links_the_last_approved_run_of_the_same_model(site, tmp_path):
    a, b = _runs(site, tmp_path)
    login(site.client, "vic")
    page = site.client.get(f"/runs/{b}").text
    assert 'id="diff-last-approved"' not in page  # nothing approved yet
    assert 'action="/diff"' in page and f'name="candidate" value="{b}"' in page
    _approve(site, a)
    page = site.client.get(f"/runs/{b}").text
    assert f'id="diff-last-approved" href="/diff?baseline={a}&amp;candidate={b}"' in page
    other = site.client.get(f"/runs/{site.run_id}").text  # another model: no link
    assert 'id="diff-last-approved"' not in other


def test_compare_page_shows_outcomes_metrics_pairs_and_the_rule(site, tmp_path):
    a, b = _runs(site, tmp_path)
    k = site.keys.runner_key
    c = site.reg.add(seal(tmp_path, "v3", set(), key=k, model="acme-chat-13b"), registered_by="lead").id
    d = site.reg.add(
        seal(tmp_path, "v4", set(range(20)), key=k, model="acme-chat-3b"), registered_by="lead"
    ).id
    login(site.client, "vic")
    r = site.client.get(f"/compare?run={a}&run={b}&run={c}&run={d}")
    assert r.status_code == 200, r.text
    html = r.text
    cands = html.split('id="candidates"', 1)[1].split("</table>", 1)[0]
    assert cands.count("<tr>") == 5 and "acme-chat-13b" in cands
    assert "needs_review" in cands and "approved" in cands  # v2 is below the capability floor
    gated = html.split('id="gated"', 1)[1].split("</table>", 1)[0]
    assert "0.95 [0.85, 1]" in gated and "0.383 [0.283, 0.483]" in gated
    pairs = html.split('id="pairs"', 1)[1].split("</table>", 1)[0]
    assert pairs.count("<tr>") == 1 + 6  # six pairs, one gated metric with samples
    assert "B worse" in pairs and "B better" in pairs and "no significant difference" in pairs
    assert "cheapest candidate that passes the policy and meets the SLO" in html
    assert "3 candidates pass the policy" in html
    assert "Sizing and cost need a workload" in html
    assert "clearance compare " in html and "--workload workload.yaml" in html
    trade = html.split('id="trade-offs"', 1)[1].split("</ul>", 1)[0]
    assert f"#{c} acme-chat-13b is significantly better than #{d} acme-chat-3b" in trade
    assert f"#{a} acme-chat-7b is significantly better than #{d} acme-chat-3b" in trade
    assert f"than #{a}" not in trade  # 3 discordant samples: no significant difference between a and c


def test_runs_page_has_a_compare_form_without_script(site, tmp_path):
    _runs(site, tmp_path)
    login(site.client, "vic")
    html = site.client.get("/runs").text
    assert '<form method="get" action="/compare" id="compare-form"' in html
    assert 'type="checkbox" name="run" value="2" form="compare-form"' in html
    assert "<script" not in html


def test_hostile_strings_are_text_on_diff_and_compare(site, tmp_path):
    k = site.keys.runner_key
    a = site.reg.add(seal(tmp_path, "h1", BASE_FAIL, key=k, model=HOSTILE), registered_by="lead").id
    b = site.reg.add(
        seal(tmp_path, "h2", CAND_FAIL, key=k, model=HOSTILE, hostile_output=HOSTILE), registered_by="lead"
    ).id
    login(site.client, "vic")
    for path in (f"/diff?baseline={a}&candidate={b}", f"/compare?run={a}&run={b}"):
        r = site.client.get(path)
        assert r.status_code == 200, r.text
        assert "<script>window.pwned" not in r.text and "<img src=x" not in r.text
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in r.text
        assert "script-src" not in r.headers["content-security-policy"]
        assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_untrusted_evidence_gives_a_message_and_no_numbers(site, tmp_path):
    a, b = _runs(site, tmp_path)
    login(site.client, "vic")
    assert site.client.get(f"/diff?baseline={a}&candidate={b}").status_code == 200  # cached now
    samples = site.reg.run(b).dossier_path + "/evals/capability-basic/samples.jsonl"
    lines = Path(samples).read_text().splitlines()
    rec = json.loads(lines[12])
    rec["scores"]["exact"]["value"] = 1.0  # someone edits the evidence after registration
    Path(samples).write_text("\n".join([*lines[:12], json.dumps(rec), *lines[13:]]) + "\n")
    for path in (f"/diff?baseline={a}&candidate={b}", f"/compare?run={a}&run={b}"):
        r = site.client.get(path)
        assert r.status_code == 409
        assert f"run #{b}" in r.text and "does not verify" in r.text
        assert "REGRESSION" not in r.text and "0.55" not in r.text
    unsigned = seal(tmp_path, "unsigned", BASE_FAIL, key=None)  # a per-run key, not an enrolled run-signer
    u = site.reg.add(unsigned, registered_by="lead", allow_untrusted=True).id
    r = site.client.get(f"/compare?run={a}&run={u}")
    assert r.status_code == 409 and "not an enrolled run-signer" in r.text


def test_no_session_redirects_to_login(site, tmp_path):
    a, b = _runs(site, tmp_path)
    site.client.cookies.clear()
    for path in (f"/diff?baseline={a}&candidate={b}", f"/compare?run={a}&run={b}"):
        r = site.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2F")


def test_bad_ids_are_one_line_4xx(site, tmp_path):
    a, b = _runs(site, tmp_path)
    login(site.client, "vic")
    cases = {
        "/diff": 400,
        f"/diff?baseline={a}": 400,
        f"/diff?baseline=x&candidate={b}": 400,
        f"/diff?baseline={a}&candidate=999": 404,
        f"/diff?baseline=99999999999999999999&candidate={b}": 400,
        "/compare": 400,
        f"/compare?run={a}": 400,
        f"/compare?run={a}&run={a}": 400,
        f"/compare?run={a}&run=-1": 400,
        f"/compare?run={a}&run=999": 404,
        "/compare?" + "&".join(f"run={i}" for i in range(1, 10)): 400,
    }
    for path, code in cases.items():
        r = site.client.get(path)
        assert r.status_code == code, (path, r.status_code, r.text[-300:])
        msg = r.text.split('id="error">', 1)[1].split("</p>", 1)[0]
        assert "\n" not in msg and len(msg) < 200


def test_a_sealed_dossier_with_fields_of_the_wrong_type_is_withheld_not_a_500(site, tmp_path):
    a, _b = _runs(site, tmp_path)
    odd = seal(tmp_path, "odd", BASE_FAIL, key=site.keys.runner_key, odd={"n_selected": "many"})
    o = site.reg.add(odd, registered_by="lead").id
    login(site.client, "vic")
    for path in (f"/diff?baseline={a}&candidate={o}", f"/compare?run={a}&run={o}"):
        r = site.client.get(path)
        assert r.status_code == 409, r.text[-400:]
        assert f"run #{o}: its dossier cannot be compared" in r.text


def test_the_diff_and_compare_pages_draw_their_numbers_as_inline_svg(site, tmp_path):
    """The diff page's forest plot has one row per tested metric, red for a regression; the compare page
    draws one bar chart per gated metric (hostile labels: see the test above)."""
    base, worse = _runs(site, tmp_path)
    login(site.client, "vic")
    html = site.client.get(f"/diff?baseline={base}&candidate={worse}").text
    chart = html.split('id="difference-chart">', 1)[1].split("</figure>", 1)[0]
    assert chart.startswith("<svg") and "evals.capability-basic.accuracy" in chart
    assert 'fill="#c53030"' in chart  # the regression's point is red
    assert "<script" not in chart
    html = site.client.get(f"/compare?run={base}&run={worse}").text
    charts = html.split('class="chart gated-chart">')[1:]
    assert len(charts) == 2  # the capability accuracy and the safety refusal rate gates
    assert charts[0].startswith("<svg") and "evals.capability-basic.accuracy" in charts[0]
