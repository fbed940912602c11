"""Registry: key enrolments, models, approval runs, signed sign-offs, waivers and vetoes, expiries, and a
hash-chained ledger whose head the registry's own key signs (a checkpoint) at every write.

Public surface (see docs/registry.md, "From Python"):
``Registry.init(location, admin=, admin_key=, key=None, ...)`` creates one (entry 1 names the registry key,
entry 2 enrols the first admin, self-signed: the bootstrap); ``Registry(location, key=None, clock=None)``
opens one, with ``enrol``, ``revoke``, ``enrolments``, ``enrolment``, ``run_signer_keys``, ``settings``,
``configure``, ``add``, ``runs``, ``run``, ``sign_off``, ``waive``, ``withdraw``, ``signoffs``, ``waivers``,
``status``, ``statuses``, ``checkpoint``, ``ledger_entries``; every key argument takes a key object held in
memory or a PEM file path. ``verify_registry(reg, expect_head=None)``, ``export_run(reg, ref)``,
``verify_export(file_or_dict)``; ``compute_status`` (the status rules in one pure function). Store: a SQLite
file (default ``./clearance-registry.db`` or ``$CLEARANCE_REGISTRY``) or ``postgresql+psycopg://``.
"""

from __future__ import annotations

from clearance.registry.audit import export_run, verify_export, verify_registry
from clearance.registry.checkpoint import KEY_ENV_VAR
from clearance.registry.db import DEFAULT_REGISTRY, ENV_VAR, resolve_location
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
    GateState,
    LedgerEntry,
    LedgerProblem,
    LedgerVerifyResult,
    RoleState,
    RunExport,
    RunInfo,
    RunStatus,
    Settings,
    SignOffInfo,
    WaiverInfo,
    Withdrawal,
)
from clearance.registry.status import compute_status
from clearance.registry.store import Registry, load_private_key_pem

__all__ = [
    "ADMIN_ROLE",
    "DEFAULT_APPROVAL_DAYS",
    "DEFAULT_REGISTRY",
    "DEFAULT_REQUIRED_ROLES",
    "ENV_VAR",
    "KEY_ENV_VAR",
    "KEY_ROLES",
    "MAX_APPROVAL_DAYS",
    "ROLES",
    "RUN_SIGNER_ROLE",
    "Checkpoint",
    "Enrolment",
    "GateState",
    "LedgerEntry",
    "LedgerProblem",
    "LedgerVerifyResult",
    "Registry",
    "RoleState",
    "RunExport",
    "RunInfo",
    "RunStatus",
    "Settings",
    "SignOffInfo",
    "WaiverInfo",
    "Withdrawal",
    "compute_status",
    "export_run",
    "load_private_key_pem",
    "resolve_location",
    "verify_export",
    "verify_registry",
]
