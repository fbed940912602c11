"""OpenSSF model signing (OMS v1.0): sign a model directory and verify it, offline.

Format (as ``model-signing`` 1.x writes it): a Sigstore bundle JSON (``.sig``) whose ``dsseEnvelope``
carries an in-toto Statement v1 with predicate ``https://model_signing/signature/v1.0``: one resource per
file (posix path, ``sha256``, hex digest, sorted by name) and a subject whose sha256 is the root digest
(sha256 over the raw file digests in order). Two offline methods: ``key`` (``publicKey.hint`` = sha256 of
the public key PEM) and ``certificate`` (``x509CertificateChain``, leaf first, verified against a CA).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pydantic import BaseModel, Field

from clearance.errors import InputError, SignatureError
from clearance.evidence import utc_now
from clearance.model.layout import discover
from clearance.model.manifest import hash_layout, root_digest
from clearance.signing.dsse import pae as _pae
from clearance.signing.dsse import sign_bytes, verify_bytes
from clearance.signing.keys import PrivateKey, PublicKey, key_fingerprint, load_private_key, load_public_key

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
ACCEPTED_MEDIA_TYPES = (BUNDLE_MEDIA_TYPE, "application/vnd.dev.sigstore.bundle+json;version=0.3")
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
DEFAULT_IGNORED = (".git", ".gitattributes", ".github", ".gitignore")
MAX_BUNDLE_BYTES = 64 << 20


class Resource(BaseModel):
    """One signed file: relative posix path, hash algorithm and hex digest."""

    name: str
    algorithm: str = "sha256"
    digest: str


class SignatureVerification(BaseModel):
    """Evidence that a model's OMS signature held: who signed, over which bytes, checked when."""

    model: str
    signature: str
    method: str
    verified: bool
    root_digest: str
    files: int
    signer: str
    ignored_unsigned: list[str] = Field(default_factory=list)
    verified_at: str = Field(default_factory=utc_now)

    def policy_facts(self) -> dict[str, object]:
        """Flat facts for policy gates (``signing.*``)."""
        return {
            "signing.verified": self.verified,
            "signing.method": self.method,
            "signing.signer": self.signer,
            "signing.root_digest": self.root_digest,
        }


def _ignored(model: Path, signature: Path | None, ignore_paths: list[str]) -> list[str]:
    out = list(DEFAULT_IGNORED)
    if signature is not None:
        with contextlib.suppress(ValueError):
            out.append(signature.resolve().relative_to(model.resolve()).as_posix())
    out.extend(p.strip("/") for p in ignore_paths)
    return sorted(set(out))


def model_resources(
    model: str | Path,
    *,
    ignore_paths: list[str] | None = None,
    signature: Path | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> tuple[list[Resource], list[str], bool]:
    """``(resources, ignore_paths, allow_symlinks)`` of a model as OMS ``files`` serialization sees it."""
    p = Path(model)
    ignored = _ignored(p if p.is_dir() else p.parent, signature, ignore_paths or [])
    lay = discover(p, ignore=tuple(i for i in ignored if "/" not in i))
    if lay.problems:
        bad = ", ".join(f"{x.rel} ({x.reason})" for x in lay.problems[:5])
        raise InputError(f"refusing to sign or verify {p}: symlinks that are not followed: {bad}")
    files = [f for f in lay.files if not any(f.rel == i or f.rel.startswith(i + "/") for i in ignored)]
    if not files:
        raise InputError(f"{p} has no files to sign")
    for f in files:
        try:
            f.rel.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"file name is not UTF-8 (OMS forbids it): {f.rel!r}") from exc
    digests = hash_layout(files, workers=workers, progress=progress)
    res = [Resource(name=f.rel, digest=digests[f.rel]) for f in sorted(files, key=lambda f: f.rel)]
    return res, ignored, any(f.via_symlink for f in files)


def build_statement(
    name: str, resources: list[Resource], ignore_paths: list[str], allow_symlinks: bool
) -> dict[str, object]:
    """The in-toto Statement v1 with the OMS v1.0 predicate for these resources."""
    ordered = sorted(resources, key=lambda r: r.name)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": root_digest((r.name, r.digest) for r in ordered)}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": {
                "method": "files",
                "hash_type": "sha256",
                "allow_symlinks": allow_symlinks,
                "ignore_paths": ignore_paths,
            },
            "resources": [r.model_dump() for r in ordered],
        },
    }


def _ecdsa_only(key: PrivateKey) -> ec.EllipticCurvePrivateKey:
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError("OMS model signatures need an ECDSA key (P-256, P-384 or P-521), not Ed25519")
    return key


def _read_certs(path: str | Path) -> list[x509.Certificate]:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"certificate file cannot be read: {p} ({exc.strerror})") from exc
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise InputError(f"not a PEM certificate file: {p} ({exc})") from exc
    return certs


def sign_model(
    model: str | Path,
    private_key: PrivateKey | str | Path,
    out: str | Path | None = None,
    *,
    certificate: str | Path | None = None,
    chain: list[str | Path] | None = None,
    ignore_paths: list[str] | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> Path:
    """Sign ``model`` (OMS v1.0, ``files`` serialization) and write the bundle to ``out`` (default ``model.sig``).

    With ``certificate`` (leaf PEM, plus optional intermediate/CA PEMs in ``chain``) this is the
    certificate method; otherwise the key method.
    """
    mp = Path(model)
    sig_path = (
        Path(out)
        if out is not None
        else (mp / "model.sig" if mp.is_dir() else mp.with_name(mp.name + ".sig"))
    )
    key = _ecdsa_only(load_private_key(private_key))
    resources, ignored, symlinks = model_resources(
        mp, ignore_paths=ignore_paths, signature=sig_path, workers=workers, progress=progress
    )
    statement = build_statement(mp.resolve().name, resources, ignored, symlinks)
    payload = json.dumps(statement, indent=2).encode("utf-8")
    sig = sign_bytes(_pae(INTOTO_PAYLOAD_TYPE, payload), key)
    material: dict[str, object]
    if certificate is not None:
        certs = _read_certs(certificate)
        for c in chain or []:
            certs.extend(_read_certs(c))
        leaf_pub = certs[0].public_key()
        if not isinstance(leaf_pub, ec.EllipticCurvePublicKey) or key_fingerprint(
            leaf_pub
        ) != key_fingerprint(key):
            raise InputError(f"the private key does not belong to the certificate {certificate}")
        material = {
            "x509CertificateChain": {
                "certificates": [
                    {"rawBytes": base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()}
                    for c in certs
                ]
            },
            "tlogEntries": [],
        }
    else:
        material = {"publicKey": {"hint": key_fingerprint(key)}, "tlogEntries": []}
    bundle = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": material,
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": INTOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(sig).decode(), "keyid": ""}],
        },
    }
    tmp = sig_path.with_name(sig_path.name + ".tmp")
    tmp.write_text(json.dumps(bundle, indent=2) + "\n", encoding="utf-8")
    tmp.replace(sig_path)
    return sig_path


def read_bundle(path: str | Path) -> dict[str, object]:
    """Parse a ``.sig`` bundle file (bounded); ``SignatureError`` when it is not a Sigstore bundle."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InputError(f"signature file cannot be read: {p} ({exc.strerror})") from exc
    if size > MAX_BUNDLE_BYTES:
        raise SignatureError(f"signature file {p} is {size} bytes; too large for a bundle")
    try:
        data = json.loads(p.read_bytes())
    except (ValueError, RecursionError) as exc:
        raise SignatureError(f"signature file {p} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("dsseEnvelope"), dict):
        raise SignatureError(f"signature file {p} is not a Sigstore bundle with a dsseEnvelope")
    if data.get("mediaType") not in ACCEPTED_MEDIA_TYPES:
        raise SignatureError(f"signature file {p}: unsupported bundle mediaType {data.get('mediaType')!r}")
    return data


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise SignatureError(f"bundle: {what} is missing or not a string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(f"bundle: {what} is not valid base64") from exc


def _verify_chain(certs: list[x509.Certificate], roots: list[x509.Certificate], now: datetime) -> None:
    leaf = certs[0]
    for c in certs:
        if not (c.not_valid_before_utc <= now <= c.not_valid_after_utc):
            raise SignatureError(
                f"certificate {c.subject.rfc4514_string()} is not valid at {now.isoformat()} "
                f"(valid {c.not_valid_before_utc.isoformat()} – {c.not_valid_after_utc.isoformat()})"
            )
    try:
        ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        ok_usage = ku.digital_signature
    except x509.ExtensionNotFound:
        ok_usage = False
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        ok_usage = ok_usage or x509.oid.ExtendedKeyUsageOID.CODE_SIGNING in eku
    except x509.ExtensionNotFound:
        pass
    if not ok_usage:
        raise SignatureError("signing certificate allows neither digitalSignature nor codeSigning")
    root_fps = {r.fingerprint(_sha256()) for r in roots}
    path = [leaf]
    pool = certs[1:] + roots
    for _ in range(10):
        cur = path[-1]
        if cur.fingerprint(_sha256()) in root_fps:
            return
        seen = {c.fingerprint(_sha256()) for c in path}
        issuer = next(
            (
                c
                for c in pool
                if c.fingerprint(_sha256()) not in seen and c.subject == cur.issuer and _issued_by(cur, c)
            ),
            None,
        )
        if issuer is None:
            raise SignatureError(
                f"certificate chain does not lead to the given CA: no valid issuer for "
                f"{cur.subject.rfc4514_string()}"
            )
        try:
            bc = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
            is_ca = bc.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise SignatureError(f"issuer {issuer.subject.rfc4514_string()} is not a CA certificate")
        path.append(issuer)
    raise SignatureError("certificate chain is too long")


def _sha256() -> hashes.HashAlgorithm:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):  # InvalidSignature and unsupported algorithms alike
        return False
    return True


def verify_model(
    model: str | Path,
    signature: str | Path,
    *,
    public_key: PublicKey | str | Path | None = None,
    ca_certificates: str | Path | None = None,
    ignore_unsigned_files: bool = False,
    workers: int | None = None,
    progress: bool = False,
) -> SignatureVerification:
    """Verify an OMS signature of ``model`` with a public key or against a CA; ``SignatureError`` if it fails."""
    if (public_key is None) == (ca_certificates is None):
        raise InputError("verify needs exactly one of a public key or a CA certificate file")
    sig_path = Path(signature)
    bundle = read_bundle(sig_path)
    env = bundle["dsseEnvelope"]
    assert isinstance(env, dict)
    if env.get("payloadType") != INTOTO_PAYLOAD_TYPE:
        raise SignatureError(
            f"bundle payloadType is {env.get('payloadType')!r}, expected {INTOTO_PAYLOAD_TYPE}"
        )
    payload = _b64(env.get("payload"), "payload")
    sigs = env.get("signatures")
    if not isinstance(sigs, list) or not sigs or not isinstance(sigs[0], dict):
        raise SignatureError("bundle has no signatures")
    raw_sig = _b64(sigs[0].get("sig"), "signature")
    material = bundle.get("verificationMaterial")
    if not isinstance(material, dict):
        raise SignatureError("bundle has no verificationMaterial")
    key: PublicKey
    if public_key is not None:
        method = "key"
        key = load_public_key(public_key)
        hint = (
            material.get("publicKey", {}).get("hint") if isinstance(material.get("publicKey"), dict) else None
        )
        if hint and hint != key_fingerprint(key):
            raise SignatureError("the public key does not match the key that signed (publicKey.hint differs)")
        signer = f"key sha256:{key_fingerprint(key)}"
    else:
        method = "certificate"
        chain = material.get("x509CertificateChain")
        entries = chain.get("certificates") if isinstance(chain, dict) else None
        if not isinstance(entries, list) or not entries:
            raise SignatureError("bundle has no x509CertificateChain to verify against the CA")
        try:
            certs = [
                x509.load_der_x509_certificate(
                    _b64(e.get("rawBytes") if isinstance(e, dict) else None, "certificate")
                )
                for e in entries[:10]
            ]
        except ValueError as exc:
            raise SignatureError(f"bundle certificate is not DER X.509: {exc}") from exc
        assert ca_certificates is not None
        _verify_chain(certs, _read_certs(ca_certificates), datetime.now(UTC))
        leaf_key = certs[0].public_key()
        if not isinstance(leaf_key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            raise SignatureError("leaf certificate key is not ECDSA")
        key = leaf_key
        signer = certs[0].subject.rfc4514_string()
    if not verify_bytes(_pae(INTOTO_PAYLOAD_TYPE, payload), raw_sig, key):
        raise SignatureError(f"signature in {sig_path} does not verify with the given {method}")
    statement = _parse_statement(payload)
    expected = {r.name: r.digest for r in statement[1]}
    ignore = statement[2]
    resources, _, _ = model_resources(
        model,
        ignore_paths=[i for i in ignore if i not in DEFAULT_IGNORED],
        signature=sig_path,
        workers=workers,
        progress=progress,
    )
    actual = {r.name: r.digest for r in resources}
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(n for n in set(expected) & set(actual) if expected[n] != actual[n])
    if missing or changed or (extra and not ignore_unsigned_files):
        parts = [
            f"{len(changed)} changed" + (f" ({', '.join(changed[:3])})" if changed else ""),
            f"{len(missing)} missing" + (f" ({', '.join(missing[:3])})" if missing else ""),
            f"{len(extra)} unsigned" + (f" ({', '.join(extra[:3])})" if extra else ""),
        ]
        raise SignatureError(f"model {model} does not match its signature: {', '.join(parts)}")
    return SignatureVerification(
        model=str(model),
        signature=str(sig_path),
        method=method,
        verified=True,
        root_digest=statement[0],
        files=len(expected),
        signer=signer,
        ignored_unsigned=extra,
    )


def _parse_statement(payload: bytes) -> tuple[str, list[Resource], list[str]]:
    try:
        st = json.loads(payload)
        if st["_type"] != STATEMENT_TYPE:
            raise SignatureError(f"statement _type is {st['_type']!r}, expected {STATEMENT_TYPE}")
        if st["predicateType"] != PREDICATE_TYPE:
            raise SignatureError(f"predicateType is {st['predicateType']!r}, expected {PREDICATE_TYPE}")
        subj = st["subject"]
        if len(subj) != 1:
            raise SignatureError("statement must have exactly one subject")
        root = str(subj[0]["digest"]["sha256"])
        pred = st["predicate"]
        ser = pred["serialization"]
        if ser.get("method") != "files" or ser.get("hash_type") != "sha256":
            raise SignatureError(f"only the files/sha256 serialization is supported, got {ser}")
        resources = [Resource.model_validate(r) for r in pred["resources"]]
        ignore = [str(x) for x in ser.get("ignore_paths", [])]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SignatureError(f"signed statement is malformed: {type(exc).__name__}: {exc}") from exc
    for r in resources:
        if r.algorithm != "sha256" or ".." in r.name.split("/") or r.name.startswith("/"):
            raise SignatureError(f"signed statement has an invalid resource {r.name!r} ({r.algorithm})")
    h = hashlib.sha256()
    for r in resources:
        h.update(bytes.fromhex(r.digest))
    if h.hexdigest() != root:
        raise SignatureError("signed statement is inconsistent: resources do not hash to the subject digest")
    return root, resources, ignore
