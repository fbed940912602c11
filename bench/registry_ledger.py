"""How a registry read (status) and write (sign-off) grow with the ledger: every read folds the whole
ledger after checking its chain and checkpoint; a long-lived ``Registry`` (the web app) caches rows it
already hashed and signatures it already verified.

Run: python bench/registry_ledger.py [ENTRIES ...]   (default 200 1000; SQLite in a temp directory)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "registry"))

from registry_fixtures import APPROVE_FACTS, make_dossier, new_registry

from clearance.signing import generate_keypair


def main(targets: list[int]) -> None:
    d = Path(tempfile.mkdtemp())
    names = ("alice", "bob", "carol", "dave", "admin", "runner")
    keys = {n: generate_keypair(d / "k", "ecdsa-p256", n)[0] for n in names}
    reg = new_registry(d / "r.db", keys)
    run = reg.add(make_dossier(d, APPROVE_FACTS, key=keys["runner"]))
    n = len(reg.ledger_entries())
    for target in targets:
        while n < target:
            reg.sign_off(run.id, role="business", key=keys["dave"], decision="reject")
            n += 1
        t = time.perf_counter()
        reg.status(run.id)
        status_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        reg.sign_off(run.id, role="business", key=keys["dave"], decision="reject")
        n += 1
        write_ms = (time.perf_counter() - t) * 1000
        print(f"ledger entries {n:6d}: status {status_ms:7.0f} ms, one sign-off {write_ms:7.0f} ms")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [200, 1000])
