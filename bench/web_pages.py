"""Server time of the web app's pages at the issue's scale: 1,000 runs in the registry, one run of 5,000
samples. Compares the runs page's bulk status read with the per-run path of ``clearance registry list``.
Run 2 has as many samples as run 1, 1 in 25 of them flipped to failing, for the diff and compare pages.

    .venv/bin/python bench/web_pages.py [--runs 1000] [--samples 5000] [--repeat 30] [--keep DIR]

Every run is a real sealed dossier registered through ``Registry.add`` (verified first); about half of the
runs carry a signed waiver and sign-offs, so status and signature checks do real work. Pages are requested
in-process through Starlette's test client (ASGI, no sockets): the time includes routing, the session
lookup in the database, the page's queries and the Jinja rendering; it excludes network and browser time.
The app's own ``Server-Timing`` header gives the server time. Each page is requested once cold (caches
empty) and then ``--repeat`` times; median and 95th percentile are reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path

from argon2 import PasswordHasher
from starlette.testclient import TestClient

from clearance.dossier import DossierInput, ModelRef, Provenance, write_dossier
from clearance.policy import decide, parse_policy
from clearance.registry import Registry
from clearance.signing import generate_keypair
from clearance.web import People, create_app
from clearance.web.runs import run_lines

POLICY = parse_policy(
    """
name: bench
version: 1
gates:
  - {id: scan, description: scan, fact: scan.max_severity, operator: max_severity_below, threshold: high}
  - {id: capability-floor, description: capability, fact: evals.capability-basic.accuracy, operator: ">=",
     threshold: 0.5, on_fail: review}
""",
    source="bench.yaml",
)
PASSWORD = "bench password 123"


def seal(root: Path, i: int, n_samples: int, key: Path) -> Path:
    out = root / f"d{i:05d}"
    suite = out / "evals" / "capability-basic"
    suite.mkdir(parents=True)
    failing = []
    with open(suite / "samples.jsonl", "w") as f:
        for k in range(n_samples):
            bad = k % 4 == 0 or (i == 1 and k % 25 == 1)  # run 2: a planted regression against run 1
            sid = f"s{k:06d}"
            if bad:
                failing.append(sid)
            f.write(
                json.dumps(
                    {
                        "id": sid,
                        "messages": [
                            {"role": "user", "content": f"Question {k} about topic {k % 97}: explain."}
                        ],
                        "target": str(k),
                        "output": f"Answer {k + int(bad)} with some explanation of topic {k % 97}. " * 4,
                        "scores": {
                            "exact": {"value": 0.0 if bad else 1.0, "answer": str(k), "rule": "last number"}
                        },
                        "latency_s": 0.1,
                        "completed_at": "2026-11-29T09:00:00+00:00",
                    }
                )
                + "\n"
            )
    facts = {"scan.max_severity": "none", "evals.capability-basic.accuracy": 0.3 if i % 2 else 0.8}
    write_dossier(
        out,
        DossierInput(
            title=f"model-{i % 37} run {i}",
            decision=decide(POLICY, facts),
            facts=facts,
            results={
                "evals": {
                    "capability-basic": {
                        "failing_samples": failing,
                        "dataset": {"name": "bench", "sha256": hashlib.sha256(b"bench").hexdigest()},
                        "config_digest": hashlib.sha256(b"bench-settings").hexdigest(),
                        "metrics": {"accuracy": {"value": 1 - len(failing) / n_samples}},
                    }
                }
            },
            provenance=Provenance(
                model=ModelRef(
                    name=f"model-{i % 37}", source="/m", digest=hashlib.sha256(str(i).encode()).hexdigest()
                )
            ),
        ),
        key=key,
    )
    return out


def _server_ms(r) -> float:
    return float(r.headers["server-timing"].split("dur=", 1)[1])


def timed(client: TestClient, path: str, repeat: int) -> tuple[float, float, float, float]:
    """(cold server ms, median server ms, p95 server ms, median wall ms through the test client)."""
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    cold = _server_ms(r)
    server, wall = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        r = client.get(path)
        wall.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
        server.append(_server_ms(r))
    server.sort()
    return cold, statistics.median(server), server[int(0.95 * (len(server) - 1))], statistics.median(wall)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--keep", type=Path, default=None, help="build the registry here and keep it")
    ap.add_argument("--reuse", action="store_true", help="measure again on the registry kept in --keep")
    a = ap.parse_args()
    root = a.keep or Path(tempfile.mkdtemp(prefix="clearance-web-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    reuse = a.reuse and (root / "registry.db").exists()
    if (root / "registry.db").exists() and not reuse:
        raise SystemExit(f"{root} already holds a registry; give an empty --keep directory, or --reuse")
    names = ("admin", "runner", "sec", "ml", "ml2")
    keys = (
        {n: root / f"{n}.key" for n in names}
        if reuse
        else {n: generate_keypair(root, "ed25519", n)[0] for n in names}
    )
    t0 = time.perf_counter()
    if not reuse:
        with Registry.init(root / "registry.db", admin="admin", admin_key=keys["admin"]) as reg:
            for n, role in (("runner", "run-signer"), ("sec", "security"), ("ml", "ml"), ("ml2", "ml")):
                reg.enrol(keys[n].with_suffix(".pub"), person=n, roles=[role], by=keys["admin"])
    with Registry(root / "registry.db") as reg:
        big = 1 if reuse else reg.add(seal(root, 0, a.samples, keys["runner"]), registered_by="bench").id
        for i in range(1, 0 if reuse else a.runs):
            n = a.samples if i == 1 else 20
            run = reg.add(seal(root, i, n, keys["runner"]), registered_by="bench")
            if i % 2 == 1:  # a second ML reviewer waives, security and ML approve (separation of duties)
                reg.waive(
                    run.id, gate="capability-floor", reason="bench", expires="2099-01-01", key=keys["ml2"]
                )
                reg.sign_off(run.id, role="security", key=keys["sec"])
                if i % 4 == 1:
                    reg.sign_off(run.id, role="ml", key=keys["ml"])
        print(
            f"built {a.runs} runs (run {big}: {a.samples} samples) in {time.perf_counter() - t0:.0f} s under {root}"
        )

        people = People(reg.engine, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        if people.get("viewer1") is None:
            people.add("viewer1", ["viewer"], PASSWORD)
        client = TestClient(create_app(reg=reg, people=people))
        page = client.get("/login")
        token = page.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"username": "viewer1", "password": PASSWORD, "login_token": token})

        # Compile the templates and load the fact catalog once, on a small run (run 2 is as large as run 1):
        # a process's first request pays that (about 0.1-0.2 s), not the first view of each run, which is
        # what "cold" measures below.
        for path in (
            "/runs/3",
            "/runs/3/samples?q=topic",
            "/runs/3/sample?suite=capability-basic&id=s000001",
            "/diff?baseline=3&candidate=4",  # and the comparison code, its templates and built-in suites
            "/compare?run=3&run=4",
        ):
            assert client.get(path).status_code == 200, path

        rows = {
            f"runs page ({a.runs:,} runs, first 50 shown)": "/runs",
            "runs page, filter status=approved": "/runs?status=approved",
            "runs page, filter role=ml still to sign": "/runs?role=ml",
            f"run page ({a.samples:,} samples)": f"/runs/{big}",
            "sample search q=topic 42 (failing)": f"/runs/{big}/samples?q=topic+42",
            "sample search q=topic 42 (all outcomes)": f"/runs/{big}/samples?q=topic+42&outcome=all",
            "sample drill-down": f"/runs/{big}/sample?suite=capability-basic&id=s000400",
            f"diff page (2 runs of {a.samples:,} samples)": f"/diff?baseline={big}&candidate={big + 1}",
            f"compare page (2 x {a.samples:,} + 2 x 20 samples)": f"/compare?run={big}&run={big + 1}&run=3&run=4",
        }
        print("\nserver time (Server-Timing), ms; wall = through the in-process test client")
        print(f"{'page':<44} {'cold':>7} {'median':>7} {'p95':>7} {'wall':>7}")
        for name, path in rows.items():
            cold, med, p95, wall = timed(client, path, a.repeat)
            print(f"{name:<44} {cold:7.1f} {med:7.1f} {p95:7.1f} {wall:7.1f}")

        # The runs page right after a write (a sign-off lands, the page recomputes the touched run only)
        # and with its cache dropped (the first request after start, or after a settings change).
        from clearance.web import runs as runs_mod

        after_write, run_after_write, cold_list = [], [], []
        pending = [ln.run.id for ln in run_lines(reg) if "ml" in ln.to_sign][: min(10, a.repeat)]
        for rid in pending:
            reg.sign_off(rid, role="ml", key=keys["ml"])
            after_write.append(_server_ms(client.get("/runs")))
            run_after_write.append(_server_ms(client.get(f"/runs/{big}")))
        for _ in range(min(5, a.repeat)):
            runs_mod._cache.clear()
            cold_list.append(_server_ms(client.get("/runs")))
        print(
            f"{'runs page right after a sign-off':<44} {'':>7} {statistics.median(after_write):7.1f} "
            f"{max(after_write):7.1f}   (n={len(after_write)}, max shown as p95)"
        )
        print(
            f"{'run page right after a sign-off':<44} {'':>7} {statistics.median(run_after_write):7.1f} "
            f"{max(run_after_write):7.1f}   (n={len(run_after_write)}, max shown as p95)"
        )
        print(
            f"{'runs page, status cache dropped':<44} {'':>7} {statistics.median(cold_list):7.1f} "
            f"{max(cold_list):7.1f}   (n={len(cold_list)}, max shown as p95)"
        )

        # The CLI's path: one Registry.status per run, each reading the ledger (measured on 20 runs).
        sample_ids = [r.id for r in reg.runs()][:20]
        t = time.perf_counter()
        per_run = {rid: reg.status(rid).status for rid in sample_ids}
        per_run_ms = (time.perf_counter() - t) * 1000 / len(sample_ids)
        t = time.perf_counter()
        lines = run_lines(reg)
        bulk_ms = (time.perf_counter() - t) * 1000
        assert all(ln.status.status == per_run[ln.run.id] for ln in lines if ln.run.id in per_run)
        print(
            f"\nstatus of all {len(lines)} runs: Registry.statuses once {bulk_ms:.0f} ms; Registry.status per run "
            f"{per_run_ms:.1f} ms each (20 measured), so {per_run_ms * len(lines) / 1000:.1f} s for the list"
        )


if __name__ == "__main__":
    main()
