"""Facts the supply-chain scan publishes (``ScanReport.policy_facts``): ``scan.*``."""

from __future__ import annotations

from clearance.facts import FactSpec

FACTS = (
    FactSpec("scan.findings.{severity}", "integer", "number of scan findings of this severity", "findings"),
    FactSpec("scan.max_severity", "severity", "the worst finding's severity ('none' when clean)"),
    FactSpec("scan.rules", "list", "the rule ids of all findings"),
)
