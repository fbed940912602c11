"""The registry's fixed names and limits: review and key roles, approval days, environment variables.

Plain constants with no imports, so that the CLI can declare its options (help texts, defaults, environment
variables) without loading pydantic or the store; ``records`` re-exports them.
"""

from __future__ import annotations

ROLES: tuple[str, ...] = ("security", "ml", "legal", "business")
# Roles a key can be enrolled for: the review roles, ``admin`` (enrols keys, changes settings) and
# ``run-signer`` (a key whose dossiers the registry trusts).
ADMIN_ROLE = "admin"
RUN_SIGNER_ROLE = "run-signer"
KEY_ROLES: tuple[str, ...] = (*ROLES, ADMIN_ROLE, RUN_SIGNER_ROLE)

DEFAULT_REQUIRED_ROLES: tuple[str, ...] = ("security", "ml")
DEFAULT_APPROVAL_DAYS = 365
MAX_APPROVAL_DAYS = 3660  # ten years: an approval is re-reviewed at least once a decade
# The environment variables that name the registry and its own private key.
ENV_VAR = "CLEARANCE_REGISTRY"
KEY_ENV_VAR = "CLEARANCE_REGISTRY_KEY"
