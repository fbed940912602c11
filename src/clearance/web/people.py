"""People of the web app: accounts with roles, argon2 password hashes, signing keys (sealed, or in a
key file the administrator named), sessions, login throttling, one-time form nonces and the log of
what each person did or was refused.

These tables live in the registry's own database (SQLite file or PostgreSQL), beside the ledger, so
the CLI and the web app share one store. Nothing here writes approvals: sign-offs and waivers go
through ``clearance.registry.Registry`` and its ledger.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, ForeignKey, Integer, String, Text, delete, func, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from clearance.errors import InputError
from clearance.registry import ROLES
from clearance.signing import PrivateKey, key_fingerprint, public_pem
from clearance.web.keys import (
    KeyFileChanged,
    KeyFileError,
    key_file_path,
    key_file_ref,
    load_key_file,
    new_key,
    open_key,
    open_key_file,
    seal_key,
)

VIEWER = "viewer"  # may read every page, may sign nothing
WEB_ROLES: tuple[str, ...] = (*ROLES, VIEWER)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024

# Sessions: idle expiry and absolute lifetime (seconds).
IDLE_S = 30 * 60
LIFETIME_S = 12 * 3600
TOUCH_S = 60  # the idle timer is refreshed at most this often (one write a minute, not one per page)
# Login throttling: this many failures per account or per client address within the window lock it.
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
NONCE_S = 30 * 60

Clock = Callable[[], float]


class WebBase(DeclarativeBase):
    """Declarative base of the web app's tables (kept apart from the registry's own)."""


class UserRow(WebBase):
    """A person: roles, argon2 hash, and a signing key sealed under their password (``sealed_key``), or
    a reference to a key file (path and fingerprint, no key) in that same column."""

    __tablename__ = "web_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    roles: Mapped[str] = mapped_column(Text)  # JSON list
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[int] = mapped_column(Integer, default=0)
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(Text)
    sealed_key: Mapped[str] = mapped_column(Text)
    credential_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[str] = mapped_column(String(40))


class SessionRow(WebBase):
    """A login session; the cookie holds a random token, the table only its sha256."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    credential_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column()
    last_seen: Mapped[float] = mapped_column()
    revoked: Mapped[int] = mapped_column(Integer, default=0)


class LoginFailureRow(WebBase):
    """One failed password check, by account and by client address (for throttling)."""

    __tablename__ = "web_login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), index=True)
    at: Mapped[float] = mapped_column()


class NonceRow(WebBase):
    """A one-time token of a signing form: a sign-off or waiver form can be submitted once."""

    __tablename__ = "web_form_nonces"
    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[float] = mapped_column()
    used: Mapped[int] = mapped_column(Integer, default=0)


class EventRow(WebBase):
    """What a person did in the web app, or was refused: logins, logouts, denied actions, admin changes."""

    __tablename__ = "web_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(40))
    user: Mapped[str] = mapped_column(String(100))
    client: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))  # ok | denied | failed
    detail: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class Person:
    """A signed-in or listed person, without secrets."""

    id: int
    name: str
    roles: tuple[str, ...]
    disabled: bool
    key_fingerprint: str
    public_key: str
    key_file: str | None = None  # the key file's path; None for a key sealed in the database

    @property
    def key_kind(self) -> str:
        """``sealed`` (in the database, under the password) or ``file`` (a key file on the server)."""
        return "sealed" if self.key_file is None else "file"

    def may_sign(self, role: str) -> bool:
        """Whether this person holds ``role`` (and so may sign for it)."""
        return role in self.roles and role in ROLES


@dataclass(frozen=True)
class LiveSession:
    """A valid session: its person, its CSRF token and the hash that names it."""

    person: Person
    csrf: str
    token_hash: str


class LoginRefused(InputError):
    """Wrong name or password, a disabled account, or too many recent failures (``throttled``)."""

    def __init__(self, message: str, *, throttled: bool = False, retry_after_s: int = 0):
        super().__init__(message)
        self.throttled = throttled
        self.retry_after_s = retry_after_s


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).replace(microsecond=0).isoformat()


def check_roles(roles: Sequence[str]) -> tuple[str, ...]:
    """Validated, de-duplicated roles (reviewer roles of the registry, or ``viewer``)."""
    out: list[str] = []
    for r in roles:
        for part in str(r).split(","):
            p = part.strip()
            if not p:
                continue
            if p not in WEB_ROLES:
                raise InputError(f"unknown role {p!r}; use one of {', '.join(WEB_ROLES)}")
            if p not in out:
                out.append(p)
    if not out:
        raise InputError(f"give at least one --role ({', '.join(WEB_ROLES)})")
    return tuple(out)


def check_password(password: str) -> str:
    """The password without its trailing newline; refuses short or oversized ones."""
    pw = password.rstrip("\r\n")
    if len(pw) < MIN_PASSWORD:
        raise InputError(f"password must be at least {MIN_PASSWORD} characters")
    if len(pw) > MAX_PASSWORD:
        raise InputError(f"password must be at most {MAX_PASSWORD} characters")
    return pw


def check_name(name: str) -> str:
    """A person's login name: 1-64 letters, digits, dot, dash, underscore or @."""
    n = name.strip()
    if not n or len(n) > 64 or not all(c.isalnum() or c in "._-@" for c in n) or not n.isascii():
        raise InputError(f"not a valid user name: {name!r} (letters, digits and . _ - @, up to 64)")
    return n


class People:
    """Accounts, sessions and the web log in the registry's database."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None, hasher: PasswordHasher | None = None):
        """Use ``engine`` (the registry's); creates the web tables when they are missing."""
        self.engine = engine
        self.clock: Clock = clock or time.time
        self.hasher = hasher or PasswordHasher()
        WebBase.metadata.create_all(engine)
        self._dummy_hash = self.hasher.hash(secrets.token_hex(16))

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with Session(self.engine) as s, s.begin():
            yield s

    # ---- accounts ---------------------------------------------------------------------------------
    @staticmethod
    def _person(row: UserRow) -> Person:
        return Person(
            id=row.id,
            name=row.name,
            roles=tuple(json.loads(row.roles)),
            disabled=bool(row.disabled),
            key_fingerprint=row.key_fingerprint,
            public_key=row.public_key,
            key_file=key_file_path(row.sealed_key),
        )

    def get(self, name: str) -> Person | None:
        """The person named ``name``, or None."""
        with Session(self.engine) as s:
            row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
            return self._person(row) if row else None

    def people(self) -> list[Person]:
        """Every account, by name."""
        with Session(self.engine) as s:
            return [self._person(r) for r in s.scalars(select(UserRow).order_by(UserRow.name))]

    @staticmethod
    def _credentials(name: str, password: str, key_file: str | Path | None) -> tuple[str, str, str]:
        """(fingerprint, public key PEM, what the ``sealed_key`` column keeps) for a new key: a fresh
        Ed25519 key sealed under ``password``, or the key in ``key_file`` (referenced, never copied)."""
        key: PrivateKey
        if key_file is None:
            key = new_key()
            stored = seal_key(key, password, name)
        else:
            key = load_key_file(key_file, password)
            stored = key_file_ref(key_file, key_fingerprint(key))
        return key_fingerprint(key), public_pem(key.public_key()).decode("ascii"), stored

    def add(
        self, name: str, roles: Sequence[str], password: str, key_file: str | Path | None = None
    ) -> Person:
        """Create an account with a fresh Ed25519 signing key sealed under ``password``, or with the
        key in ``key_file`` (encrypted with ``password``, or readable by its owner only)."""
        name, roles, password = check_name(name), check_roles(roles), check_password(password)
        if self.get(name) is not None:
            raise InputError(f"user {name!r} already exists (use: clearance web user reset {name})")
        fingerprint, public, stored = self._credentials(name, password, key_file)
        now = _iso(self.clock())
        with self._tx() as s:
            row = UserRow(
                name=name,
                roles=json.dumps(list(roles)),
                password_hash=self.hasher.hash(password),
                disabled=0,
                key_fingerprint=fingerprint,
                public_key=public,
                sealed_key=stored,
                credential_version=1,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            person = self._person(row)
        where = f" in key file {person.key_file}" if person.key_file else ""
        self.log(
            name, "", "user.add", name, "ok", f"roles {', '.join(roles)}; key {person.key_fingerprint}{where}"
        )
        return person

    def reset(
        self,
        name: str,
        password: str,
        roles: Sequence[str] | None = None,
        key_file: str | Path | None = None,
    ) -> Person:
        """New password and a new signing key (the old key cannot be opened without the old password),
        fresh and sealed, or the key in ``key_file``; ends every session of the person; enables a
        disabled account."""
        password = check_password(password)
        new_roles = check_roles(roles) if roles else None
        if self.get(name) is None:
            raise InputError(f"no user {name!r} (see clearance web user list)")
        fingerprint, public, stored = self._credentials(name, password, key_file)
        with self._tx() as s:
            row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
            if row is None:
                raise InputError(f"no user {name!r} (see clearance web user list)")
            row.password_hash = self.hasher.hash(password)
            row.key_fingerprint = fingerprint
            row.public_key = public
            row.sealed_key = stored
            row.credential_version += 1
            row.disabled = 0
            if new_roles:
                row.roles = json.dumps(list(new_roles))
            row.updated_at = _iso(self.clock())
            s.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
            person = self._person(row)
        where = f" in key file {person.key_file}" if person.key_file else ""
        self.log(name, "", "user.reset", name, "ok", f"new key {person.key_fingerprint}{where}")
        return person

    def remove(self, name: str) -> None:
        """Delete an account that was never usable (its key could not be enrolled)."""
        with self._tx() as s:
            row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
            if row is not None:
                s.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
                s.delete(row)

    def disable(self, name: str) -> Person:
        """Disable an account and end its sessions at once."""
        with self._tx() as s:
            row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
            if row is None:
                raise InputError(f"no user {name!r} (see clearance web user list)")
            row.disabled = 1
            row.credential_version += 1
            row.updated_at = _iso(self.clock())
            s.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
            person = self._person(row)
        self.log(name, "", "user.disable", name, "ok", "")
        return person

    # ---- passwords, throttling --------------------------------------------------------------------
    def _recent_failures(self, s: Session, key: str, now: float) -> tuple[int, float]:
        rows = s.execute(
            select(func.count(), func.min(LoginFailureRow.at)).where(
                LoginFailureRow.key == key, LoginFailureRow.at > now - FAILURE_WINDOW_S
            )
        ).one()
        return int(rows[0] or 0), float(rows[1] or now)

    def throttled(self, name: str, client: str) -> int:
        """Seconds until ``name`` or ``client`` may try again (0 when not throttled)."""
        now = self.clock()
        wait = 0
        with Session(self.engine) as s:
            for key in (f"user:{name}", f"client:{client}"):
                n, oldest = self._recent_failures(s, key, now)
                if n >= MAX_FAILURES:
                    wait = max(wait, int(oldest + FAILURE_WINDOW_S - now) + 1)
        return wait

    def _fail(self, name: str, client: str) -> None:
        now = self.clock()
        with self._tx() as s:
            s.add(LoginFailureRow(key=f"user:{name}", at=now))
            s.add(LoginFailureRow(key=f"client:{client}", at=now))
            s.execute(delete(LoginFailureRow).where(LoginFailureRow.at < now - 2 * FAILURE_WINDOW_S))

    def check(self, name: str, password: str, client: str, *, action: str = "login") -> Person:
        """The person if ``password`` is theirs; every failure counts towards throttling and is logged."""
        wait = self.throttled(name, client)
        if wait:
            self.log(name, client, action, name, "denied", "throttled: too many failed password checks")
            raise LoginRefused(
                f"too many failed attempts; try again in {(wait + 59) // 60} minute(s)",
                throttled=True,
                retry_after_s=wait,
            )
        with Session(self.engine) as s:
            row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
            stored = row.password_hash if row is not None else self._dummy_hash
            try:
                ok = self.hasher.verify(stored, password) and row is not None
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
            person = self._person(row) if row is not None else None
        if not ok or person is None:
            self._fail(name, client)
            self.log(name, client, action, name, "failed", "wrong user name or password")
            raise LoginRefused("wrong user name or password")
        if person.disabled:
            self.log(name, client, action, name, "denied", "account disabled")
            raise LoginRefused("this account is disabled")
        return person

    def signing_key(
        self, person: Person, password: str, client: str, *, action: str, target: str = ""
    ) -> PrivateKey:
        """Re-check the password (throttled like a login) and open the person's signing key: the sealed
        one, or the key file's, which must still hold the enrolled key (a refusal is logged)."""
        self.check(person.name, password, client, action=action)
        with Session(self.engine) as s:
            row = s.get(UserRow, person.id)
            if row is None or row.key_fingerprint != person.key_fingerprint:
                raise LoginRefused("your signing key changed; sign in again")
            stored, fingerprint = row.sealed_key, row.key_fingerprint
        path = key_file_path(stored)
        if path is None:
            return open_key(stored, password, person.name)
        try:
            return open_key_file(stored, password, fingerprint)
        except KeyFileError as exc:
            outcome = "denied" if isinstance(exc, KeyFileChanged) else "failed"
            self.log(person.name, client, action, target or f"key file {path}", outcome, str(exc))
            raise

    # ---- sessions ---------------------------------------------------------------------------------
    def start_session(self, person: Person) -> tuple[str, str]:
        """A new session for ``person``: (cookie token, CSRF token)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        with self._tx() as s:
            row = s.get(UserRow, person.id)
            assert row is not None
            s.add(
                SessionRow(
                    token_hash=_sha(token),
                    user_id=person.id,
                    csrf=csrf,
                    credential_version=row.credential_version,
                    created_at=now,
                    last_seen=now,
                    revoked=0,
                )
            )
            s.execute(delete(SessionRow).where(SessionRow.last_seen < now - LIFETIME_S))
        return token, csrf

    def session(self, token: str | None) -> LiveSession | None:
        """The live session of a cookie token, refreshing its idle timer; None when ended or expired."""
        if not token or len(token) > 200:
            return None
        h = _sha(token)
        now = self.clock()
        with Session(self.engine) as s:  # a read; the write below happens at most once a minute
            row = s.get(SessionRow, h)
            if row is None or row.revoked:
                return None
            user = s.get(UserRow, row.user_id)
            live = (
                user is not None
                and not user.disabled
                and user.credential_version == row.credential_version
                and now - row.last_seen <= IDLE_S
                and now - row.created_at <= LIFETIME_S
            )
            stale = now - row.last_seen > TOUCH_S
            result = (
                LiveSession(person=self._person(user), csrf=row.csrf, token_hash=h) if live and user else None
            )
        if result is None or stale:
            with self._tx() as s:
                row = s.get(SessionRow, h)
                if row is not None:
                    if result is None:
                        row.revoked = 1
                    else:
                        row.last_seen = now
        return result

    def end_session(self, token_hash: str) -> None:
        """Log out: the session is revoked on the server, so its cookie no longer opens anything."""
        with self._tx() as s:
            row = s.get(SessionRow, token_hash)
            if row is not None:
                row.revoked = 1
            s.execute(delete(NonceRow).where(NonceRow.token_hash == token_hash))

    # ---- one-time form nonces ---------------------------------------------------------------------
    def issue_nonce(self, live: LiveSession, purpose: str) -> str:
        """A token a signing form carries; it can be used once, by this session, for this purpose."""
        nonce = secrets.token_urlsafe(24)
        now = self.clock()
        with self._tx() as s:
            s.add(
                NonceRow(
                    nonce_hash=_sha(nonce),
                    token_hash=live.token_hash,
                    purpose=purpose,
                    expires_at=now + NONCE_S,
                    used=0,
                )
            )
            s.execute(delete(NonceRow).where(NonceRow.expires_at < now - NONCE_S))
        return nonce

    def use_nonce(self, live: LiveSession, purpose: str, nonce: str) -> bool:
        """Consume a form nonce; False when unknown, used, expired, or issued to another session/purpose.

        One conditional UPDATE, so of two requests racing with the same nonce (threads or app processes
        on one database) exactly one wins."""
        if not nonce or len(nonce) > 200:
            return False
        with self._tx() as s:
            done = s.execute(
                update(NonceRow)
                .where(
                    NonceRow.nonce_hash == _sha(nonce),
                    NonceRow.used == 0,
                    NonceRow.expires_at >= self.clock(),
                    NonceRow.token_hash == live.token_hash,
                    NonceRow.purpose == purpose,
                )
                .values(used=1)
            )
            return bool(done.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult

    # ---- the web log ------------------------------------------------------------------------------
    def log(self, user: str, client: str, action: str, target: str, outcome: str, detail: str) -> None:
        """Record one event (denied actions included) in ``web_events``."""
        with self._tx() as s:
            s.add(
                EventRow(
                    at=_iso(self.clock()),
                    user=user[:100],
                    client=client[:100],
                    action=action[:100],
                    target=target[:2000],
                    outcome=outcome,
                    detail=detail[:2000],
                )
            )

    def events(self, *, limit: int = 200, outcome: str | None = None) -> list[EventRow]:
        """The newest events first (optionally only ``denied`` or ``failed`` ones)."""
        with Session(self.engine) as s:
            q = select(EventRow).order_by(EventRow.id.desc()).limit(limit)
            if outcome:
                q = q.where(EventRow.outcome == outcome)
            rows = list(s.scalars(q))
            s.expunge_all()
            return rows
