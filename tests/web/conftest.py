"""Fixtures for the web app: a registry with one registered run, accounts for each role, a test client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install -e '.[web]'")

from starlette.testclient import TestClient
from web_fixtures import (
    HOSTILE,
    PASSWORD,
    TestRegistry,
    cheap_hasher,
    make_dossier,
    new_registry,
    sample_record,
)

from clearance.registry import Registry
from clearance.web import People, create_app
from clearance.web.enrol import add_person

PEOPLE = (("alice", ["security"]), ("bob", ["ml"]), ("mia", ["ml"]), ("lena", ["legal"]), ("vic", ["viewer"]))


@dataclass
class Site:
    """A running app (in-process) over a real registry with one run in review."""

    reg: Registry
    people: People
    client: TestClient
    run_id: int
    dossier: Path
    keys: TestRegistry

    def add_person(self, name: str, roles: list[str], password: str = PASSWORD) -> None:
        add_person(self.reg, self.people, name, roles, password, self.keys.admin_key)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """One run in review (gate capability-floor), reviewers alice (security), bob and mia (ml), lena
    (legal) and vic (viewer), each with an enrolled key."""
    keys = new_registry(tmp_path)
    reg = keys.open()
    people = People(reg.engine, hasher=cheap_hasher())
    hostile = sample_record(9999, failing=True, output=HOSTILE, reasoning="<b>thinking</b>\u202e" + HOSTILE)
    d = make_dossier(tmp_path, extra_records=[hostile], key=keys.runner_key)
    run = reg.add(d, registered_by="lead")
    for name, roles in PEOPLE:
        add_person(reg, people, name, roles, PASSWORD, keys.admin_key)
    app = create_app(reg=reg, people=people)
    with TestClient(app, base_url="http://testserver") as client:
        yield Site(reg=reg, people=people, client=client, run_id=run.id, dossier=d, keys=keys)
    reg.close()
