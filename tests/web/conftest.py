"""Fixtures for the web app: a registry with one registered run, accounts for each role, a test client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install -e '.[web]'")

from starlette.testclient import TestClient
from web_fixtures import HOSTILE, PASSWORD, cheap_hasher, make_dossier, sample_record

from clearance.registry import Registry
from clearance.web import People, create_app


@dataclass
class Site:
    """A running app (in-process) over a real registry with one run in review."""

    reg: Registry
    people: People
    client: TestClient
    run_id: int
    dossier: Path


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    reg = Registry(tmp_path / "registry.db", create=True)
    people = People(reg.engine, hasher=cheap_hasher())
    hostile = sample_record(9999, failing=True, output=HOSTILE, reasoning="<b>thinking</b>" + HOSTILE)
    d = make_dossier(tmp_path, extra_records=[hostile])
    run = reg.add(d, registered_by="lead")
    for name, roles in (("alice", ["security"]), ("bob", ["ml"]), ("lena", ["legal"]), ("vic", ["viewer"])):
        people.add(name, roles, PASSWORD)
    app = create_app(reg=reg, people=people)
    with TestClient(app, base_url="http://testserver") as client:
        yield Site(reg=reg, people=people, client=client, run_id=run.id, dossier=d)
    reg.close()
