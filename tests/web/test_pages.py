"""The pages over a real registry: runs and their filters, the run page, samples, audit log, verification,
and a whole approval (waiver, two sign-offs) that the registry's own verify accepts afterwards."""

from __future__ import annotations

import json

from web_fixtures import PASSWORD, field, login, make_dossier

from clearance.registry import verify_registry


def _sign(site, who: str, role: str, decision: str = "approve", comment: str = "") -> int:
    login(site.client, who)
    page = site.client.get(f"/runs/{site.run_id}/signoff")
    r = site.client.post(
        f"/runs/{site.run_id}/signoff",
        data={
            "csrf": field(page.text, "csrf"),
            "nonce": field(page.text, "nonce"),
            "role": role,
            "decision": decision,
            "comment": comment,
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    return r.status_code


def _waive(site, who: str, gate: str, expires: str = "2027-06-01", role: str = "ml") -> int:
    login(site.client, who)
    page = site.client.get(f"/runs/{site.run_id}/waive")
    r = site.client.post(
        f"/runs/{site.run_id}/waive",
        data={
            "csrf": field(page.text, "csrf"),
            "nonce": field(page.text, "nonce"),
            "gate": gate,
            "role": role,
            "reason": "pilot for internal FAQ only",
            "expires": expires,
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    return r.status_code


def test_full_approval_through_the_pages_verifies_in_the_registry(site):
    assert site.reg.status(site.run_id).status == "needs_review"
    assert _waive(site, "mia", "capability-floor") == 303  # a second ML reviewer, not an approver
    assert site.reg.status(site.run_id).status == "pending_signoff"
    assert _sign(site, "alice", "security", comment="scan clean") == 303
    assert _sign(site, "bob", "ml") == 303
    st = site.reg.status(site.run_id)
    assert st.status == "approved"
    page = site.client.get(f"/runs/{site.run_id}")
    assert 'id="status">APPROVED' in page.text
    res = verify_registry(site.reg)
    assert res.ok and res.signatures_checked >= 3
    signers = {s.role: (s.signer, s.fingerprint) for s in site.reg.signoffs(site.run_id)}
    assert signers["security"] == ("alice", site.people.get("alice").key_fingerprint)
    assert signers["ml"] == ("bob", site.people.get("bob").key_fingerprint)


def test_a_person_cannot_sign_two_roles_of_one_run(site):
    from clearance.web.enrol import reset_person

    reset_person(site.reg, site.people, "alice", PASSWORD, ["security", "ml"], site.keys.admin_key)
    assert _sign(site, "alice", "security") == 303
    assert _sign(site, "alice", "ml") == 409  # the registry's separation of duties, shown on the form
    assert len(site.reg.signoffs(site.run_id)) == 1


def test_run_page_shows_the_decision_first_then_gates_with_meaning_and_controls(site):
    login(site.client, "vic")
    html = site.client.get(f"/runs/{site.run_id}").text
    assert html.index('id="decision"') < html.index('id="gates"')
    assert "gates still need review or a waiver: capability-floor" in html
    assert "Below this a model answers too few checkable questions" in html  # the gate's rationale
    assert "MS-2.3-002" in html and "Art. 15" in html and "A.6.2.4" in html  # capability-floor's controls
    assert "GV-1.3-002" in html
    assert '<img class="chart"' in html  # the rates chart, drawn by the project as a data-URI SVG


def test_runs_page_filters(site, tmp_path):
    other = make_dossier(
        tmp_path, name="qwen-tiny", facts={"scan.max_severity": "critical"}, key=site.keys.runner_key
    )
    site.reg.add(other, registered_by="lead")
    login(site.client, "vic")

    def ids(query: str) -> set[str]:
        html = site.client.get(f"/runs?{query}").text
        return {part.split('"', 1)[0] for part in html.split('href="/runs/')[1:] if part[0].isdigit()}

    assert ids("") == {"1", "2"}
    assert ids("model=qwen") == {"2"}
    assert ids("status=rejected") == {"2"}
    assert ids("status=needs_review") == {"1"}
    assert ids("role=security") == {"1"}  # the rejected run needs nobody's signature any more
    _sign(site, "alice", "security")
    login(site.client, "vic")
    assert ids("role=security") == set()
    assert ids("role=ml") == {"1"}
    assert ids("expiry=90") == set()


def test_sample_search_filter_and_drill_down(site):
    login(site.client, "vic")
    html = site.client.get(f"/runs/{site.run_id}/samples").text
    assert "8 sample(s) match" in html  # 7 failing of 20, plus the hostile one
    html = site.client.get(f"/runs/{site.run_id}/samples?outcome=all").text
    assert "21 sample(s) match" in html
    html = site.client.get(f"/runs/{site.run_id}/samples?outcome=passing&q=question%2013").text
    assert "1 sample(s) match" in html and "cap-00013" in html
    page = site.client.get(f"/runs/{site.run_id}/sample?suite=capability-basic&id=cap-00003")
    assert page.status_code == 200
    for text in ("Question 3: what is 3 + 3?", "The answer is 7.", "last number", "failing"):
        assert text in page.text
    assert site.client.get(f"/runs/{site.run_id}/sample?suite=capability-basic&id=nope").status_code == 404


def test_tampered_dossier_is_withheld_and_verification_names_the_file(site):
    path = site.dossier / "evals" / "capability-basic" / "samples.jsonl"
    lines = path.read_text().splitlines()
    rec = json.loads(lines[0])
    rec["output"] = "I refuse."  # someone edits the evidence after registration
    path.write_text("\n".join([json.dumps(rec), *lines[1:]]) + "\n")
    login(site.client, "vic")
    html = site.client.get(f"/runs/{site.run_id}").text
    assert 'id="dossier-problem"' in html and "does not verify" in html
    assert "I refuse." not in site.client.get(f"/runs/{site.run_id}/samples?outcome=all").text
    v = site.client.get(f"/runs/{site.run_id}/verify").text
    assert "FAILED" in v and "samples.jsonl" in v
    assert site.client.get(f"/runs/{site.run_id}/report").status_code == 409


def test_audit_log_and_ledger_verification(site):
    assert _sign(site, "alice", "security", comment="looks fine") == 303
    html = site.client.get("/audit").text
    assert "security approve by alice" in html and "looks fine" in html and "run.add" in html
    assert "login" in html  # the web events below the ledger
    v = site.client.get("/verify").text
    res = verify_registry(site.reg)
    assert res.ok and 'id="ledger-result">OK' in v and f"{res.entries} ledger entries" in v
    assert f"{res.head_seq}:{res.head_hash}" in v


def test_unknown_run_is_404(site):
    login(site.client, "vic")
    assert site.client.get("/runs/999").status_code == 404


def test_runs_page_follows_writes_and_the_clock(site):
    """The runs page keeps statuses between requests; a write or a lapsing waiver shows at once."""
    from datetime import UTC, datetime

    def status_on_list() -> str:
        login(site.client, "vic")
        html = site.client.get("/runs").text
        return html.split('<span class="status ', 1)[1].split('"', 1)[0]

    assert status_on_list() == "needs_review"
    assert _waive(site, "mia", "capability-floor", expires="2027-06-01") == 303
    assert status_on_list() == "pending_signoff"
    assert _sign(site, "alice", "security") == 303
    assert _sign(site, "bob", "ml") == 303
    assert status_on_list() == "approved"
    real = site.reg.clock
    site.reg.clock = lambda: datetime(2027, 6, 1, 0, 0, 1, tzinfo=UTC)  # the waiver lapsed a second ago
    try:
        assert status_on_list() == "needs_review"
        assert site.reg.status(site.run_id).status == "needs_review"
    finally:
        site.reg.clock = real


def test_an_untrusted_run_says_it_can_never_be_approved(site, tmp_path):
    d = make_dossier(tmp_path, name="unsigned")  # sealed with a per-run key, not the run-signer's
    run = site.reg.add(d, registered_by="lead", allow_untrusted=True)
    login(site.client, "vic")
    page = site.client.get(f"/runs/{run.id}").text
    assert 'id="untrusted"' in page and "can never be approved" in page
    assert "untrusted signer" in site.client.get("/runs").text
