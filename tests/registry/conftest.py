"""Fixtures for registry tests: sealed dossiers, reviewer keys, and a real PostgreSQL (see registry_fixtures)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from registry_fixtures import PgServer, _pg_bin, make_dossier

from clearance.signing import generate_keypair


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Private keys: reviewers alice, bob, carol (ECDSA P-256), dave (Ed25519); the admin; the run-signer
    ``runner`` that seals the test dossiers; ``registry``, the PostgreSQL registries' own key; ``mallory``,
    enrolled nowhere."""
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for name in ("alice", "bob", "carol", "admin", "runner", "mallory"):
        out[name] = generate_keypair(d, "ecdsa-p256", name)[0]
    for name in ("dave", "registry"):
        out[name] = generate_keypair(d, "ed25519", name)[0]
    return out


@pytest.fixture
def dossier_factory(tmp_path: Path, keys: dict[str, Path]) -> Callable[..., Path]:
    """Make sealed dossiers signed by the enrolled run-signer: ``dossier_factory(REVIEW_FACTS)``;
    ``key=None`` seals with a fresh per-run key (untrusted)."""
    default = keys["runner"]

    def make(facts: dict[str, object], name: str = "smollm2", key: object = default) -> Path:
        return make_dossier(tmp_path, facts, name, key=key)

    return make


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL server for the session (skips when Debian's postgresql or psycopg is absent)."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("psycopg not installed: pip install 'clearance[postgres]'")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
    server = PgServer(bindir)
    try:
        server.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, KeyError, LookupError) as exc:
        log = server.dir / "log"
        detail = log.read_text()[-500:] if log.exists() else getattr(exc, "stderr", b"")
        server.stop()
        pytest.fail(f"PostgreSQL did not start: {exc}: {detail!r}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def registry_url(
    request: pytest.FixtureRequest, tmp_path: Path, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh, empty registry location: a SQLite file (its key is made beside it by ``init``), or a new
    database on the real PostgreSQL (its key in ``$CLEARANCE_REGISTRY_KEY``)."""
    if request.param == "sqlite":
        return str(tmp_path / "registry.db")
    server: PgServer = request.getfixturevalue("pg_server")
    monkeypatch.setenv("CLEARANCE_REGISTRY_KEY", str(keys["registry"]))
    return server.new_database()
