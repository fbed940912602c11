"""Policy: gates over flat, namespaced facts -> a decision (approved / rejected / needs_review).

Public surface: ``load_policy(path | None) -> Policy``, ``parse_policy(text)``, ``decide(policy, facts) ->
Decision``, ``default_policy_path()``, and the models ``Policy``, ``Gate``, ``Operator``, ``GateResult``,
``Decision``. Add a gate by adding an entry to a policy YAML file; add an operator in ``records.py`` +
``decide._compare``.
"""

from __future__ import annotations

from clearance.policy.decide import Decision, GateResult, decide
from clearance.policy.loader import default_policy_path, load_policy, parse_policy
from clearance.policy.records import Gate, Operator, Policy

__all__ = [
    "Decision",
    "Gate",
    "GateResult",
    "Operator",
    "Policy",
    "decide",
    "default_policy_path",
    "load_policy",
    "parse_policy",
]
