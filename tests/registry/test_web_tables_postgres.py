"""The web app's own tables on a real PostgreSQL (READ COMMITTED, several app processes on one database):
a signing form's one-time nonce, raced by many connections, is consumed exactly once."""

from __future__ import annotations

import threading

import pytest
from registry_fixtures import PgServer
from sqlalchemy import create_engine

pytest.importorskip("argon2", reason="the web extra is not installed: pip install -e '.[web]'")

from argon2 import PasswordHasher

from clearance.web import People


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
