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
from clearance.dossier.trust import TrustList, load_trust_list
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
    "Signed with a key supplied by the operator: a verifier decides who holds it from its own trust list "
    "(clearance dossier verify --trusted-keys, or a registry's enrolled run-signer keys)."
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
    from clearance.dossier.report import render_report  # jinja2 and the templates: only when writing

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


def verify_dossier(
    path: str | Path,
    *,
    public_key: str | Path | None = None,
    trusted_keys: TrustList | str | Path | None = None,
) -> VerifyResult:
    """Check the signature over the manifest, every file's digest, and that nothing unsigned is present;
    ``InputError`` if it is not a dossier.

    Identity is the verifier's to decide, never the dossier's: with ``public_key`` the signature must
    verify with that key; with ``trusted_keys`` (a ``TrustList``, or a file or directory of keys) the
    signing key must be in that list, which names its holder. Without either, the result proves
    integrity only (``trusted`` is None).
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
    trust = load_trust_list(trusted_keys) if isinstance(trusted_keys, str | Path) else trusted_keys
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
        stated = sig.get("fingerprint") if isinstance(sig, dict) else None
        if fingerprint and stated != fingerprint:
            failures.append(
                VerifyFailure(
                    file=DOSSIER_JSON,
                    problem=f"states signer key {str(stated)[:16]}… but was signed by {fingerprint[:16]}…",
                )
            )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if not any(f.file == DOSSIER_JSON for f in failures):
            failures.append(VerifyFailure(file=DOSSIER_JSON, problem=f"not readable JSON ({exc})"))
    given = public_key is not None
    signer: str | None = None
    trusted: bool | None = None
    if trust is not None and fingerprint:
        signer = trust.who(fingerprint)
        trusted = signer is not None
        if not trusted:
            failures.append(
                VerifyFailure(
                    file=SIGNATURE,
                    problem=f"signing key sha256:{fingerprint} is not in the trust list ({trust.source})",
                )
            )
    elif given and fingerprint:
        signer, trusted = str(public_key), True
    if trusted:
        where = f"in the trust list {trust.source}" if trust else "the given public key"
        note = f"signed by {signer}'s key ({where}): integrity and identity"
    elif trusted is False:
        note = "the signing key is not one you trust: integrity holds at most, identity does not"
    else:
        note = (
            "integrity, not identity: the files are unchanged since the key shipped in the dossier signed "
            "them; who holds that key is not judged (give --trusted-keys or --registry)"
        )
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
        signer=signer,
        trusted=trusted,
        trust_source=(trust.source if trust else (str(public_key) if given else None)),
    )
