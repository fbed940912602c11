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
Names are imported on first use, so a caller that needs only ``names`` (the CLI's option defaults) loads
neither the store nor pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearance.lazy import lazy_names

_WHERE = {
    "ADMIN_ROLE": "names",
    "DEFAULT_APPROVAL_DAYS": "names",
    "DEFAULT_REGISTRY": "db",
    "DEFAULT_REQUIRED_ROLES": "names",
    "ENV_VAR": "names",
    "KEY_ENV_VAR": "names",
    "KEY_ROLES": "names",
    "MAX_APPROVAL_DAYS": "names",
    "ROLES": "names",
    "RUN_SIGNER_ROLE": "names",
    "Checkpoint": "records",
    "Enrolment": "records",
    "GateState": "records",
    "LedgerEntry": "records",
    "LedgerProblem": "records",
    "LedgerVerifyResult": "records",
    "Registry": "store",
    "RoleState": "records",
    "RunExport": "records",
    "RunInfo": "records",
    "RunStatus": "records",
    "Settings": "records",
    "SignOffInfo": "records",
    "WaiverInfo": "records",
    "Withdrawal": "records",
    "compute_status": "status",
    "export_run": "audit",
    "load_private_key_pem": "store",
    "resolve_location": "db",
    "verify_export": "audit",
    "verify_registry": "audit",
}

if TYPE_CHECKING:
    from clearance.registry.audit import export_run, verify_export, verify_registry
    from clearance.registry.db import DEFAULT_REGISTRY, resolve_location
    from clearance.registry.names import (
        ADMIN_ROLE,
        DEFAULT_APPROVAL_DAYS,
        DEFAULT_REQUIRED_ROLES,
        ENV_VAR,
        KEY_ENV_VAR,
        KEY_ROLES,
        MAX_APPROVAL_DAYS,
        ROLES,
        RUN_SIGNER_ROLE,
    )
    from clearance.registry.records import (
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


__getattr__ = lazy_names(__name__, _WHERE)


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
