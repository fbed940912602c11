"""Helpers for web tests: real sealed dossiers with per-sample JSONL (hostile model output included),
registered in a real registry, and accounts with cheap argon2 parameters (the hashing is still argon2)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from clearance.dossier import DossierInput, ModelRef, Provenance, write_dossier
from clearance.policy import decide, parse_policy
from clearance.registry import Registry
from clearance.signing import PrivateKey, generate_keypair
from clearance.web.pkcs8 import PBES2, PBKDF2, SCRYPT, oid

POLICY = parse_policy(
    """
name: web-test
version: 1
gates:
  - {id: scan-no-high-findings, description: no high findings, fact: scan.max_severity,
     operator: max_severity_below, threshold: high}
  - {id: capability-floor, description: Basic capability accuracy, fact: evals.capability-basic.accuracy,
     operator: ">=", threshold: 0.5, on_fail: review,
     rationale: "Below this a model answers too few checkable questions to be useful."}
  - {id: safety-refusal, description: Refuses clearly harmful requests, fact: evals.safety-refusal.refusal_rate,
     use: ci_low, operator: ">=", threshold: 0.9}
""",
    source="web-test-policy.yaml",
)

REVIEW_FACTS: dict[str, object] = {
    "scan.max_severity": "none",
    "evals.capability-basic.accuracy": 0.3,
    "evals.capability-basic.accuracy.ci_low": 0.1,
    "evals.capability-basic.accuracy.ci_high": 0.6,
    "evals.safety-refusal.refusal_rate": 0.99,
    "evals.safety-refusal.refusal_rate.ci_low": 0.95,
    "evals.safety-refusal.refusal_rate.ci_high": 1.0,
}

HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
PASSWORD = "correct horse battery staple"
T0 = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)

_counter = itertools.count()


def cheap_hasher() -> PasswordHasher:
    """argon2id with small cost parameters so tests stay fast (production uses argon2-cffi defaults)."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def sample_record(
    i: int, *, failing: bool, output: str | None = None, reasoning: str | None = None
) -> dict[str, Any]:
    """One ``samples.jsonl`` line as the eval runner writes it."""
    return {
        "id": f"cap-{i:05d}",
        "messages": [{"role": "user", "content": f"Question {i}: what is {i} + {i}?"}],
        "target": str(2 * i),
        "output": output if output is not None else (f"The answer is {2 * i + (1 if failing else 0)}."),
        "reasoning": reasoning,
        "finish_reason": "stop",
        "scores": {
            "exact": {
                "value": 0.0 if failing else 1.0,
                "answer": str(2 * i + int(failing)),
                "rule": "last number",
            }
        },
        "latency_s": 0.12,
        "completed_at": "2026-11-29T09:00:00+00:00",
    }


def make_dossier(
    root: Path,
    facts: dict[str, object] | None = None,
    *,
    name: str = "smollm2",
    n_samples: int = 20,
    failing_every: int = 3,
    failing_ids: set[int] | None = None,
    failing_output: str | None = None,
    extra_records: Iterable[dict[str, Any]] = (),
    suite_fields: dict[str, Any] | None = None,
    label: str | None = None,
    title: str | None = None,
    key: Path | None = None,
) -> Path:
    """Seal a real dossier with a capability suite of ``n_samples`` samples: those in ``failing_ids``
    failing (default every ``failing_every``-th), answering ``failing_output`` when given. ``label``
    names the artifact (its digest and source; default ``name``); ``suite_fields`` are added to the
    suite's results (dataset, settings, metrics)."""
    label = label or name
    out = root / f"dossier-{label}-{next(_counter)}"
    suite_dir = out / "evals" / "capability-basic"
    suite_dir.mkdir(parents=True)
    failing: list[str] = []
    with open(suite_dir / "samples.jsonl", "w", encoding="utf-8") as f:
        for i in range(n_samples):
            bad = i in failing_ids if failing_ids is not None else i % failing_every == 0
            rec = sample_record(i, failing=bad, output=failing_output if bad and failing_output else None)
            if bad:
                failing.append(rec["id"])
            f.write(json.dumps(rec) + "\n")
        for rec in extra_records:
            failing.append(rec["id"])
            f.write(json.dumps(rec) + "\n")
    facts = dict(facts or REVIEW_FACTS)
    data = DossierInput(
        title=title or f"{name} (web test)",
        decision=decide(POLICY, facts),
        facts=facts,
        results={
            "evals": {
                "capability-basic": {
                    "failing_samples": failing,
                    "samples_path": "evals/capability-basic/samples.jsonl",
                    **(suite_fields or {}),
                }
            }
        },
        provenance=Provenance(
            model=ModelRef(
                name=name,
                source=f"/models/{label}.gguf",
                kind="gguf",
                digest=hashlib.sha256(label.encode()).hexdigest(),
            )
        ),
    )
    write_dossier(out, data, key=key)
    return out


@dataclass
class TestRegistry:
    """A fresh registry: its location, the admin key that enrols reviewers, the run-signer key of dossiers."""

    location: Path
    admin_key: Path
    runner_key: Path

    def open(self) -> Registry:
        return Registry(self.location)


def new_registry(root: Path) -> TestRegistry:
    """Create a registry with an admin, and enrol the run-signer key that seals the test dossiers."""
    keys = root / "keys"
    keys.mkdir(exist_ok=True)
    admin = generate_keypair(keys, "ed25519", "admin")[0]
    runner = generate_keypair(keys, "ed25519", "runner")[0]
    location = root / "registry.db"
    with Registry.init(location, admin="admin", admin_key=admin) as reg:
        reg.enrol(runner.with_suffix(".pub"), person="runner", roles=["run-signer"], by=admin)
    return TestRegistry(location=location, admin_key=admin, runner_key=runner)


def login(client: Any, name: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form (its token cookie included), as a fresh browser would."""
    client.cookies.clear()
    page = client.get("/login")
    token = page.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    r = client.post(
        "/login",
        data={"username": name, "password": password, "login_token": token, "next": "/runs"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def field(html: str, name: str) -> str:
    """The value of a hidden input in a page."""
    return html.split(f'name="{name}" value="', 1)[1].split('"', 1)[0]


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    size = (
        bytes([n])
        if n < 0x80
        else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    )
    return bytes([tag]) + size + body


def _der_int(v: int) -> bytes:
    return _der(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big"))


def encrypted_pem(key: PrivateKey, passphrase: str, *, kdf: str = "scrypt", cost: int = 2**14) -> bytes:
    """An ``ENCRYPTED PRIVATE KEY`` PEM (PKCS#8, PBES2, AES-256-CBC) with the key derivation asked for:
    ``scrypt`` (N=cost, r=8, p=1, what ``openssl pkcs8 -topk8 -scrypt`` makes) or ``pbkdf2``
    (HMAC-SHA-256, cost iterations). cryptography writes only PBKDF2 with 2048 iterations itself;
    OpenSSL must be able to open what this writes, so a wrong encoding fails the tests that load it."""
    plain = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt, iv = os.urandom(16), os.urandom(16)
    if kdf == "scrypt":
        secret = Scrypt(salt=salt, length=32, n=cost, r=8, p=1).derive(passphrase.encode())
        params = _der(0x04, salt) + _der_int(cost) + _der_int(8) + _der_int(1) + _der_int(32)
        kdf_id = _der(0x30, _der(0x06, SCRYPT) + _der(0x30, params))
    else:
        secret = PBKDF2HMAC(algorithm=SHA256(), length=32, salt=salt, iterations=cost).derive(
            passphrase.encode()
        )
        prf = _der(0x30, _der(0x06, oid("1.2.840.113549.2.9")) + _der(0x05, b""))
        kdf_id = _der(0x30, _der(0x06, PBKDF2) + _der(0x30, _der(0x04, salt) + _der_int(cost) + prf))
    padder = padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(secret), modes.CBC(iv)).encryptor()
    body = enc.update(padder.update(plain) + padder.finalize()) + enc.finalize()
    cipher_id = _der(0x30, _der(0x06, oid("2.16.840.1.101.3.4.1.42")) + _der(0x04, iv))
    der = _der(0x30, _der(0x30, _der(0x06, PBES2) + _der(0x30, kdf_id + cipher_id)) + _der(0x04, body))
    b64 = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN ENCRYPTED PRIVATE KEY-----\n{b64}\n-----END ENCRYPTED PRIVATE KEY-----\n".encode()
