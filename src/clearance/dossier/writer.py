"""Seal a run directory into a dossier (report, dossier.json, signed manifest) and verify one later."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from clearance.dossier.records import (
    SCHEMA,
    DossierInput,
    SigningInfo,
    VerifyFailure,
    VerifyResult,
    WrittenDossier,
)
from clearance.dossier.report import render_report
from clearance.dossier.rundir import write_atomic
from clearance.dossier.seal import (
    DOSSIER_JSON,
    MANIFEST,
    PARTIAL,
    PUBLIC_KEY,
    SIGNATURE,
    build_manifest,
    check_files,
    check_seal,
    sign_manifest,
)
from clearance.errors import InputError
from clearance.evidence import utc_now
from clearance.jsonio import pretty_json_bytes
from clearance.signing import PrivateKey, key_fingerprint, load_private_key

REPORT = "report.html"
EPHEMERAL_NOTE = (
    "The key was generated for this run only: the signature proves the dossier has not changed since it "
    "was written (integrity), not who wrote it (identity). Sign with --key to bind it to a known key."
)
GIVEN_KEY_NOTE = (
    "Signed with a key supplied by the operator: check its fingerprint against your key registry."
)


def _algorithm(key: PrivateKey) -> str:
    return "Ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else f"ECDSA {key.curve.name}"


def write_dossier(
    out_dir: str | Path, data: DossierInput, *, key: str | Path | PrivateKey | None = None
) -> WrittenDossier:
    """Write ``report.html``, the signed manifest and, last, ``dossier.json`` into ``out_dir``; remove ``.partial``.

    Files already in ``out_dir`` (stage results, per-sample JSONL) are listed and signed too. Without ``key``
    a fresh Ed25519 key signs the dossier and only its public key is kept.
    """
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    if (root / DOSSIER_JSON).exists():
        raise InputError(f"{root} already holds a sealed dossier; refusing to overwrite it")
    ephemeral = key is None
    priv: PrivateKey = ed25519.Ed25519PrivateKey.generate() if key is None else load_private_key(key)
    signing = SigningInfo(
        manifest=MANIFEST,
        signature=SIGNATURE,
        public_key=PUBLIC_KEY,
        fingerprint=key_fingerprint(priv),
        algorithm=_algorithm(priv),
        ephemeral=ephemeral,
        note=EPHEMERAL_NOTE if ephemeral else GIVEN_KEY_NOTE,
    )
    if data.provenance.finished_at is None:
        data = data.model_copy(
            update={"provenance": data.provenance.model_copy(update={"finished_at": utc_now()})}
        )
    write_atomic(root / REPORT, render_report(data, signing).encode("utf-8"))
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "title": data.title,
        "status": data.decision.status,
        "decision": data.decision,
        "stages": data.stages,
        "facts": data.facts,
        "provenance": data.provenance,
        "results": data.results,
        "failing_samples": data.failing_samples,
        "signing": signing,
        "report": REPORT,
    }
    doc_bytes = pretty_json_bytes(doc)
    manifest = build_manifest(root, extra={DOSSIER_JSON: doc_bytes})
    man_bytes, env_bytes, pub = sign_manifest(manifest, priv)
    write_atomic(root / PUBLIC_KEY, pub)
    write_atomic(root / MANIFEST, man_bytes)
    write_atomic(root / SIGNATURE, env_bytes)
    write_atomic(root / DOSSIER_JSON, doc_bytes)  # last: its presence marks the dossier complete
    (root / PARTIAL).unlink(missing_ok=True)
    return WrittenDossier(
        path=str(root),
        dossier_json=str(root / DOSSIER_JSON),
        report_html=str(root / REPORT),
        signing=signing,
        files=len(manifest["files"]),
    )


def verify_dossier(path: str | Path, *, public_key: str | Path | None = None) -> VerifyResult:
    """Check the signature over the manifest and every file's digest; ``InputError`` if it is not a dossier.

    With ``public_key`` the signature must verify with that key (identity); otherwise with the key
    shipped in the dossier (integrity only).
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"not a dossier directory: {root}")
    if not (root / DOSSIER_JSON).is_file():
        if (root / PARTIAL).exists():
            raise InputError(
                f"{root} is an unfinished run (.partial marker, no dossier.json): not a sealed dossier"
            )
        raise InputError(f"not a dossier: {root} has no {DOSSIER_JSON}")
    manifest, fingerprint, seal_failures = check_seal(root, Path(public_key) if public_key else None)
    failures = [VerifyFailure(file=f, problem=p) for f, p in seal_failures]
    checked = 0
    if manifest is not None:
        checked, file_failures = check_files(root, manifest)
        failures += [VerifyFailure(file=f, problem=p) for f, p in file_failures]
    if (root / PARTIAL).exists():
        failures.append(
            VerifyFailure(file=PARTIAL, problem="run marker still present: the run did not finish")
        )
    status: str | None = None
    ephemeral: bool | None = None
    try:
        doc = json.loads((root / DOSSIER_JSON).read_text("utf-8"))
        status = doc.get("status") if isinstance(doc, dict) else None
        sig = doc.get("signing") if isinstance(doc, dict) else None
        ephemeral = bool(sig.get("ephemeral")) if isinstance(sig, dict) else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if not any(f.file == DOSSIER_JSON for f in failures):
            failures.append(VerifyFailure(file=DOSSIER_JSON, problem=f"not readable JSON ({exc})"))
    given = public_key is not None
    if given:
        note = "signature checked against the given public key: integrity and signer identity"
    elif ephemeral:
        note = (
            "signature checked against the per-run key shipped in the dossier: proves integrity, not identity"
        )
    else:
        note = "signature checked against the public key shipped in the dossier: compare its fingerprint with the expected signer"
    return VerifyResult(
        dossier=str(root),
        ok=not failures,
        files_checked=checked,
        failures=failures,
        fingerprint=fingerprint,
        key_source="given" if given else "dossier",
        ephemeral=ephemeral,
        status=status,
        note=note,
    )
