"""The registry's tables (SQLAlchemy 2) and how a store is opened: a SQLite file or a PostgreSQL URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clearance.errors import RegistryError
from clearance.registry.names import ENV_VAR

DEFAULT_REGISTRY = "clearance-registry.db"


class Base(DeclarativeBase):
    """Declarative base of every registry table."""


class ModelRow(Base):
    """A model artifact, identified by the digest of its files (or its name when no digest is known)."""

    __tablename__ = "models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    digest: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[str] = mapped_column(String(40))


class RunRow(Base):
    """One registered approval run: its dossier (by digest), the policy decision and what it requires."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    title: Mapped[str] = mapped_column(Text)
    dossier_path: Mapped[str] = mapped_column(Text)
    dossier_digest: Mapped[str] = mapped_column(String(64), unique=True)
    signer_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    decision: Mapped[str] = mapped_column(String(20))
    policy: Mapped[str] = mapped_column(Text)
    review_gates: Mapped[str] = mapped_column(Text)  # canonical JSON list of gate ids
    reject_gates: Mapped[str] = mapped_column(Text)
    required_roles: Mapped[str] = mapped_column(Text)
    approval_days: Mapped[int] = mapped_column(Integer)
    registered_by: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[str] = mapped_column(String(40))
    unmeasured_gates: Mapped[str] = mapped_column(Text, default="[]")
    signer_person: Mapped[str | None] = mapped_column(String(200), nullable=True)
    signer_trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    separation_of_duties: Mapped[bool] = mapped_column(Boolean, default=True)
    ledger_seq: Mapped[int] = mapped_column(Integer)


class SignOffRow(Base):
    """A reviewer's signed approve/reject of one run, for one role."""

    __tablename__ = "signoffs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    role: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(20))
    signer: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[str] = mapped_column(String(40))
    fingerprint: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(Text)
    envelope: Mapped[str] = mapped_column(Text)
    ledger_seq: Mapped[int] = mapped_column(Integer)


class WaiverRow(Base):
    """A signed waiver turning one needs-review gate of one run into a pass until it expires."""

    __tablename__ = "waivers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    gate: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40), default="")
    reason: Mapped[str] = mapped_column(Text)
    approver: Mapped[str] = mapped_column(String(200))
    expires: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[str] = mapped_column(String(40))
    fingerprint: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(Text)
    envelope: Mapped[str] = mapped_column(Text)
    ledger_seq: Mapped[int] = mapped_column(Integer)


class SettingRow(Base):
    """A mirror of one registry setting; the ledger's admin-signed ``config`` entries are the truth."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    ledger_seq: Mapped[int] = mapped_column(Integer)


class LedgerRow(Base):
    """One hash-chained ledger entry; ``seq`` is unique, so two writers can never both append entry N."""

    __tablename__ = "ledger"
    __table_args__ = (UniqueConstraint("entry_hash"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recorded_at: Mapped[str] = mapped_column(String(40))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON


class ChainHead(Base):
    """The single row every append locks: the last sequence number and hash of the ledger."""

    __tablename__ = "chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))


class EnrolmentRow(Base):
    """A mirror of one key enrolment (the ledger's admin-signed ``enrol``/``revoke`` entries are the truth)."""

    __tablename__ = "enrolments"
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    person: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(Text)  # canonical JSON list
    public_key: Mapped[str] = mapped_column(Text)
    enrolled_by: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[str] = mapped_column(String(40))
    ledger_seq: Mapped[int] = mapped_column(Integer)
    revoked_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class CheckpointRow(Base):
    """The registry key's signature over the chain head, rewritten at every write (only the latest is kept)."""

    __tablename__ = "checkpoint"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(40))
    registry_fingerprint: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[str] = mapped_column(Text)


def resolve_location(location: str | Path | None) -> str:
    """The registry URL: ``location``, else ``$CLEARANCE_REGISTRY``, else ``./clearance-registry.db``."""
    loc = str(location) if location else os.environ.get(ENV_VAR) or DEFAULT_REGISTRY
    if "://" in loc:
        return loc
    return f"sqlite:///{Path(loc).expanduser().resolve()}"


def describe(url: str) -> str:
    """A URL fit to print: SQLite shown as its path, passwords masked."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def make_engine(url: str, *, create: bool) -> Engine:
    """An engine for ``url`` with the schema in place; SQLite writers serialise with ``BEGIN IMMEDIATE``."""
    is_sqlite = url.startswith("sqlite")
    if is_sqlite and not create:
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise RegistryError(
                f"no registry at {path}: create one with clearance registry init --admin NAME --admin-key KEY"
            )
    if is_sqlite:
        parent = Path(url.removeprefix("sqlite:///")).parent
        if not parent.is_dir():
            raise RegistryError(f"registry directory does not exist: {parent}")
    kwargs: dict[str, Any] = {"future": True}
    if is_sqlite:
        kwargs["connect_args"] = {"timeout": 60}
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError as exc:
        raise RegistryError(f"unsupported registry URL {describe(url)!r}: {exc}") from exc
    except ModuleNotFoundError as exc:
        raise RegistryError(
            f"registry URL {describe(url)!r} needs the driver {exc.name!r}: pip install 'clearance[postgres]'"
        ) from exc
    except ArgumentError as exc:
        raise RegistryError(f"not a registry URL: {url!r} ({exc})") from exc
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _rec: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below take effect
            dbapi_conn.execute("PRAGMA foreign_keys=ON")

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        insp = inspect(engine)
        if create or not insp.has_table("ledger"):
            if not create:
                raise RegistryError(f"{describe(url)} is not a Clearance registry (no ledger table)")
            if insp.has_table("ledger") and not insp.has_table("checkpoint"):
                raise RegistryError(
                    f"{describe(url)} was made by an older Clearance without key enrolment and checkpoints: "
                    "create a new registry with clearance registry init and register the dossiers again"
                )
            Base.metadata.create_all(engine)
        elif not insp.has_table("checkpoint"):
            raise RegistryError(
                f"{describe(url)} was made by an older Clearance without key enrolment and checkpoints: "
                "create a new registry with clearance registry init and register the dossiers again"
            )
    except (DBAPIError, SQLAlchemyError) as exc:
        engine.dispose()
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        raise RegistryError(f"cannot open registry {describe(url)}: {first}") from exc
    return engine
