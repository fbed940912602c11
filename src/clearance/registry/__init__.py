"""Registry: models, approval runs, signed sign-offs and waivers, expiries, and a hash-chained ledger.

Public surface: ``Registry(location=None, create=False, clock=None)`` with ``add``, ``runs``, ``run``,
``sign_off``, ``waive``, ``signoffs``, ``waivers``, ``status``, ``settings``, ``configure``;
``verify_registry(reg, expect_head=None)``, ``export_run(reg, ref)``, ``verify_export(file_or_dict)``;
``compute_status`` (the status rules in one pure function). Store: a SQLite file (default
``./clearance-registry.db`` or ``$CLEARANCE_REGISTRY``) or ``postgresql+psycopg://`` for several reviewers.
"""

from __future__ import annotations

from clearance.registry.audit import export_run, verify_export, verify_registry
from clearance.registry.db import DEFAULT_REGISTRY, ENV_VAR, resolve_location
from clearance.registry.records import (
    DEFAULT_APPROVAL_DAYS,
    DEFAULT_REQUIRED_ROLES,
    ROLES,
    GateState,
    LedgerEntry,
    LedgerProblem,
    LedgerVerifyResult,
    RoleState,
    RunExport,
    RunInfo,
    RunStatus,
    SignOffInfo,
    WaiverInfo,
)
from clearance.registry.status import compute_status
from clearance.registry.store import Registry

__all__ = [
    "DEFAULT_APPROVAL_DAYS",
    "DEFAULT_REGISTRY",
    "DEFAULT_REQUIRED_ROLES",
    "ENV_VAR",
    "ROLES",
    "GateState",
    "LedgerEntry",
    "LedgerProblem",
    "LedgerVerifyResult",
    "Registry",
    "RoleState",
    "RunExport",
    "RunInfo",
    "RunStatus",
    "SignOffInfo",
    "WaiverInfo",
    "compute_status",
    "export_run",
    "resolve_location",
    "verify_export",
    "verify_registry",
]
