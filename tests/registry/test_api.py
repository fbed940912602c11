"""The Python API the web app builds on: keys held in memory (never a file), enrolment, revocation,
'who am I', settings, checkpoints — with the same enforcement as the CLI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from registry_fixtures import APPROVE_FACTS, T0, FixedClock

from clearance.errors import RegistryError
from clearance.registry import Registry, load_private_key_pem, verify_registry
from clearance.signing import key_fingerprint, public_pem


def test_keys_in_memory(
    registry_url: str, dossier_factory: Callable[..., Path], keys: dict[str, Path]
) -> None:
    clock = FixedClock()
    erin = ec.generate_private_key(ec.SECP256R1())
    alice = ed25519.Ed25519PrivateKey.generate()
    carol = ec.generate_private_key(ec.SECP256R1())
    # a key as a web app keeps it: encrypted PEM bytes, decrypted per request
    sealed = carol.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with Registry.init(registry_url, admin="erin", admin_key=erin, clock=clock) as reg:
        a = reg.enrol(alice.public_key(), person="alice", roles=["security"], by=erin)
        reg.enrol(public_pem(carol.public_key()).decode(), person="carol", roles=["ml"], by=erin)
        reg.enrol(keys["runner"].with_suffix(".pub"), person="ci", roles=["run-signer"], by=erin)
        assert a.fingerprint == key_fingerprint(alice) and a.enrolled_by_person == "erin"
        assert reg.enrolment(alice) == a and reg.enrolment(ed25519.Ed25519PrivateKey.generate()) is None
        assert [e.person for e in reg.enrolments()] == ["erin", "alice", "carol", "ci"]
        with pytest.raises(RegistryError, match="already enrolled to alice"):
            reg.enrol(alice.public_key(), person="mallory", roles=["ml"], by=erin)

        run = reg.add(dossier_factory(APPROVE_FACTS))
        reg.sign_off(run.id, role="security", key=alice)
        reg.sign_off(run.id, role="ml", key=load_private_key_pem(sealed, b"pw"))
        assert reg.status(run.id).status == "approved"

        # revocation: what the key signed before keeps counting, nothing after
        clock.t = T0 + timedelta(days=1)
        r = reg.revoke(key_fingerprint(alice), by=erin, reason="laptop lost")
        assert r.revoked_at and not r.active
        with pytest.raises(RegistryError, match="not enrolled"):
            reg.sign_off(run.id, role="security", key=alice, decision="reject")
        assert reg.status(run.id).status == "approved"
        with pytest.raises(RegistryError, match="last admin"):
            reg.revoke(erin, by=erin, reason="oops")

        cp = reg.checkpoint()
        res = verify_registry(reg)
        assert res.ok, res.problems
        assert cp is not None and (cp.seq, cp.entry_hash) == (res.head_seq, res.head_hash)
        assert [k for k in reg.run_signer_keys().values()] == ["ci"]
