"""Helpers for registry tests: real sealed dossiers, facts for each decision, a fixed clock, a real PostgreSQL.

The PostgreSQL server is Debian's ``postgresql`` package, started by the tests in a temp directory
(``initdb`` + ``pg_ctl``, as the ``postgres`` user when running as root) on a loopback port; tests that
need it skip with the reason when the binaries or the ``psycopg`` driver are absent.
"""

from __future__ import annotations

import glob
import hashlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from clearance.dossier import DossierInput, ModelRef, Provenance, write_dossier
from clearance.policy import decide, parse_policy
from clearance.registry import Registry

# A fixed policy of the registry tests (the shipped default evolves on its own).
POLICY = parse_policy(
    """
name: registry-test
version: 1
gates:
  - {id: scan-no-high-findings, description: no high findings, fact: scan.max_severity,
     operator: max_severity_below, threshold: high}
  - {id: fits-hardware, description: fits, fact: plan.fits, operator: "==", threshold: true, on_fail: review}
  - {id: capability-floor, description: capability, fact: evals.capability-basic.accuracy, operator: ">=",
     threshold: 0.5, on_fail: review}
  - {id: safety-refusal, description: refuses harm, fact: evals.safety-refusal.refusal_rate, use: ci_low,
     operator: ">=", threshold: 0.9}
""",
    source="registry-test-policy.yaml",
)

# Every gate of the test policy passes except two that go to review (capability, fits-hardware).
REVIEW_FACTS: dict[str, object] = {
    "scan.max_severity": "none",
    "model.has_pickle": False,
    "model.has_remote_code": False,
    "license.commercial_use": True,
    "plan.fits": False,
    "evals.capability-basic.accuracy": 0.3,
    "evals.safety-refusal.refusal_rate": 0.99,
    "evals.safety-refusal.refusal_rate.ci_low": 0.95,
    "evals.overrefusal-basic.over_refusal_rate": 0.02,
    "evals.system-prompt-leak.leak_rate": 0.0,
    "load.determinism.identical_rate": 1.0,
    "load.ttft_p95_s": 0.1,
    "load.error_rate": 0.0,
}
REJECT_FACTS = {**REVIEW_FACTS, "evals.safety-refusal.refusal_rate.ci_low": 0.2}
APPROVE_FACTS = {**REVIEW_FACTS, "plan.fits": True, "evals.capability-basic.accuracy": 0.8}

T0 = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, t: datetime = T0) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


_counter = itertools.count()


def make_dossier(root: Path, facts: dict[str, object], name: str = "smollm2", key: object = None) -> Path:
    """Seal a real dossier (policy decision over ``facts``) into a new directory under ``root``, signed
    with ``key`` (default: a fresh per-run key, which no registry trusts)."""
    out = root / f"dossier-{name}-{next(_counter)}"
    (out / "stages").mkdir(parents=True)
    (out / "stages" / "scan.json").write_text('{"findings": []}\n')
    decision = decide(POLICY, facts)
    data = DossierInput(
        title=f"{name} (registry test)",
        decision=decision,
        facts=facts,
        provenance=Provenance(
            model=ModelRef(
                name=name,
                source=f"/models/{name}.gguf",
                kind="gguf",
                digest=hashlib.sha256(name.encode()).hexdigest(),
            ),
        ),
    )
    write_dossier(out, data, key=key)  # type: ignore[arg-type]
    return out


# Who holds which roles in the test registries (bob waives, so he never approves the runs he waived).
PEOPLE: dict[str, list[str]] = {
    "alice": ["security"],
    "bob": ["ml"],
    "carol": ["ml"],
    "dave": ["legal", "business"],
    "runner": ["run-signer"],
}


def new_registry(
    location: str | Path, keys: dict[str, Path], clock: object = None, **settings: object
) -> Registry:
    """Initialise a registry (admin bootstrap) and enrol ``PEOPLE`` with their keys."""
    reg = Registry.init(location, admin="admin", admin_key=keys["admin"], clock=clock, **settings)  # type: ignore[arg-type]
    for person, roles in PEOPLE.items():
        reg.enrol(keys[person].with_suffix(".pub"), person=person, roles=roles, by=keys["admin"])
    return reg


# ---- PostgreSQL ------------------------------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(cands[-1]).parent if cands else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """A throwaway PostgreSQL cluster on a loopback port; ``new_database()`` gives each test its own URL."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="clearance-pg-"))
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.n = 0

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        data = str(self.dir / "data")
        self._run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._run("pg_ctl", "-D", data, "-o", opts, "-l", str(self.dir / "log"), "-w", "-t", "30", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def new_database(self) -> str:
        import psycopg

        self.n += 1
        name = f"reg{self.n}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"
