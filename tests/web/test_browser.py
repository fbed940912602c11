"""A real browser (Debian's headless Chromium, driven by Selenium through Debian's chromium-driver) against
a real `clearance web` server: login -> compare two runs -> run page -> sample drill-down -> waiver -> sign-offs -> approved,
and a refused role escalation. Afterwards `clearance registry verify` checks the ledger the browser wrote.

Needs `apt install chromium chromium-driver` (no browser download). Skips without them, except under CI
(``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_fixtures import HOSTILE, PASSWORD, make_dossier, new_registry, sample_record

pytestmark = pytest.mark.slow


def _find(*names: str) -> str | None:
    for n in names:
        p = shutil.which(n) or (n if os.path.isfile(n) else None)
        if p:
            return p
    return None


CHROMIUM = _find("chromium", "/usr/bin/chromium", "chromium-browser")
DRIVER = _find("chromedriver", "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def _need_browser() -> None:
    missing = [n for n, p in (("chromium", CHROMIUM), ("chromium-driver", DRIVER)) if p is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        msg = f"real-browser tests need {', '.join(missing)}: apt install chromium chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clearance(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    _need_browser()
    keys = new_registry(tmp_path)
    db = keys.location
    hostile = sample_record(9999, failing=True, output=HOSTILE, reasoning="thinking " + HOSTILE)
    with keys.open() as reg:
        reg.add(make_dossier(tmp_path, extra_records=[hostile], key=keys.runner_key), registered_by="lead")
        reg.add(make_dossier(tmp_path, name="smollm2-next", key=keys.runner_key), registered_by="lead")
    for name, role in (("alice", "security"), ("bob", "ml"), ("mia", "ml"), ("lena", "legal")):
        r = _clearance(
            "web",
            "user",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
            "--registry",
            str(db),
            "--admin-key",
            str(keys.admin_key),
            stdin=PASSWORD + "\n",
        )
        assert r.returncode == 0, r.stderr
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "clearance", "web", "--registry", str(db), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"clearance web exited: {proc.stdout.read() if proc.stdout else ''}")
                time.sleep(0.2)
        else:
            pytest.fail("clearance web did not start listening within 60 s")
        yield f"http://127.0.0.1:{port}", db
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def browser() -> Iterator[object]:
    _need_browser()
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager reach the network
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1600",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    driver.implicitly_wait(10)  # a submitted form's next page may take a moment on a busy machine
    try:
        yield driver
    finally:
        driver.quit()


def _navigate(d, element) -> None:
    """Click a link or a submit button and wait until the browser has left the page (a click returns as
    soon as the event is dispatched, before the next page has loaded)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    page = d.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(d, 15).until(ec.staleness_of(page))


def _login(d, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    d.delete_all_cookies()
    d.get(f"{base}/login")
    d.find_element(By.ID, "username").send_keys(name)
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    _navigate(d, d.find_element(By.ID, "signin"))
    assert d.find_element(By.ID, "me").text == name


def _logout(d) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _navigate(d, d.find_element(By.ID, "logout"))
    WebDriverWait(d, 15).until(lambda drv: "/login" in drv.current_url)


def test_full_approval_in_a_real_browser(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, db = server
    d = browser
    _login(d, base, "alice")
    # Compare the two runs through the runs page's plain GET form (checkboxes, no script).
    d.find_element(By.ID, "pick-1").click()
    d.find_element(By.ID, "pick-2").click()
    _navigate(d, d.find_element(By.ID, "compare-selected"))
    assert "/compare?run=2&run=1" in d.current_url
    assert "cheapest candidate that passes the policy" in d.find_element(By.ID, "rule").text
    assert len(d.find_elements(By.CSS_SELECTOR, "#candidates tr")) == 3
    d.get(f"{base}/runs")
    _navigate(d, d.find_element(By.CSS_SELECTOR, "#runs a[href='/runs/1']"))
    assert d.find_element(By.ID, "status").text == "NEEDS REVIEW"
    assert "capability-floor" in d.find_element(By.ID, "decision").text

    # Search the samples and open the hostile one: its markup is shown as text and never runs.
    d.find_element(By.ID, "sample-q").send_keys("pwned")
    Select(d.find_element(By.NAME, "outcome")).select_by_value("all")
    _navigate(d, d.find_element(By.ID, "sample-search"))
    assert "1 sample(s) match" in d.find_element(By.ID, "sample-count").text
    _navigate(d, d.find_element(By.CSS_SELECTOR, "a.sample-link"))
    assert d.find_element(By.ID, "sample-id").text == "cap-09999"
    assert d.find_element(By.ID, "answer").text == HOSTILE
    assert HOSTILE in d.find_element(By.ID, "reasoning").text
    assert d.execute_script("return window.pwned === undefined") is True

    _logout(d)

    # A second ML reviewer waives the open review gate, signed with her key after re-entering her password.
    _login(d, base, "mia")
    d.get(f"{base}/runs/1")
    _navigate(d, d.find_element(By.ID, "waive-link"))
    Select(d.find_element(By.ID, "gate")).select_by_value("capability-floor")
    d.find_element(By.ID, "reason").send_keys("pilot on the internal FAQ only; re-test before wider use")
    d.find_element(By.ID, "expires").send_keys("2099-01-01")
    d.find_element(By.ID, "waive-password").send_keys(PASSWORD)
    _navigate(d, d.find_element(By.ID, "waive"))
    assert "Waiver recorded" in d.find_element(By.ID, "flash").text
    assert d.find_element(By.ID, "status").text == "PENDING SIGNOFF"

    _logout(d)

    # Security signs off.
    _login(d, base, "alice")
    d.get(f"{base}/runs/1")
    _navigate(d, d.find_element(By.ID, "signoff-link"))
    d.find_element(By.ID, "comment").send_keys("no findings; weights are GGUF")
    d.find_element(By.ID, "sign-password").send_keys(PASSWORD)
    _navigate(d, d.find_element(By.ID, "sign"))
    assert "Sign-off recorded" in d.find_element(By.ID, "flash").text
    _logout(d)
    # The session cookie is gone and the server no longer knows it.
    d.get(f"{base}/runs/1")
    assert "/login" in d.current_url

    # ML signs off: approved.
    _login(d, base, "bob")
    d.get(f"{base}/runs/1/signoff")
    d.find_element(By.ID, "sign-password").send_keys(PASSWORD)
    _navigate(d, d.find_element(By.ID, "sign"))
    assert "Sign-off recorded" in d.find_element(By.ID, "flash").text
    assert d.find_element(By.ID, "status").text == "APPROVED"

    r = _clearance("registry", "verify", "--registry", str(db))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stdout
    st = _clearance("registry", "status", "1", "--registry", str(db), "--json")
    assert st.returncode == 0 and '"approved"' in st.stdout


def test_role_escalation_is_refused_in_a_real_browser(server, browser):
    from selenium.webdriver.common.by import By

    base, _db = server
    d = browser
    _login(d, base, "lena")
    # Asking for another role's form is refused.
    d.get(f"{base}/runs/1/signoff?role=security")
    assert "does not hold" in d.find_element(By.ID, "error").text or "not hold" in d.page_source
    # Rewriting the form in the page (as a malicious insider with devtools would) is refused on the server.
    d.get(f"{base}/runs/1/signoff")
    d.execute_script(
        "const s = document.getElementById('role'); const o = document.createElement('option');"
        "o.value = 'security'; o.text = 'security'; s.appendChild(o); s.value = 'security';"
    )
    d.find_element(By.ID, "sign-password").send_keys(PASSWORD)
    _navigate(d, d.find_element(By.ID, "sign"))
    assert "does not hold the role 'security'" in d.find_element(By.ID, "error").text
    d.get(f"{base}/runs/1")
    assert d.find_element(By.ID, "status").text == "NEEDS REVIEW"
    assert "No sign-offs yet" in d.page_source
    d.get(f"{base}/audit")
    denied = d.find_elements(By.CSS_SELECTOR, "#events tr.event-denied")
    assert any("lena" in row.text and "signoff" in row.text for row in denied)


def test_signing_with_a_key_file_in_a_real_browser(server, browser, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from selenium.webdriver.common.by import By
    from web_fixtures import encrypted_pem

    base, db = server
    d = browser
    key_file = tmp_path / "kate.p8"
    key_file.write_bytes(encrypted_pem(ed25519.Ed25519PrivateKey.generate(), PASSWORD))
    r = _clearance(
        "web", "user", "add", "kate", "--role", "security", "--password-stdin", "--key-file", str(key_file),
        "--registry", str(db), "--admin-key", str(tmp_path / "keys" / "admin.key"), stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    enrolled = key_file.read_bytes()
    _login(d, base, "kate")
    d.get(f"{base}/me")
    assert str(key_file) in d.find_element(By.ID, "key-kept").text

    # Another key put in the file's place: the form says so, and nothing is signed.
    key_file.write_bytes(encrypted_pem(ed25519.Ed25519PrivateKey.generate(), PASSWORD))
    d.get(f"{base}/runs/1/signoff")
    d.find_element(By.ID, "sign-password").send_keys(PASSWORD)
    _navigate(d, d.find_element(By.ID, "sign"))
    assert "no longer holds the enrolled key" in d.find_element(By.ID, "error").text

    key_file.write_bytes(enrolled)
    d.find_element(By.ID, "sign-password").send_keys(PASSWORD)  # the form came back with a fresh nonce
    _navigate(d, d.find_element(By.ID, "sign"))
    assert "Sign-off recorded" in d.find_element(By.ID, "flash").text
    r = _clearance("registry", "verify", "--registry", str(db))
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr
    st = _clearance("registry", "status", "1", "--registry", str(db))
    assert "approved by kate" in st.stdout, st.stdout
