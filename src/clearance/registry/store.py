"""The registry store: enrol keys, register dossiers, record signed sign-offs, waivers and withdrawals.

The ledger is the truth: every read folds it (``state.fold``) after checking its hash chain and the
registry key's checkpoint; the tables (runs, signoffs, waivers, settings, enrolments) only mirror it for
SQL readers and are compared with it by ``verify_registry``. Every write is one transaction that first
locks the chain head (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), then reads
and checks the ledger, then runs its checks (enrolment, duplicates, separation of duties) and appends —
so no check can be raced — and ends by signing a new checkpoint with the registry key.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from clearance.dossier import verify_dossier
from clearance.errors import InputError, RegistryError
from clearance.registry import ledger
from clearance.registry.checkpoint import (
    KeyLike,
    checkpoint_problems,
    find_registry_key,
    sign_checkpoint,
    sqlite_key_path,
    write_new_key,
)
from clearance.registry.db import (
    ChainHead,
    CheckpointRow,
    EnrolmentRow,
    LedgerRow,
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
    ADMIN_ROLE,
    DEFAULT_APPROVAL_DAYS,
    DEFAULT_REQUIRED_ROLES,
    KEY_ROLES,
    MAX_APPROVAL_DAYS,
    ROLES,
    RUN_SIGNER_ROLE,
    Checkpoint,
    Enrolment,
    LedgerEntry,
    LedgerProblem,
    RunInfo,
    RunStatus,
    Settings,
    SignOffInfo,
    WaiverInfo,
    Withdrawal,
)
from clearance.registry.signatures import (
    CONFIG_TYPE,
    ENROL_TYPE,
    REVOKE_TYPE,
    SIGNOFF_TYPE,
    WAIVER_TYPE,
    WITHDRAW_TYPE,
    check_statement,
    config_statement,
    enrol_statement,
    public_key_from_pem,
    revoke_statement,
    sign_statement,
    signoff_statement,
    waiver_statement,
    withdraw_statement,
)
from clearance.registry.state import LedgerState, check_settings, fold, fold_entry, parse_time
from clearance.registry.status import compute_status, judge_records
from clearance.signing import PublicKey, key_fingerprint, load_private_key, load_public_key, public_pem

Clock = Callable[[], datetime]
PublicKeyLike = PublicKey | KeyLike | bytes
_MAX_ID_DIGITS = 18  # run ids fit a signed 64-bit integer
_MAX_NAME = 200


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).replace(microsecond=0).isoformat()


def _check_roles(roles: Sequence[str], allowed: Sequence[str] = ROLES) -> list[str]:
    out: list[str] = []
    for r in roles:
        if r not in allowed:
            raise InputError(f"unknown role {r!r}; use one of {', '.join(allowed)}")
        if r not in out:
            out.append(r)
    return out


def _check_days(days: int, limit: int = MAX_APPROVAL_DAYS) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= limit:
        raise InputError(f"approval validity must be 1..{limit} days, got {days!r}")
    return days


def _check_name(what: str, name: str) -> str:
    name = str(name).strip()
    if not name or len(name) > _MAX_NAME or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InputError(f"{what} must be 1..{_MAX_NAME} printable characters, got {name[:40]!r}")
    return name


def as_public_key(key: PublicKeyLike) -> PublicKey:
    """A public key from a key object (public or private), PEM text/bytes, or a PEM/DER file path."""
    if isinstance(key, bytes):
        return public_key_from_pem(key.decode("ascii", "replace"))
    if isinstance(key, str) and key.lstrip().startswith("-----BEGIN"):
        if "PRIVATE KEY" in key:
            return load_private_key_pem(key).public_key()
        return public_key_from_pem(key)
    return load_public_key(key)


def load_private_key_pem(pem: str | bytes, password: bytes | None = None) -> Any:
    """A private key object from PEM text (for keys held in memory, e.g. decrypted from a database)."""
    from cryptography.hazmat.primitives import serialization

    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password)
    except (ValueError, TypeError) as exc:
        raise InputError(f"not a readable PEM private key ({exc})") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise InputError(f"unsupported private key type {type(key).__name__}; use Ed25519 or ECDSA")
    return key


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


@dataclass
class _Write:
    """One write transaction: the locked session, the ledger as read under the lock, and what was appended."""

    session: Session
    entries: list[LedgerEntry]
    state: LedgerState
    now: str
    appended: list[LedgerEntry] = field(default_factory=list)

    def append(self, kind: str, run_id: int | None, data: dict[str, Any]) -> int:
        seq = ledger.append(self.session, kind, run_id, self.now, data)
        row = self.session.get(LedgerRow, seq)
        assert row is not None
        entry = ledger.to_entry(row)
        self.entries.append(entry)
        self.appended.append(entry)
        fold_entry(self.state, entry)
        return seq


class Registry:
    """An open registry (SQLite file or PostgreSQL URL).

    ``key`` is the registry's own key (signs checkpoints; needed to write): default
    ``$CLEARANCE_REGISTRY_KEY``, else ``<database>.key`` beside a SQLite file. Create a registry with
    ``Registry.init``. Keys for sign-offs, waivers and admin acts may be key objects held in memory or
    PEM file paths.
    """

    def __init__(
        self,
        location: str | Path | None = None,
        *,
        clock: Clock | None = None,
        key: KeyLike | None = None,
        create: bool = False,
    ):
        """Open the registry at ``location`` (default ``$CLEARANCE_REGISTRY`` or ./clearance-registry.db)."""
        self.url = resolve_location(location)
        self.where = describe(self.url)
        self.engine = make_engine(self.url, create=create)
        self.clock: Clock = clock or _now
        self._key_arg = key
        self._key: Any = None
        # What a long-lived reader (the web app) keeps between reads, so a read after a write costs the
        # new entries, not the whole ledger: signature results by entry hash (see state.fold); each stored
        # row (every column, byte for byte) already found to hash correctly, with its parsed entry; and the
        # state folded up to the last chain head read without problems (new entries fold onto a copy).
        self._verified: dict[str, str | None] = {}
        self._rows: dict[int, tuple[tuple[Any, ...], LedgerEntry]] = {}
        self._folded: LedgerState | None = None
        self._lock = threading.Lock()

    @classmethod
    def init(
        cls,
        location: str | Path | None = None,
        *,
        admin: str,
        admin_key: KeyLike,
        key: KeyLike | None = None,
        required_roles: Sequence[str] = DEFAULT_REQUIRED_ROLES,
        approval_days: int = DEFAULT_APPROVAL_DAYS,
        separation_of_duties: bool = True,
        clock: Clock | None = None,
    ) -> Registry:
        """Create a registry: entry 1 names the registry key, entry 2 enrols the first admin (bootstrap:
        self-signed with ``admin_key``, the only enrolment not signed by an existing admin), entry 3 holds
        the settings, signed by that admin. A SQLite registry without ``key`` gets a new key written to
        ``<database>.key`` (mode 0600); a PostgreSQL one needs ``key`` or ``$CLEARANCE_REGISTRY_KEY``.
        """
        admin = _check_name("admin name", admin)
        admin_priv = load_private_key(admin_key)
        settings = check_settings_input(list(required_roles), approval_days, separation_of_duties)
        url = resolve_location(location)
        reg_key = find_registry_key(url, key)
        side = sqlite_key_path(url)
        if reg_key is None and side is None:
            raise InputError(
                "a PostgreSQL registry needs its own key: --registry-key FILE (make one with "
                "clearance keygen DIR --kind ed25519) or $CLEARANCE_REGISTRY_KEY"
            )
        reg = cls(location, clock=clock, key=reg_key, create=True)
        try:
            with Session(reg.engine) as s:
                if s.scalars(select(LedgerRow).limit(1)).first() is not None:
                    raise RegistryError(f"{reg.where} is already an initialised registry")
            if reg_key is None:
                assert side is not None
                reg_key = write_new_key(side)
            reg._key = reg_key
            with reg._write(initialising=True) as w:
                reg_fp = key_fingerprint(reg_key)
                w.append(
                    "registry.init",
                    None,
                    {
                        "registry_fingerprint": reg_fp,
                        "public_key": public_pem(reg_key.public_key()).decode("ascii"),
                        "created_at": w.now,
                    },
                )
                reg._append_enrol(
                    w, admin_priv, public_pem(admin_priv.public_key()).decode(), admin, [ADMIN_ROLE]
                )
                reg._append_config(w, admin_priv, settings.model_dump())
        except BaseException:
            reg.close()
            raise
        return reg

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing -------------------------------------------------------------------------------
    def _registry_key(self) -> Any:
        if self._key is None:
            self._key = find_registry_key(self.url, self._key_arg)
        return self._key

    def _local_fingerprint(self) -> str | None:
        k = self._registry_key()
        return key_fingerprint(k) if k is not None else None

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

    def _load(self, s: Session) -> tuple[list[LedgerEntry], Checkpoint | None, list[LedgerProblem]]:
        rows: list[tuple[Any, ...]] = [
            tuple(r) for r in s.execute(select(*ledger.COLUMNS).order_by(LedgerRow.seq))
        ]
        entries: list[LedgerEntry] = []
        hashed: set[int] = set()
        for row in rows:
            hit = self._rows.get(row[0])
            if hit is not None and hit[0] == row:  # unchanged since it was hashed: reuse its entry
                entries.append(hit[1])
                hashed.add(row[0])
            else:
                entries.append(ledger.entry_from_columns(row))
        reused = set(hashed)
        problems = ledger.verify_chain(entries, raw={r[0]: r[6] for r in rows}, hashed=hashed)
        with self._lock:
            for row, e in zip(rows, entries, strict=True):
                if row[0] in hashed and row[0] not in reused:
                    self._rows[row[0]] = (row, e)
        cp_row = s.get(CheckpointRow, 1)
        cp = (
            Checkpoint(
                seq=cp_row.seq,
                entry_hash=cp_row.entry_hash,
                signed_at=cp_row.signed_at,
                registry_fingerprint=cp_row.registry_fingerprint,
                envelope=cp_row.envelope,
            )
            if cp_row is not None
            else None
        )
        if entries:
            last = entries[-1]
            head = s.get(ChainHead, 1)
            if head is None or (head.seq, head.entry_hash) != (last.seq, last.entry_hash):
                problems.append(
                    LedgerProblem(
                        seq=head.seq if head else None,
                        problem=f"chain head records entry {head.seq if head else 'none'} but the ledger ends at "
                        f"{last.seq}: entries were deleted or the head was altered",
                    )
                )
            problems += checkpoint_problems(cp, entries, local_fingerprint=self._local_fingerprint())
        return entries, cp, problems

    @contextmanager
    def _write(self, *, initialising: bool = False) -> Iterator[_Write]:
        key = self._registry_key()
        if key is None:
            hint = sqlite_key_path(self.url)
            raise RegistryError(
                "writing to this registry needs its key (it signs the checkpoint of every write): "
                + (f"{hint} is missing; " if hint else "")
                + "give --registry-key FILE or set $CLEARANCE_REGISTRY_KEY"
            )
        with self._tx() as s:
            ledger.lock_head(s)  # first: every check below runs under the lock
            entries, _, problems = self._load(s)
            if not entries and not initialising:
                raise RegistryError(f"{self.where} is not initialised: clearance registry init")
            if problems:
                p = problems[0]
                raise RegistryError(
                    f"refusing to write: the ledger does not verify (entry {p.seq}: {p.problem}); "
                    "run clearance registry verify"
                )
            state = self._fold(entries).copy()  # appended entries fold into this copy only
            if entries and state.registry_fingerprint != key_fingerprint(key):
                raise RegistryError(
                    f"the registry key given ({key_fingerprint(key)[:16]}…) is not this registry's key "
                    f"({str(state.registry_fingerprint)[:16]}…)"
                )
            now_t = self.clock()
            if state.last_recorded_at and now_t < parse_time(state.last_recorded_at):
                raise RegistryError(
                    f"this clock ({_iso(now_t)}) is behind the ledger's last entry "
                    f"({state.last_recorded_at}); fix the clock"
                )
            w = _Write(session=s, entries=entries, state=state, now=_iso(now_t))
            yield w
            if w.appended:
                last = w.appended[-1]
                cp = sign_checkpoint(key, last.seq, last.entry_hash, w.now)
                row = s.get(CheckpointRow, 1)
                if row is None:
                    row = CheckpointRow(id=1)
                    s.add(row)
                row.seq, row.entry_hash, row.signed_at = cp.seq, cp.entry_hash, cp.signed_at
                row.registry_fingerprint, row.envelope = cp.registry_fingerprint, cp.envelope
        if w.appended:  # committed: the state with the appended entries is the ledger's state now
            self._keep(w.state)

    def _keep(self, state: LedgerState) -> None:
        with self._lock:
            if self._folded is None or state.entries >= self._folded.entries:
                self._folded = state

    def _fold(self, entries: list[LedgerEntry]) -> LedgerState:
        """The state at the end of ``entries``, a chain read without problems: the kept state when the
        chain still passes through its head (a hash chain: the same head means the same prefix), with
        only the newer entries folded onto a copy; else a fold from genesis. Never edit the result."""
        with self._lock:
            kept = self._folded
        if (
            kept is not None
            and 0 < kept.entries <= len(entries)
            and entries[kept.entries - 1].entry_hash == kept.current
        ):
            if kept.entries == len(entries):
                return kept
            state = kept.copy()
            for e in entries[kept.entries :]:
                fold_entry(state, e)
        else:
            state = fold(entries, verified=self._verified)
        self._keep(state)
        return state

    def _read(self, as_of: datetime | None = None) -> tuple[LedgerState, list[str]]:
        with Session(self.engine) as s:
            entries, _, problems = self._load(s)
        if not entries:
            raise RegistryError(f"{self.where} is not initialised: clearance registry init")
        # a chain with problems is folded from genesis every time (its entries are not what was kept)
        full = fold(entries, verified=self._verified) if problems else self._fold(entries)
        state = full if as_of is None else fold(entries, as_of=as_of, verified=self._verified)
        problems += full.problems
        return state, [f"entry {p.seq}: {p.problem}" if p.seq else p.problem for p in problems]

    def state(self, *, as_of: datetime | None = None) -> LedgerState:
        """The registry as its ledger says it stood at ``as_of`` (default: now)."""
        return self._read(as_of)[0]

    def ledger_entries(self) -> list[LedgerEntry]:
        """Every ledger entry, oldest first (as stored; ``verify_registry`` checks them)."""
        with Session(self.engine) as s:
            return [ledger.to_entry(r) for r in s.scalars(select(LedgerRow).order_by(LedgerRow.seq))]

    def checkpoint(self) -> Checkpoint | None:
        """The latest checkpoint: the registry key's signature over the chain head."""
        with Session(self.engine) as s:
            return self._load(s)[1]

    # ---- keys and people ------------------------------------------------------------------------
    def _signer(self, state: LedgerState, key: KeyLike, *, role: str | None = None) -> tuple[Any, Enrolment]:
        priv = load_private_key(key)
        fp = key_fingerprint(priv)
        enr = state.enrolment_at(fp)
        if enr is None:
            raise RegistryError(
                f"key {fp[:16]}… is not enrolled in this registry (an admin enrols it: clearance registry enrol)"
            )
        if role is not None and role not in enr.roles:
            raise RegistryError(
                f"key {fp[:16]}… of {enr.person} is enrolled for {', '.join(enr.roles)}, not {role}"
            )
        return priv, enr

    def _append_enrol(self, w: _Write, by: Any, pub_pem: str, person: str, roles: list[str]) -> Enrolment:
        fp = key_fingerprint(public_key_from_pem(pub_pem))
        fields = {
            "registry": w.state.registry_fingerprint,
            "fingerprint": fp,
            "public_key": pub_pem,
            "person": person,
            "roles": roles,
            "enrolled_at": w.now,
            "enrolled_by": key_fingerprint(by),
        }
        envelope = sign_statement(ENROL_TYPE, enrol_statement(fields), by)
        data = {k: v for k, v in fields.items() if k != "registry"} | {"envelope": envelope}
        seq = w.append("enrol", None, data)
        enr = w.state.enrolments.get(fp)
        if enr is None or enr.ledger_seq != seq:
            raise RegistryError(f"enrolment of {person} did not take: {w.state.problems[-1].problem}")
        w.session.add(
            EnrolmentRow(
                fingerprint=fp,
                person=person,
                roles=ledger.canonical(roles),
                public_key=pub_pem,
                enrolled_by=fields["enrolled_by"],
                enrolled_at=w.now,
                ledger_seq=seq,
            )
        )
        return enr

    def enrol(
        self,
        public_key: PublicKeyLike,
        *,
        person: str,
        roles: Sequence[str],
        by: KeyLike,
    ) -> Enrolment:
        """Bind a public key to a person and roles, signed by an enrolled admin key ``by``.

        Roles: security, ml, legal, business (sign-offs and waivers), admin (enrols keys, changes
        settings), run-signer (dossiers signed with it are trusted). A key is enrolled once; a person may
        hold several keys. The bootstrap admin is enrolled by ``Registry.init``.
        """
        person = _check_name("person", person)
        role_list = _check_roles(list(roles), KEY_ROLES)
        if not role_list:
            raise InputError(f"an enrolment needs at least one role: {', '.join(KEY_ROLES)}")
        pub = as_public_key(public_key)
        pem = public_pem(pub).decode("ascii")
        fp = key_fingerprint(pub)
        with self._write() as w:
            admin, _ = self._signer(w.state, by, role=ADMIN_ROLE)
            if fp in w.state.enrolments:
                prev = w.state.enrolments[fp]
                raise RegistryError(
                    f"key {fp[:16]}… is already enrolled to {prev.person} (entry {prev.ledger_seq}); "
                    "a key is enrolled once"
                )
            return self._append_enrol(w, admin, pem, person, role_list)

    def revoke(self, key_or_fingerprint: PublicKeyLike, *, by: KeyLike, reason: str) -> Enrolment:
        """Stop a key from counting from now on (its earlier sign-offs keep counting); signed by an admin."""
        if not str(reason).strip():
            raise InputError("a revocation needs a reason")
        fp = _fingerprint_of(key_or_fingerprint)
        with self._write() as w:
            admin, _ = self._signer(w.state, by, role=ADMIN_ROLE)
            target = w.state.enrolment_at(fp)
            if target is None:
                raise RegistryError(f"key {fp[:16]}… is not an active enrolment")
            if key_fingerprint(admin) == fp and len(w.state.admins()) == 1:
                raise RegistryError("refusing to revoke the last admin key: enrol another admin first")
            fields = {
                "registry": w.state.registry_fingerprint,
                "fingerprint": fp,
                "reason": str(reason),
                "revoked_at": w.now,
                "revoked_by": key_fingerprint(admin),
            }
            envelope = sign_statement(REVOKE_TYPE, revoke_statement(fields), admin)
            seq = w.append(
                "revoke", None, {k: v for k, v in fields.items() if k != "registry"} | {"envelope": envelope}
            )
            row = w.session.get(EnrolmentRow, fp)
            if row is not None:
                row.revoked_seq = seq
            return w.state.enrolments[fp]

    def enrolments(self, *, as_of: datetime | None = None) -> list[Enrolment]:
        """Every enrolment (revoked ones included, with ``revoked_at``), in ledger order."""
        return sorted(self.state(as_of=as_of).enrolments.values(), key=lambda e: e.ledger_seq)

    def enrolment(self, key: PublicKeyLike) -> Enrolment | None:
        """The enrolment of a key (public or private key object, PEM, path or fingerprint), or None."""
        return self.state().enrolments.get(_fingerprint_of(key))

    def run_signer_keys(self) -> dict[str, str]:
        """Fingerprint → person of the active run-signer keys: this registry's trust list for dossiers."""
        return {e.fingerprint: e.person for e in self.state().run_signers()}

    # ---- settings -------------------------------------------------------------------------------
    def settings(self) -> Settings:
        """Required roles (the floor of every run), approval validity (days), separation of duties."""
        st = self.state().settings
        if st is None:
            raise RegistryError(f"{self.where} has no settings entry in its ledger")
        return st

    def _append_config(self, w: _Write, admin: Any, changes: dict[str, Any]) -> None:
        fields = {
            "registry": w.state.registry_fingerprint,
            "changes": changes,
            "at": w.now,
            "by": key_fingerprint(admin),
        }
        envelope = sign_statement(CONFIG_TYPE, config_statement(fields), admin)
        seq = w.append(
            "config", None, {k: v for k, v in fields.items() if k != "registry"} | {"envelope": envelope}
        )
        assert w.state.settings is not None
        for k, v in w.state.settings.model_dump().items():
            row = w.session.get(SettingRow, k)
            if row is None:
                w.session.add(SettingRow(key=k, value=ledger.canonical(v), ledger_seq=seq))
            else:
                row.value, row.ledger_seq = ledger.canonical(v), seq

    def configure(
        self,
        *,
        by: KeyLike,
        required_roles: Sequence[str] | None = None,
        approval_days: int | None = None,
        separation_of_duties: bool | None = None,
    ) -> Settings:
        """Change the settings for new runs, signed by an admin key; the change is a ledger entry."""
        changes: dict[str, Any] = {}
        if required_roles is not None:
            changes["required_roles"] = _check_roles(list(required_roles))
            if not changes["required_roles"]:
                raise InputError(
                    "required roles cannot be empty: at least one review role must sign every run"
                )
        if approval_days is not None:
            changes["approval_days"] = _check_days(approval_days)
        if separation_of_duties is not None:
            changes["separation_of_duties"] = bool(separation_of_duties)
        if changes:
            with self._write() as w:
                admin, _ = self._signer(w.state, by, role=ADMIN_ROLE)
                self._append_config(w, admin, changes)
        return self.settings()

    # ---- runs -----------------------------------------------------------------------------------
    def add(
        self,
        dossier_dir: str | Path,
        *,
        registered_by: str | None = None,
        required_roles: Sequence[str] | None = None,
        approval_days: int | None = None,
        allow_untrusted: bool = False,
    ) -> RunInfo:
        """Verify a sealed dossier and register it as a run.

        The dossier's signing key must be an enrolled run-signer key (its person is the run's submitter);
        with ``allow_untrusted`` a dossier signed by any other key is recorded as untrusted and can never
        be approved. ``required_roles`` can only add to the registry's floor; ``approval_days`` can only
        shorten its validity.
        """
        directory = Path(dossier_dir).resolve()
        doc, digest, signer_fp = read_dossier(directory)
        decision = doc.get("decision") or {}
        gates = [g for g in decision.get("gates") or [] if isinstance(g, dict)]
        review = [str(g["id"]) for g in gates if g.get("action") == "review" and g.get("outcome") == "failed"]
        unmeasured = [
            str(g["id"]) for g in gates if g.get("action") == "review" and g.get("outcome") != "failed"
        ]
        reject = [str(g["id"]) for g in gates if g.get("action") == "reject"]
        model = ((doc.get("provenance") or {}).get("model")) or {}
        policy = f"{decision.get('policy_name', '?')} v{decision.get('policy_version', '?')}"
        if decision.get("policy_sha256"):
            policy += f" sha256:{decision['policy_sha256']}"
        name = str(model.get("name") or doc.get("title") or directory.name)
        model_digest = str(model.get("digest") or f"name:{name}")
        with self._write() as w:
            settings = w.state.settings
            if settings is None:
                raise RegistryError("the registry has no settings entry in its ledger")
            roles = list(settings.required_roles)
            if required_roles is not None:
                asked = _check_roles(list(required_roles))
                if not asked:
                    raise InputError(
                        "required roles cannot be empty: at least one review role must sign every run"
                    )
                below = [r for r in roles if r not in asked]
                if below:
                    raise InputError(
                        f"this registry requires {', '.join(roles)} on every run; --require can add roles, "
                        f"not drop {', '.join(below)}"
                    )
                roles += [r for r in asked if r not in roles]
            days = settings.approval_days
            if approval_days is not None:
                days = _check_days(approval_days, settings.approval_days)
            existing = next((r for r in w.state.runs.values() if r.dossier_digest == digest), None)
            if existing is not None:
                raise RegistryError(f"this dossier is already registered as run {existing.id}")
            signer = w.state.enrolment_at(signer_fp) if signer_fp else None
            trusted = signer is not None and RUN_SIGNER_ROLE in signer.roles
            if not trusted and not allow_untrusted:
                who = f"enrolled to {signer.person} but not as run-signer" if signer else "not enrolled here"
                raise RegistryError(
                    f"refusing to register {directory}: its signing key {signer_fp[:16]}… is {who}; "
                    "an admin enrols run-signer keys (clearance registry enrol KEY.pub --person NAME "
                    "--role run-signer), or register it with --untrusted (it can then never be approved)"
                )
            mrow = w.session.scalars(select(ModelRow).where(ModelRow.digest == model_digest)).first()
            if mrow is None:
                mrow = ModelRow(
                    name=name, digest=model_digest, source=str(model.get("source") or ""), created_at=w.now
                )
                w.session.add(mrow)
                w.session.flush()
            run_id = max(w.state.runs, default=0) + 1
            info = RunInfo(
                id=run_id,
                title=str(doc.get("title") or name),
                model_name=mrow.name,
                model_digest=mrow.digest,
                dossier_path=str(directory),
                dossier_digest=digest,
                dossier_signer=signer_fp,
                decision=str(doc.get("status") or decision.get("status") or "unknown"),
                policy=policy,
                review_gates=review,
                reject_gates=reject,
                required_roles=roles,
                approval_days=days,
                registered_by=_check_name("registered by", registered_by or getpass.getuser()),
                registered_at=w.now,
                unmeasured_gates=unmeasured,
                signer_person=signer.person if trusted and signer else None,
                signer_trusted=trusted,
                separation_of_duties=settings.separation_of_duties,
            )
            row = RunRow(
                id=run_id,
                model_id=mrow.id,
                title=info.title,
                dossier_path=info.dossier_path,
                dossier_digest=digest,
                signer_fingerprint=signer_fp,
                decision=info.decision,
                policy=policy,
                review_gates=ledger.canonical(review),
                reject_gates=ledger.canonical(reject),
                required_roles=ledger.canonical(roles),
                approval_days=days,
                registered_by=info.registered_by,
                registered_at=w.now,
                unmeasured_gates=ledger.canonical(unmeasured),
                signer_person=info.signer_person,
                signer_trusted=trusted,
                separation_of_duties=info.separation_of_duties,
                ledger_seq=0,
            )
            w.session.add(row)
            w.session.flush()
            row.ledger_seq = w.append("run.add", run_id, run_record(info))
        return info

    def _run_info(self, row: RunRow, mrow: ModelRow) -> RunInfo:
        """A run as its mirror row says (``verify_registry`` compares it with the ledger)."""
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
            unmeasured_gates=json.loads(row.unmeasured_gates or "[]"),
            signer_person=row.signer_person,
            signer_trusted=bool(row.signer_trusted),
            separation_of_duties=bool(row.separation_of_duties),
        )

    def runs(self) -> list[RunInfo]:
        """Every registered run, oldest first."""
        return sorted(self.state().runs.values(), key=lambda r: r.id)

    def _find(self, state: LedgerState, ref: int | str) -> RunInfo:
        text = str(ref).strip()
        if text.isdigit() and len(text) <= _MAX_ID_DIGITS:
            run = state.runs.get(int(text))
        elif text.isdigit() and len(text) < 8:
            run = None
        elif len(text) >= 8 and len(text) <= 64 and all(c in "0123456789abcdef" for c in text.lower()):
            matches = [r for r in state.runs.values() if r.dossier_digest.startswith(text.lower())]
            if len(matches) > 1:
                raise RegistryError(f"digest prefix {text!r} matches {len(matches)} runs; give more digits")
            run = matches[0] if matches else None
        else:
            raise InputError(f"not a run id or dossier digest prefix: {text[:80]!r}")
        if run is None:
            raise RegistryError(f"no run {text[:80]} in registry {self.where} (see clearance registry list)")
        return run

    def run(self, ref: int | str) -> RunInfo:
        """One run by id or by a prefix (8+ hex digits) of its dossier digest."""
        return self._find(self.state(), ref)

    # ---- sign-offs, waivers, withdrawals -------------------------------------------------------
    def sign_off(
        self,
        ref: int | str,
        *,
        role: str,
        key: KeyLike,
        decision: str = "approve",
        comment: str = "",
        signer: str | None = None,
    ) -> SignOffInfo:
        """Sign the run's dossier digest as ``role`` and record it (approve, or reject = a veto).

        The key must be enrolled for ``role``; the signer is the key's enrolled person (``signer``, if
        given, must match). With separation of duties the submitter and waiver authors cannot approve, and
        a person approves in one role only. All checks run under the ledger lock.
        """
        _check_roles([role])
        if decision not in ("approve", "reject"):
            raise InputError(f"sign-off decision must be approve or reject, got {decision!r}")
        with self._write() as w:
            run = self._find(w.state, ref)
            priv, enr = self._signer(w.state, key, role=role)
            if signer is not None and signer != enr.person:
                raise RegistryError(f"this key is enrolled to {enr.person}, not {signer}")
            if decision == "approve":
                _duties_check(w.state, run, enr.person, role)
            fields = {
                "run_id": run.id,
                "dossier_digest": run.dossier_digest,
                "model_digest": run.model_digest,
                "role": role,
                "decision": decision,
                "signer": enr.person,
                "comment": comment,
                "signed_at": w.now,
            }
            envelope = sign_statement(SIGNOFF_TYPE, signoff_statement(fields), priv)
            new_id = max((r.info.id for rs in w.state.signoffs.values() for r in rs), default=0) + 1
            row = SignOffRow(
                id=new_id,
                run_id=run.id,
                role=role,
                decision=decision,
                signer=enr.person,
                comment=comment,
                signed_at=w.now,
                fingerprint=enr.fingerprint,
                public_key=public_pem(priv.public_key()).decode("ascii"),
                envelope=envelope,
                ledger_seq=0,
            )
            w.session.add(row)
            w.session.flush()
            row.ledger_seq = w.append("signoff", run.id, signoff_record(row))
            rec = next(r for r in w.state.signoffs[run.id] if r.info.id == new_id)
            return rec.info

    def waive(
        self,
        ref: int | str,
        *,
        gate: str,
        reason: str,
        expires: date | str,
        key: KeyLike,
        role: str | None = None,
        approver: str | None = None,
    ) -> WaiverInfo:
        """Waive one failed needs-review gate of a run until ``expires`` (00:00 UTC), as ``role``.

        A rejecting gate or one whose evidence is missing cannot be waived. The key must be enrolled for
        ``role`` (default: its only review role). With separation of duties the submitter cannot waive and
        a waiver's author can no longer approve the run.
        """
        try:
            exp = expires if isinstance(expires, date) else date.fromisoformat(str(expires))
        except ValueError as exc:
            raise InputError(f"--expires must be a date YYYY-MM-DD, got {str(expires)[:40]!r}") from exc
        if not reason.strip():
            raise InputError("a waiver needs a reason")
        with self._write() as w:
            if datetime.combine(exp, datetime.min.time(), tzinfo=UTC) <= parse_time(w.now):
                raise InputError(f"waiver expiry {exp.isoformat()} is not in the future")
            run = self._find(w.state, ref)
            if gate in run.reject_gates:
                raise RegistryError(
                    f"gate {gate!r} of run {run.id} rejected the model; a rejecting gate cannot be waived"
                )
            if gate in run.unmeasured_gates:
                raise RegistryError(
                    f"gate {gate!r} of run {run.id} was never measured (its evidence is missing); "
                    "missing evidence cannot be waived: measure it and register the new dossier"
                )
            if gate not in run.review_gates:
                listed = ", ".join(run.review_gates) or "none"
                raise RegistryError(
                    f"gate {gate!r} does not need review in run {run.id} (waivable gates: {listed})"
                )
            priv, enr = self._signer(w.state, key)
            review_roles = [r for r in enr.roles if r in ROLES]
            if role is None:
                if len(review_roles) != 1:
                    raise InputError(
                        f"{enr.person}'s key holds review roles {', '.join(review_roles) or 'none'}: "
                        "say which with --role"
                    )
                role = review_roles[0]
            _check_roles([role])
            if role not in enr.roles:
                raise RegistryError(f"key of {enr.person} is enrolled for {', '.join(enr.roles)}, not {role}")
            if approver is not None and approver != enr.person:
                raise RegistryError(f"this key is enrolled to {enr.person}, not {approver}")
            if run.separation_of_duties:
                if enr.person == run.signer_person:
                    raise RegistryError(
                        f"separation of duties: {enr.person} submitted run {run.id} (signed its dossier) "
                        "and cannot waive its gates"
                    )
                approved = _approved_roles(w.state, run, enr.person)
                if approved:
                    raise RegistryError(
                        f"separation of duties: {enr.person} approved run {run.id} as {approved[0]}; "
                        "an approver cannot also waive its gates"
                    )
            fields = {
                "run_id": run.id,
                "dossier_digest": run.dossier_digest,
                "gate": gate,
                "role": role,
                "reason": reason,
                "approver": enr.person,
                "expires": exp.isoformat(),
                "created_at": w.now,
            }
            envelope = sign_statement(WAIVER_TYPE, waiver_statement(fields), priv)
            new_id = max((r.info.id for rs in w.state.waivers.values() for r in rs), default=0) + 1
            row = WaiverRow(
                id=new_id,
                run_id=run.id,
                gate=gate,
                role=role,
                reason=reason,
                approver=enr.person,
                expires=fields["expires"],
                created_at=w.now,
                fingerprint=enr.fingerprint,
                public_key=public_pem(priv.public_key()).decode("ascii"),
                envelope=envelope,
                ledger_seq=0,
            )
            w.session.add(row)
            w.session.flush()
            row.ledger_seq = w.append("waiver", run.id, waiver_record(row))
            rec = next(r for r in w.state.waivers[run.id] if r.info.id == new_id)
            return rec.info

    def withdraw(self, signoff_id: int, *, key: KeyLike, comment: str = "") -> Withdrawal:
        """Withdraw a veto (a reject sign-off), signed by a key enrolled for the veto's role."""
        with self._write() as w:
            veto = next((r for rs in w.state.signoffs.values() for r in rs if r.info.id == signoff_id), None)
            if veto is None or veto.info.decision != "reject":
                raise RegistryError(f"sign-off {signoff_id} is not a veto (reject) in this registry")
            if signoff_id in w.state.withdrawals:
                raise RegistryError(f"the veto {signoff_id} is already withdrawn")
            run = w.state.runs[veto.info.run_id]
            priv, enr = self._signer(w.state, key, role=veto.info.role)
            fields = {
                "run_id": run.id,
                "dossier_digest": run.dossier_digest,
                "signoff_id": signoff_id,
                "role": veto.info.role,
                "signer": enr.person,
                "comment": comment,
                "withdrawn_at": w.now,
            }
            envelope = sign_statement(WITHDRAW_TYPE, withdraw_statement(fields), priv)
            data = {k: v for k, v in fields.items() if k != "dossier_digest"} | {
                "fingerprint": enr.fingerprint,
                "public_key": public_pem(priv.public_key()).decode("ascii"),
                "envelope": envelope,
            }
            w.append("withdraw", run.id, data)
            return w.state.withdrawals[signoff_id]

    # ---- reading --------------------------------------------------------------------------------
    def _judged(self, state: LedgerState, run: RunInfo) -> tuple[list[SignOffInfo], list[WaiverInfo]]:
        return judge_records(
            run, state.signoffs.get(run.id, []), state.waivers.get(run.id, []), state.withdrawals
        )

    def signoffs(self, ref: int | str, *, as_of: datetime | None = None) -> list[SignOffInfo]:
        """The run's sign-offs, oldest first, each with whether it counts and why not."""
        state = self.state(as_of=as_of)
        return self._judged(state, self._find(state, ref))[0]

    def waivers(self, ref: int | str, *, as_of: datetime | None = None) -> list[WaiverInfo]:
        """The run's waivers, oldest first, each with whether it counts and why not."""
        state = self.state(as_of=as_of)
        return self._judged(state, self._find(state, ref))[1]

    def withdrawals(self) -> list[Withdrawal]:
        """Every withdrawn veto, in ledger order."""
        return sorted(self.state().withdrawals.values(), key=lambda x: x.ledger_seq)

    def status(self, ref: int | str, *, as_of: datetime | None = None) -> RunStatus:
        """The run's final status at ``as_of`` (default now), counting only what was recorded by then."""
        t = as_of or self.clock()
        state, integrity = self._read(as_of)
        run = self._find(state if as_of is None else self.state(), ref)
        if run.id not in state.runs:
            raise RegistryError(f"run {run.id} was registered at {run.registered_at}, after {_iso(t)}")
        so, wv = self._judged(state, run)
        return compute_status(run, so, wv, t, integrity=integrity)

    def review(
        self, ref: int | str, *, as_of: datetime | None = None
    ) -> tuple[RunInfo, RunStatus, list[SignOffInfo], list[WaiverInfo]]:
        """One run with its status, sign-offs and waivers from a single read of the ledger (what a
        reviewer's page shows; ``status`` + ``signoffs`` + ``waivers`` would read it three times)."""
        t = as_of or self.clock()
        state, integrity = self._read(as_of)
        run = self._find(state, ref)
        so, wv = self._judged(state, run)
        return run, compute_status(run, so, wv, t, integrity=integrity), so, wv

    def statuses(self, *, as_of: datetime | None = None) -> list[tuple[RunInfo, RunStatus]]:
        """Every run with its status, reading and checking the ledger once."""
        state, integrity = self._read(as_of)
        return self.statuses_of(state, integrity, as_of=as_of or self.clock())

    def snapshot(self, *, as_of: datetime | None = None) -> tuple[LedgerState, list[str]]:
        """The ledger's state at ``as_of`` (default: now) and its integrity problems, from one read.
        The state is shared with later reads: read it, never edit it."""
        return self._read(as_of)

    def statuses_of(
        self,
        state: LedgerState,
        integrity: list[str],
        *,
        as_of: datetime,
        runs: set[int] | None = None,
    ) -> list[tuple[RunInfo, RunStatus]]:
        """The status at ``as_of`` of every run of a ``snapshot`` (or of ``runs`` only), by run id."""
        out = []
        for run in sorted(state.runs.values(), key=lambda r: r.id):
            if runs is None or run.id in runs:
                so, wv = self._judged(state, run)
                out.append((run, compute_status(run, so, wv, as_of, integrity=integrity)))
        return out


def check_settings_input(roles: list[str], days: int, sod: bool) -> Settings:
    """Validate settings given by a user (one-line ``InputError``)."""
    _check_roles(roles)
    _check_days(days)
    try:
        return check_settings({"required_roles": roles, "approval_days": days, "separation_of_duties": sod})
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def _fingerprint_of(key: PublicKeyLike) -> str:
    text = key.strip().lower().removeprefix("sha256:") if isinstance(key, str) else ""
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text
    return key_fingerprint(as_public_key(key))


def _approved_roles(state: LedgerState, run: RunInfo, person: str) -> list[str]:
    so, _ = judge_records(
        run, state.signoffs.get(run.id, []), state.waivers.get(run.id, []), state.withdrawals
    )
    return [s.role for s in so if s.counts and s.decision == "approve" and s.signer == person]


def _duties_check(state: LedgerState, run: RunInfo, person: str, role: str) -> None:
    if not run.separation_of_duties:
        return
    if person == run.signer_person:
        raise RegistryError(
            f"separation of duties: {person} submitted run {run.id} (signed its dossier) and cannot approve it"
        )
    _, wv = judge_records(
        run, state.signoffs.get(run.id, []), state.waivers.get(run.id, []), state.withdrawals
    )
    waived = [w.gate for w in wv if w.counts and w.approver == person]
    if waived:
        raise RegistryError(
            f"separation of duties: {person} waived gate {waived[0]} of run {run.id} and cannot approve it"
        )
    other = [r for r in _approved_roles(state, run, person) if r != role]
    if other:
        raise RegistryError(
            f"separation of duties: {person} already approved run {run.id} as {other[0]}; "
            f"{role} needs a different person"
        )


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
        "role": row.role,
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
