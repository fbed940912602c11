"""Facts a registry status publishes (``RunStatus.policy_facts``): ``registry.*``."""

from __future__ import annotations

from clearance.facts import FactSpec

FACTS = (
    FactSpec("registry.status", "text", "the run's status in the approval registry"),
    FactSpec("registry.approved", "bool", "the run's registry status is approved"),
    FactSpec("registry.signed_roles", "list", "roles that have signed off"),
    FactSpec("registry.open_gates", "list", "review gates neither signed off nor waived"),
    FactSpec("registry.flags", "integer", "flags raised on the run (expired, superseded, ...)", "flags"),
)
