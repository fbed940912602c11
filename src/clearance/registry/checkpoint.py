"""The registry's own key and its checkpoints: a signature over the chain head at every write.

The ledger is a hash chain, so editing or deleting an entry in the middle breaks it; cutting entries
from the *end* leaves a shorter chain that still links. The checkpoint closes that gap: at every write
the registry key signs ``{registry, seq, entry_hash, signed_at}`` of the new head, and only the latest
checkpoint is kept. ``verify`` requires the checkpoint to name exactly the last entry and to verify with
the registry key recorded in entry 1 (``registry.init``), and, where the verifier holds the registry key,
that entry 1 names that key. Without the registry key nobody can make a checkpoint for a shorter (or
re-written) chain.

Where the key lives: ``Registry(key=...)``, else ``$CLEARANCE_REGISTRY_KEY``, else (SQLite) the file
``<database>.key`` beside the database, written with mode 0600 by ``registry init``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from clearance.errors import ClearanceError, InputError, RegistryError
from clearance.registry.ledger import canonical
from clearance.registry.names import KEY_ENV_VAR
from clearance.registry.records import Checkpoint, LedgerEntry, LedgerProblem
from clearance.registry.signatures import (
    CHECKPOINT_TYPE,
    checkpoint_statement,
    public_key_from_pem,
    sign_statement,
)
from clearance.signing import PrivateKey, key_fingerprint, load_private_key, verify_envelope

KeyLike = PrivateKey | str | Path


def sqlite_key_path(url: str) -> Path | None:
    """``<database>.key`` beside a SQLite registry; None for other stores."""
    if not url.startswith("sqlite:///"):
        return None
    db = Path(url.removeprefix("sqlite:///"))
    return db.with_name(db.name + ".key")


def find_registry_key(url: str, key: KeyLike | None) -> PrivateKey | None:
    """The registry key: given, else ``$CLEARANCE_REGISTRY_KEY``, else the SQLite sibling file; None if none."""
    if key is not None:
        return load_private_key(key)
    env = os.environ.get(KEY_ENV_VAR)
    if env:
        return load_private_key(env)
    side = sqlite_key_path(url)
    if side is not None and side.is_file():
        return load_private_key(side)
    return None


def write_new_key(path: Path) -> PrivateKey:
    """Generate an Ed25519 registry key and write it to ``path`` (PKCS#8 PEM, mode 0600, never overwritten)."""
    priv = ed25519.Ed25519PrivateKey.generate()
    pem = priv.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise RegistryError(f"refusing to overwrite an existing registry key: {path}") from exc
    except OSError as exc:
        raise InputError(f"cannot write the registry key {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return priv


def sign_checkpoint(key: PrivateKey, seq: int, entry_hash: str, signed_at: str) -> Checkpoint:
    """The registry key's signed checkpoint of the head ``seq``/``entry_hash``."""
    fp = key_fingerprint(key)
    fields = {"registry": fp, "seq": seq, "entry_hash": entry_hash, "signed_at": signed_at}
    envelope = sign_statement(CHECKPOINT_TYPE, checkpoint_statement(fields), key)
    return Checkpoint(
        seq=seq, entry_hash=entry_hash, signed_at=signed_at, registry_fingerprint=fp, envelope=envelope
    )


def checkpoint_problems(
    checkpoint: Checkpoint | None,
    entries: Sequence[LedgerEntry],
    *,
    local_fingerprint: str | None = None,
) -> list[LedgerProblem]:
    """What does not hold between the ledger, its latest checkpoint and the registry key of entry 1."""
    problems: list[LedgerProblem] = []
    init = entries[0] if entries and entries[0].kind == "registry.init" else None
    if init is None:
        return [LedgerProblem(seq=1, problem="entry 1 is not registry.init: the registry key is unknown")]
    reg_fp = str(init.data.get("registry_fingerprint"))
    if local_fingerprint is not None and local_fingerprint != reg_fp:
        problems.append(
            LedgerProblem(
                seq=1,
                problem=f"entry 1 names registry key {reg_fp[:16]}…, but this registry's key is "
                f"{local_fingerprint[:16]}…: the ledger was re-keyed (rewritten from genesis)",
            )
        )
    last = entries[-1]
    if checkpoint is None:
        problems.append(
            LedgerProblem(
                seq=last.seq, problem="no signed checkpoint of the chain head: its length is unproven"
            )
        )
        return problems
    try:
        pub = public_key_from_pem(str(init.data.get("public_key")))
        if key_fingerprint(pub) != reg_fp:
            raise ClearanceError("entry 1's public key does not match its fingerprint")
        payload = verify_envelope(json.loads(checkpoint.envelope), pub, payload_type=CHECKPOINT_TYPE)
        signed = json.loads(payload)
    except (ClearanceError, json.JSONDecodeError, TypeError) as exc:
        problems.append(
            LedgerProblem(seq=checkpoint.seq, problem=f"checkpoint is not signed by the registry key ({exc})")
        )
        return problems
    expected = checkpoint_statement(
        {
            "registry": reg_fp,
            "seq": checkpoint.seq,
            "entry_hash": checkpoint.entry_hash,
            "signed_at": checkpoint.signed_at,
        }
    )
    if canonical(signed) != canonical(expected):
        problems.append(
            LedgerProblem(
                seq=checkpoint.seq, problem="checkpoint record differs from what the registry key signed"
            )
        )
        return problems
    if (checkpoint.seq, checkpoint.entry_hash) != (last.seq, last.entry_hash):
        at = next((e.seq for e in entries if e.entry_hash == checkpoint.entry_hash), None)
        if checkpoint.seq > last.seq:
            what = f"the ledger ends at entry {last.seq}: entries {last.seq + 1}..{checkpoint.seq} were cut from the end"
        elif at is None:
            what = "that head is not in the ledger: history was rewritten"
        else:
            what = f"the ledger continues to entry {last.seq}: entries were appended without the registry key"
        problems.append(
            LedgerProblem(
                seq=checkpoint.seq,
                problem=f"the registry key signed head {checkpoint.seq}:{checkpoint.entry_hash[:16]}…; {what}",
            )
        )
    return problems
