"""Facts a model-signature verification publishes (``SignatureVerification.policy_facts``): ``signing.*``."""

from __future__ import annotations

from clearance.facts import FactSpec

FACTS = (
    FactSpec("signing.verified", "bool", "the model's OpenSSF model-signing signature verifies"),
    FactSpec("signing.method", "text", "how it was signed (key, certificate)"),
    FactSpec("signing.signer", "text", "who signed: key fingerprint or certificate identity"),
    FactSpec("signing.root_digest", "text", "the signed digest over the model's files"),
)
