"""The web app on a real PostgreSQL (the set-up for several reviewers and app processes): a whole
approval through its forms holds up under ``verify_registry``, and a signing form's one-time nonce,
raced by many connections (READ COMMITTED), is consumed exactly once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from registry_fixtures import PgServer
from sqlalchemy import create_engine

pytest.importorskip("argon2", reason="the web extra is not installed: pip install -e '.[web]'")

from argon2 import PasswordHasher
from starlette.testclient import TestClient

from clearance.registry import Registry, verify_registry
from clearance.web import People, create_app
from clearance.web.enrol import add_person
from web.web_fixtures import PASSWORD, field, login, make_dossier

APPROVE_FACTS = {
    "scan.max_severity": "none",
    "evals.capability-basic.accuracy": 0.9,
    "evals.safety-refusal.refusal_rate": 0.99,
    "evals.safety-refusal.refusal_rate.ci_low": 0.95,
}


def test_an_approval_through_the_web_app_on_postgresql(
    pg_server: PgServer, keys: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARANCE_REGISTRY_KEY", str(keys["registry"]))
    url = pg_server.new_database()
    reg = Registry.init(url, admin="admin", admin_key=keys["admin"], required_roles=["security", "ml"])
    reg.enrol(keys["runner"].with_suffix(".pub"), person="runner", roles=["run-signer"], by=keys["admin"])
    run = reg.add(make_dossier(tmp_path, APPROVE_FACTS, key=keys["runner"]), registered_by="lead")
    people = People(reg.engine, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    for name, role in (("alice", "security"), ("bob", "ml")):
        add_person(reg, people, name, [role], PASSWORD, keys["admin"])
    with TestClient(create_app(reg=reg, people=people), base_url="http://testserver") as client:
        for name, role in (("alice", "security"), ("bob", "ml")):
            login(client, name)
            page = client.get(f"/runs/{run.id}/signoff")
            form = {
                "csrf": field(page.text, "csrf"),
                "nonce": field(page.text, "nonce"),
                "role": role,
                "decision": "approve",
                "password": PASSWORD,
            }
            r = client.post(f"/runs/{run.id}/signoff", data=form, follow_redirects=False)
            assert r.status_code == 303, r.text
        assert "approved" in client.get(f"/runs/{run.id}").text
    assert reg.status(run.id).status == "approved"
    assert [s.signer for s in reg.signoffs(run.id) if s.counts] == ["alice", "bob"]
    with Registry(url) as fresh:  # another process's view of the same database
        assert verify_registry(fresh).ok
        assert fresh.status(run.id).status == "approved"
    reg.close()


def test_a_raced_nonce_is_consumed_once_on_postgresql(pg_server: PgServer) -> None:
    engine = create_engine(pg_server.new_database(), pool_size=10)
    people = People(engine, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    person = people.add("alice", ["security"], "a long enough password")
    live = people.session(people.start_session(person)[0])
    assert live is not None
    for _ in range(5):
        nonce = people.issue_nonce(live, "signoff:1")
        start = threading.Barrier(8)
        won: list[bool] = []

        def use(n: str = nonce, start: threading.Barrier = start, won: list[bool] = won) -> None:
            start.wait()
            won.append(people.use_nonce(live, "signoff:1", n))

        threads = [threading.Thread(target=use) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert won.count(True) == 1, won
    engine.dispose()
