"""Attacks on the web app from outside and from a reviewer of the wrong role: each must be refused,
refused on the server, and (where it is an action) logged as denied."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from web_fixtures import HOSTILE, PASSWORD, field, login

from clearance.web import create_app, safe_next
from clearance.web import people as people_mod


def _denied(site, action: str) -> list:
    return [e for e in site.people.events(outcome="denied") if e.action == action]


def _signoff_form(client, run_id: int) -> tuple[str, str]:
    page = client.get(f"/runs/{run_id}/signoff")
    assert page.status_code == 200, page.text
    return field(page.text, "csrf"), field(page.text, "nonce")


# ---- sessions -------------------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_strict(site):
    page = site.client.get("/login")
    token = field(page.text, "login_token")
    r = site.client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "login_token": token},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"]
    assert "clearance_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain HTTP on loopback


def test_session_cookie_is_secure_under_tls(site):
    app = create_app(reg=site.reg, people=site.people)
    with TestClient(app, base_url="https://testserver") as c:
        page = c.get("/login")
        r = c.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "login_token": field(page.text, "login_token")},
            follow_redirects=False,
        )
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-clearance_session=")
        assert "Secure" in cookie and "HttpOnly" in cookie
        assert "max-age" in r.headers["strict-transport-security"]


def test_pages_need_a_session(site):
    for path in ("/runs", f"/runs/{site.run_id}", f"/runs/{site.run_id}/samples", "/audit", "/verify"):
        r = site.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


def test_logout_really_ends_the_session(site):
    login(site.client, "alice")
    cookie = site.client.cookies.get("clearance_session")
    csrf, nonce = _signoff_form(site.client, site.run_id)
    r = site.client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    # The old cookie, replayed by someone who kept it, no longer opens anything.
    thief = TestClient(site.client.app, base_url="http://testserver")
    thief.cookies.set("clearance_session", cookie)
    assert thief.get("/runs", follow_redirects=False).status_code == 303
    r = thief.post(
        f"/runs/{site.run_id}/signoff",
        data={"csrf": csrf, "nonce": nonce, "role": "security", "decision": "approve", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert site.reg.signoffs(site.run_id) == []


def test_session_expires_when_idle(site, monkeypatch):
    now = [1_000_000.0]
    site.people.clock = lambda: now[0]
    login(site.client, "alice")
    assert site.client.get("/runs").status_code == 200
    now[0] += people_mod.IDLE_S + 1
    assert site.client.get("/runs", follow_redirects=False).status_code == 303


def test_password_reset_and_disable_end_sessions(site):
    login(site.client, "alice")
    site.people.disable("alice")
    assert site.client.get("/runs", follow_redirects=False).status_code == 303
    site.people.reset("alice", PASSWORD + "!")
    login(site.client, "alice", PASSWORD + "!")
    assert site.client.get("/runs").status_code == 200


# ---- login ----------------------------------------------------------------------------------------


def test_wrong_password_and_unknown_user_look_the_same(site):
    page = site.client.get("/login")
    r1 = site.client.post(
        "/login",
        data={
            "username": "alice",
            "password": "nope-nope-nope",
            "login_token": field(page.text, "login_token"),
        },
    )
    page = site.client.get("/login")
    r2 = site.client.post(
        "/login",
        data={
            "username": "mallory",
            "password": "nope-nope-nope",
            "login_token": field(page.text, "login_token"),
        },
    )
    assert r1.status_code == r2.status_code == 401
    assert "wrong user name or password" in r1.text and "wrong user name or password" in r2.text


def test_login_is_throttled_after_repeated_failures(site):
    for _ in range(people_mod.MAX_FAILURES):
        page = site.client.get("/login")
        site.client.post(
            "/login",
            data={
                "username": "alice",
                "password": "guess-guess-guess",
                "login_token": field(page.text, "login_token"),
            },
        )
    page = site.client.get("/login")
    r = site.client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "login_token": field(page.text, "login_token")},
    )
    assert r.status_code == 429 and "too many failed attempts" in r.text
    assert int(r.headers["retry-after"]) > 0
    assert any("throttled" in e.detail for e in _denied(site, "login"))


def test_login_form_needs_its_token(site):
    r = site.client.post("/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    assert "clearance_session" not in r.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/%0d%0aSet-Cookie:x",
        "\\\\evil",
    ],
)
def test_no_open_redirect_after_login(site, target):
    page = site.client.get("/login")
    r = site.client.post(
        "/login",
        data={
            "username": "alice",
            "password": PASSWORD,
            "login_token": field(page.text, "login_token"),
            "next": target,
        },
        follow_redirects=False,
    )
    loc = r.headers["location"]
    assert r.status_code == 303
    assert (
        loc.startswith("/")
        and not loc.startswith("//")
        and "evil" not in loc.split("?")[0].replace("%", "")[:12]
    )


def test_safe_next_keeps_local_paths_only():
    assert safe_next("/runs/3?x=1") == "/runs/3?x=1"
    for bad in ("//a.b", "https://a.b", "/\\a.b", "a.b", "", None, "/\x00", "http:/a.b"):
        assert safe_next(bad) == "/runs"


# ---- forged and cross-site requests ----------------------------------------------------------------


def test_state_change_without_csrf_token_is_refused_and_logged(site):
    login(site.client, "alice")
    _csrf, nonce = _signoff_form(site.client, site.run_id)
    r = site.client.post(
        f"/runs/{site.run_id}/signoff",
        data={"nonce": nonce, "role": "security", "decision": "approve", "password": PASSWORD},
    )
    assert r.status_code == 403
    assert site.reg.signoffs(site.run_id) == []
    assert any("CSRF" in e.detail for e in _denied(site, "signoff"))


def test_cross_origin_post_is_refused_even_with_the_token(site):
    login(site.client, "alice")
    csrf, nonce = _signoff_form(site.client, site.run_id)
    r = site.client.post(
        f"/runs/{site.run_id}/signoff",
        data={"csrf": csrf, "nonce": nonce, "role": "security", "decision": "approve", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    assert site.reg.signoffs(site.run_id) == []


def test_logout_needs_csrf_too(site):
    login(site.client, "alice")
    r = site.client.post("/logout", data={}, follow_redirects=False)
    assert r.status_code == 403
    assert site.client.get("/runs").status_code == 200


# ---- authorization ---------------------------------------------------------------------------------


def test_legal_cannot_sign_for_security(site):
    login(site.client, "lena")
    csrf, nonce = _signoff_form(site.client, site.run_id)
    r = site.client.post(
        f"/runs/{site.run_id}/signoff",
        data={"csrf": csrf, "nonce": nonce, "role": "security", "decision": "approve", "password": PASSWORD},
    )
    assert r.status_code == 403
    assert site.reg.signoffs(site.run_id) == []
    denied = _denied(site, "signoff")
    assert denied and denied[0].user == "lena" and "security" in denied[0].detail


def test_role_escalation_through_the_form_url_is_refused(site):
    login(site.client, "lena")
    r = site.client.get(f"/runs/{site.run_id}/signoff?role=security")
    assert r.status_code == 403
    assert _denied(site, "signoff")


def test_viewer_can_read_but_not_sign_or_waive(site):
    login(site.client, "vic")
    assert site.client.get(f"/runs/{site.run_id}").status_code == 200
    assert site.client.get(f"/runs/{site.run_id}/signoff").status_code == 403
    assert site.client.get(f"/runs/{site.run_id}/waive").status_code == 403


def test_legal_cannot_waive_a_gate_of_a_run_that_needs_security_and_ml(site):
    login(site.client, "alice")
    page = site.client.get(f"/runs/{site.run_id}/waive")
    nonce = field(page.text, "nonce")
    site.client.post("/logout", data={"csrf": field(page.text, "csrf")})
    login(site.client, "lena")
    csrf = field(site.client.get("/runs").text, "csrf")
    r = site.client.post(
        f"/runs/{site.run_id}/waive",
        data={
            "csrf": csrf,
            "nonce": nonce,
            "gate": "capability-floor",
            "reason": "x",
            "expires": "2027-01-01",
            "password": PASSWORD,
        },
    )
    assert r.status_code == 403
    assert site.reg.waivers(site.run_id) == []


def test_a_replayed_signoff_form_is_refused(site):
    login(site.client, "alice")
    csrf, nonce = _signoff_form(site.client, site.run_id)
    form = {"csrf": csrf, "nonce": nonce, "role": "security", "decision": "approve", "password": PASSWORD}
    first = site.client.post(f"/runs/{site.run_id}/signoff", data=form, follow_redirects=False)
    assert first.status_code == 303
    again = site.client.post(f"/runs/{site.run_id}/signoff", data=form, follow_redirects=False)
    assert again.status_code == 409
    assert len(site.reg.signoffs(site.run_id)) == 1
    assert any("replay" in e.detail for e in _denied(site, "signoff"))


def test_a_nonce_of_another_session_is_refused(site):
    other = TestClient(site.client.app, base_url="http://testserver")
    login(other, "alice")
    _csrf, nonce = _signoff_form(other, site.run_id)
    login(site.client, "alice")
    csrf, _ = _signoff_form(site.client, site.run_id)
    r = site.client.post(
        f"/runs/{site.run_id}/signoff",
        data={"csrf": csrf, "nonce": nonce, "role": "security", "decision": "approve", "password": PASSWORD},
    )
    assert r.status_code == 409
    assert site.reg.signoffs(site.run_id) == []


def test_signing_needs_the_password_again(site):
    login(site.client, "alice")
    csrf, nonce = _signoff_form(site.client, site.run_id)
    r = site.client.post(
        f"/runs/{site.run_id}/signoff",
        data={
            "csrf": csrf,
            "nonce": nonce,
            "role": "security",
            "decision": "approve",
            "password": "not-my-password",
        },
    )
    assert r.status_code == 401 and "wrong user name or password" in r.text
    assert site.reg.signoffs(site.run_id) == []


# ---- output is inert --------------------------------------------------------------------------------


def test_model_output_is_escaped_everywhere(site):
    login(site.client, "alice")
    pages = [
        site.client.get(f"/runs/{site.run_id}/samples?q=pwned&outcome=all"),
        site.client.get(f"/runs/{site.run_id}/sample?suite=capability-basic&id=cap-09999"),
    ]
    for p in pages:
        assert p.status_code == 200
        assert "<script>window.pwned" not in p.text and "<img src=x" not in p.text
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in p.text
    assert "&lt;b&gt;thinking&lt;/b&gt;" in pages[1].text  # the reasoning too


def test_every_page_has_a_strict_csp(site):
    login(site.client, "alice")
    for path in (
        "/runs",
        f"/runs/{site.run_id}",
        f"/runs/{site.run_id}/samples",
        "/audit",
        "/login",
        "/nope",
    ):
        csp = site.client.get(path).headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp and "unsafe" not in csp  # no script may run at all
    report = site.client.get(f"/runs/{site.run_id}/report")
    assert report.status_code == 200
    assert "sandbox" in report.headers["content-security-policy"]
    assert "script" not in report.headers["content-security-policy"]
    assert HOSTILE not in report.text


def test_bidi_and_invisible_characters_in_model_output_are_shown_not_obeyed(site):
    login(site.client, "vic")
    page = site.client.get(f"/runs/{site.run_id}/sample?suite=capability-basic&id=cap-09999")
    assert "\u202e" not in page.text
    assert "\\u202e" in page.text


def test_the_same_signoff_form_posted_at_once_from_many_connections_signs_once(site):
    """A replay raced against the original (threads here; app processes on one database in production):
    the nonce is consumed by one conditional update, so exactly one submission signs."""
    import threading

    login(site.client, "alice")
    csrf, nonce = _signoff_form(site.client, site.run_id)
    form = {"csrf": csrf, "nonce": nonce, "role": "security", "decision": "approve", "password": PASSWORD}
    clients = []
    for _ in range(6):
        c = TestClient(site.client.app, base_url="http://testserver")
        c.cookies.update(site.client.cookies)
        clients.append(c)
    start = threading.Barrier(len(clients))
    codes: list[int] = []

    def post(c: TestClient) -> None:
        start.wait()
        codes.append(c.post(f"/runs/{site.run_id}/signoff", data=form, follow_redirects=False).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [303] + [409] * 5, codes
    assert len(site.reg.signoffs(site.run_id)) == 1
