"""The registry store: register dossiers, record signed sign-offs and waivers, every write in the ledger."""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from clearance.dossier import verify_dossier
from clearance.errors import InputError, RegistryError
from clearance.registry import ledger
from clearance.registry.db import (
    ModelRow,
    RunRow,
    SettingRow,
    SignOffRow,
    WaiverRow,
    describe,
    make_engine,
    resolve_location,
)
from clearance.registry.records import (
    DEFAULT_APPROVAL_DAYS,
    DEFAULT_REQUIRED_ROLES,
    ROLES,
    RunInfo,
    RunStatus,
    SignOffInfo,
    WaiverInfo,
)
from clearance.registry.signatures import (
    SIGNOFF_TYPE,
    WAIVER_TYPE,
    check_statement,
    sign_statement,
    signoff_statement,
    waiver_statement,
)
from clearance.registry.status import compute_status
from clearance.signing import key_fingerprint, load_private_key, public_pem

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).replace(microsecond=0).isoformat()


def _check_roles(roles: Sequence[str]) -> list[str]:
    out: list[str] = []
    for r in roles:
        if r not in ROLES:
            raise InputError(f"unknown role {r!r}; use one of {', '.join(ROLES)}")
        if r not in out:
            out.append(r)
    return out


def read_dossier(directory: Path) -> tuple[dict[str, Any], str, str]:
    """(dossier.json, digest of the signed manifest.json, signer fingerprint) of a verified dossier."""
    res = verify_dossier(directory)
    if not res.ok:
        first = res.failures[0]
        more = f" (and {len(res.failures) - 1} more)" if len(res.failures) > 1 else ""
        raise RegistryError(
            f"refusing to register {directory}: dossier does not verify: {first.file}: {first.problem}{more}"
        )
    doc = json.loads((directory / "dossier.json").read_text("utf-8"))
    digest = hashlib.sha256((directory / "manifest.json").read_bytes()).hexdigest()
    return doc, digest, res.fingerprint or ""


class Registry:
    """An open registry (SQLite file or PostgreSQL URL); every write is one transaction with a ledger entry."""

    def __init__(
        self, location: str | Path | None = None, *, create: bool = False, clock: Clock | None = None
    ):
        """Open the registry at ``location`` (default ``$CLEARANCE_REGISTRY`` or ./clearance-registry.db)."""
        self.url = resolve_location(location)
        self.where = describe(self.url)
        self.engine = make_engine(self.url, create=create)
        self.clock: Clock = clock or _now
        if create:
            try:
                with self._tx() as s:
                    ledger.ensure_head(s)
            except RegistryError:
                pass  # another writer created it at the same moment

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        try:
            with Session(self.engine) as s, s.begin():
                yield s
        except IntegrityError as exc:
            raise RegistryError(
                f"registry {self.where}: concurrent write conflict, retry ({exc.orig})"
            ) from exc
        except OperationalError as exc:
            raise RegistryError(f"registry {self.where}: {str(exc.orig).splitlines()[0]}") from exc

    # ---- settings -------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """Required roles and approval validity (days) applied to newly registered runs."""
        with Session(self.engine) as s:
            rows = {r.key: json.loads(r.value) for r in s.scalars(select(SettingRow))}
        return {
            "required_roles": rows.get("required_roles", list(DEFAULT_REQUIRED_ROLES)),
            "approval_days": rows.get("approval_days", DEFAULT_APPROVAL_DAYS),
        }

    def configure(
        self, *, required_roles: Sequence[str] | None = None, approval_days: int | None = None
    ) -> dict[str, Any]:
        """Change the defaults for new runs; the change is recorded in the ledger."""
        changes: dict[str, Any] = {}
        if required_roles is not None:
            changes["required_roles"] = _check_roles(required_roles)
        if approval_days is not None:
            if approval_days < 1:
                raise InputError(f"approval validity must be at least 1 day, got {approval_days}")
            changes["approval_days"] = approval_days
        if changes:
            with self._tx() as s:
                seq = ledger.append(s, "config", None, _iso(self.clock()), changes)
                for k, v in changes.items():
                    row = s.get(SettingRow, k)
                    if row is None:
                        s.add(SettingRow(key=k, value=ledger.canonical(v), ledger_seq=seq))
                    else:
                        row.value, row.ledger_seq = ledger.canonical(v), seq
        return self.settings()

    # ---- runs -----------------------------------------------------------------------------------
    def add(
        self,
        dossier_dir: str | Path,
        *,
        registered_by: str | None = None,
        required_roles: Sequence[str] | None = None,
        approval_days: int | None = None,
    ) -> RunInfo:
        """Verify a sealed dossier and register it as a run; refuses a dossier that does not verify."""
        directory = Path(dossier_dir).resolve()
        doc, digest, signer = read_dossier(directory)
        decision = doc.get("decision") or {}
        gates = decision.get("gates") or []
        review = [str(g["id"]) for g in gates if isinstance(g, dict) and g.get("action") == "review"]
        reject = [str(g["id"]) for g in gates if isinstance(g, dict) and g.get("action") == "reject"]
        model = ((doc.get("provenance") or {}).get("model")) or {}
        defaults = self.settings()
        roles = _check_roles(required_roles) if required_roles is not None else defaults["required_roles"]
        days = approval_days if approval_days is not None else defaults["approval_days"]
        if days < 1:
            raise InputError(f"approval validity must be at least 1 day, got {days}")
        policy = f"{decision.get('policy_name', '?')} v{decision.get('policy_version', '?')}"
        if decision.get("policy_sha256"):
            policy += f" sha256:{decision['policy_sha256']}"
        name = str(model.get("name") or doc.get("title") or directory.name)
        model_digest = str(model.get("digest") or f"name:{name}")
        now = _iso(self.clock())
        with self._tx() as s:
            existing = s.scalars(select(RunRow).where(RunRow.dossier_digest == digest)).first()
            if existing is not None:
                raise RegistryError(f"this dossier is already registered as run {existing.id}")
            mrow = s.scalars(select(ModelRow).where(ModelRow.digest == model_digest)).first()
            if mrow is None:
                mrow = ModelRow(
                    name=name, digest=model_digest, source=str(model.get("source") or ""), created_at=now
                )
                s.add(mrow)
                s.flush()
            row = RunRow(
                model_id=mrow.id,
                title=str(doc.get("title") or name),
                dossier_path=str(directory),
                dossier_digest=digest,
                signer_fingerprint=signer,
                decision=str(doc.get("status") or decision.get("status") or "unknown"),
                policy=policy,
                review_gates=ledger.canonical(review),
                reject_gates=ledger.canonical(reject),
                required_roles=ledger.canonical(roles),
                approval_days=days,
                registered_by=registered_by or getpass.getuser(),
                registered_at=now,
                ledger_seq=0,
            )
            s.add(row)
            s.flush()
            info = self._run_info(row, mrow)
            row.ledger_seq = ledger.append(s, "run.add", row.id, now, run_record(info))
        return info

    def _run_info(self, row: RunRow, mrow: ModelRow) -> RunInfo:
        return RunInfo(
            id=row.id,
            title=row.title,
            model_name=mrow.name,
            model_digest=mrow.digest,
            dossier_path=row.dossier_path,
            dossier_digest=row.dossier_digest,
            dossier_signer=row.signer_fingerprint,
            decision=row.decision,
            policy=row.policy,
            review_gates=json.loads(row.review_gates),
            reject_gates=json.loads(row.reject_gates),
            required_roles=json.loads(row.required_roles),
            approval_days=row.approval_days,
            registered_by=row.registered_by,
            registered_at=row.registered_at,
        )

    def runs(self) -> list[RunInfo]:
        """Every registered run, oldest first."""
        with Session(self.engine) as s:
            pairs = s.execute(select(RunRow, ModelRow).join(ModelRow).order_by(RunRow.id)).all()
            return [self._run_info(r, m) for r, m in pairs]

    def _find(self, s: Session, ref: int | str) -> RunRow:
        text = str(ref).strip()
        if text.isdigit():
            row = s.get(RunRow, int(text))
        elif len(text) >= 8 and all(c in "0123456789abcdef" for c in text.lower()):
            matches = s.scalars(select(RunRow).where(RunRow.dossier_digest.startswith(text.lower()))).all()
            if len(matches) > 1:
                raise RegistryError(f"digest prefix {text!r} matches {len(matches)} runs; give more digits")
            row = matches[0] if matches else None
        else:
            raise InputError(f"not a run id or dossier digest prefix: {text!r}")
        if row is None:
            raise RegistryError(f"no run {text} in registry {self.where} (see clearance registry list)")
        return row

    def run(self, ref: int | str) -> RunInfo:
        """One run by id or by a prefix (8+ hex digits) of its dossier digest."""
        with Session(self.engine) as s:
            row = self._find(s, ref)
            mrow = s.get(ModelRow, row.model_id)
            assert mrow is not None
            return self._run_info(row, mrow)

    # ---- sign-offs and waivers ------------------------------------------------------------------
    def sign_off(
        self,
        ref: int | str,
        *,
        role: str,
        key: str | Path,
        decision: str = "approve",
        comment: str = "",
        signer: str | None = None,
    ) -> SignOffInfo:
        """Sign the run's dossier digest as ``role`` with a private key and record it (approve or reject).

        Separation of duties: one key may sign a run for one role only.
        """
        _check_roles([role])
        if decision not in ("approve", "reject"):
            raise InputError(f"sign-off decision must be approve or reject, got {decision!r}")
        priv = load_private_key(key)
        fp = key_fingerprint(priv)
        run = self.run(ref)
        now = _iso(self.clock())
        fields = {
            "run_id": run.id,
            "dossier_digest": run.dossier_digest,
            "model_digest": run.model_digest,
            "role": role,
            "decision": decision,
            "signer": signer or getpass.getuser(),
            "comment": comment,
            "signed_at": now,
        }
        envelope = sign_statement(SIGNOFF_TYPE, signoff_statement(fields), priv)
        pem = public_pem(priv.public_key()).decode("ascii")
        with self._tx() as s:
            others = s.scalars(
                select(SignOffRow).where(SignOffRow.run_id == run.id, SignOffRow.fingerprint == fp)
            ).all()
            clash = [o.role for o in others if o.role != role]
            if clash:
                raise RegistryError(
                    f"key {fp[:16]}… already signed run {run.id} as {clash[0]}; separation of duties "
                    f"needs a different person's key for {role}"
                )
            row = SignOffRow(
                run_id=run.id,
                role=role,
                decision=decision,
                signer=fields["signer"],
                comment=comment,
                signed_at=now,
                fingerprint=fp,
                public_key=pem,
                envelope=envelope,
                ledger_seq=0,
            )
            s.add(row)
            s.flush()
            row.ledger_seq = ledger.append(s, "signoff", run.id, now, signoff_record(row))
            info = _signoff_info(row, True)
        return info

    def waive(
        self,
        ref: int | str,
        *,
        gate: str,
        reason: str,
        expires: date | str,
        key: str | Path,
        approver: str | None = None,
    ) -> WaiverInfo:
        """Waive one needs-review gate of a run until ``expires`` (00:00 UTC); signed with ``key``."""
        try:
            exp = expires if isinstance(expires, date) else date.fromisoformat(str(expires))
        except ValueError as exc:
            raise InputError(f"--expires must be a date YYYY-MM-DD, got {expires!r}") from exc
        if not reason.strip():
            raise InputError("a waiver needs a reason")
        now_t = self.clock()
        if datetime.combine(exp, datetime.min.time(), tzinfo=UTC) <= now_t:
            raise InputError(f"waiver expiry {exp.isoformat()} is not in the future")
        run = self.run(ref)
        if gate in run.reject_gates:
            raise RegistryError(
                f"gate {gate!r} of run {run.id} rejected the model; a rejecting gate cannot be waived"
            )
        if gate not in run.review_gates:
            listed = ", ".join(run.review_gates) or "none"
            raise RegistryError(
                f"gate {gate!r} does not need review in run {run.id} (gates needing review: {listed})"
            )
        priv = load_private_key(key)
        now = _iso(now_t)
        fields = {
            "run_id": run.id,
            "dossier_digest": run.dossier_digest,
            "gate": gate,
            "reason": reason,
            "approver": approver or getpass.getuser(),
            "expires": exp.isoformat(),
            "created_at": now,
        }
        envelope = sign_statement(WAIVER_TYPE, waiver_statement(fields), priv)
        with self._tx() as s:
            row = WaiverRow(
                run_id=run.id,
                gate=gate,
                reason=reason,
                approver=fields["approver"],
                expires=fields["expires"],
                created_at=now,
                fingerprint=key_fingerprint(priv),
                public_key=public_pem(priv.public_key()).decode("ascii"),
                envelope=envelope,
                ledger_seq=0,
            )
            s.add(row)
            s.flush()
            row.ledger_seq = ledger.append(s, "waiver", run.id, now, waiver_record(row))
            info = _waiver_info(row, True)
        return info

    def signoffs(self, ref: int | str) -> list[SignOffInfo]:
        """The run's sign-offs, oldest first, each with its signature checked."""
        run = self.run(ref)
        with Session(self.engine) as s:
            rows = s.scalars(
                select(SignOffRow).where(SignOffRow.run_id == run.id).order_by(SignOffRow.id)
            ).all()
            return [_signoff_info(r, signoff_problem(r, run) is None) for r in rows]

    def waivers(self, ref: int | str) -> list[WaiverInfo]:
        """The run's waivers, oldest first, each with its signature checked."""
        run = self.run(ref)
        with Session(self.engine) as s:
            rows = s.scalars(select(WaiverRow).where(WaiverRow.run_id == run.id).order_by(WaiverRow.id)).all()
            return [_waiver_info(r, waiver_problem(r, run) is None) for r in rows]

    def status(self, ref: int | str, *, as_of: datetime | None = None) -> RunStatus:
        """The run's final status at ``as_of`` (default now): decision, waivers, sign-offs, flags."""
        run = self.run(ref)
        return compute_status(run, self.signoffs(run.id), self.waivers(run.id), as_of or self.clock())


# ---- records as they go into the ledger (and are compared with the tables by verify) -------------


def run_record(info: RunInfo) -> dict[str, Any]:
    """The ledger data of a registered run."""
    return info.model_dump(mode="json")


def signoff_record(row: SignOffRow) -> dict[str, Any]:
    """The ledger data of a sign-off: every stored column, the envelope and public key included."""
    return {
        "id": row.id,
        "run_id": row.run_id,
        "role": row.role,
        "decision": row.decision,
        "signer": row.signer,
        "comment": row.comment,
        "signed_at": row.signed_at,
        "fingerprint": row.fingerprint,
        "public_key": row.public_key,
        "envelope": row.envelope,
    }


def waiver_record(row: WaiverRow) -> dict[str, Any]:
    """The ledger data of a waiver: every stored column, the envelope and public key included."""
    return {
        "id": row.id,
        "run_id": row.run_id,
        "gate": row.gate,
        "reason": row.reason,
        "approver": row.approver,
        "expires": row.expires,
        "created_at": row.created_at,
        "fingerprint": row.fingerprint,
        "public_key": row.public_key,
        "envelope": row.envelope,
    }


def signoff_problem(rec: SignOffRow | dict[str, Any], run: RunInfo) -> str | None:
    """None when the sign-off's signature verifies over exactly its stored fields and the run's digest."""
    d = signoff_record(rec) if isinstance(rec, SignOffRow) else rec
    expected = signoff_statement(
        {**d, "dossier_digest": run.dossier_digest, "model_digest": run.model_digest, "run_id": run.id}
    )
    return check_statement(SIGNOFF_TYPE, d["envelope"], d["public_key"], d["fingerprint"], expected)


def waiver_problem(rec: WaiverRow | dict[str, Any], run: RunInfo) -> str | None:
    """None when the waiver's signature verifies over exactly its stored fields and the run's digest."""
    d = waiver_record(rec) if isinstance(rec, WaiverRow) else rec
    expected = waiver_statement({**d, "dossier_digest": run.dossier_digest, "run_id": run.id})
    return check_statement(WAIVER_TYPE, d["envelope"], d["public_key"], d["fingerprint"], expected)


def _signoff_info(row: SignOffRow, ok: bool) -> SignOffInfo:
    return SignOffInfo(
        id=row.id,
        run_id=row.run_id,
        role=row.role,
        decision=row.decision,  # type: ignore[arg-type]
        signer=row.signer,
        comment=row.comment,
        signed_at=row.signed_at,
        fingerprint=row.fingerprint,
        signature_ok=ok,
    )


def _waiver_info(row: WaiverRow, ok: bool) -> WaiverInfo:
    return WaiverInfo(
        id=row.id,
        run_id=row.run_id,
        gate=row.gate,
        reason=row.reason,
        approver=row.approver,
        expires=row.expires,
        created_at=row.created_at,
        fingerprint=row.fingerprint,
        signature_ok=ok,
    )
