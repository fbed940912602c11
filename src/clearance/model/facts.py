"""Facts the model intake publishes (``ModelArtifact.policy_facts``): ``model.*`` and ``license.*``."""

from __future__ import annotations

from clearance.facts import FactSpec

FACTS = (
    FactSpec("model.name", "text", "the model's own name (config, GGUF metadata or directory name)"),
    FactSpec(
        "model.kind", "text", "what the source is: a Hugging Face directory, a GGUF file, a config file"
    ),
    FactSpec("model.files", "integer", "number of files in the artifact", "files"),
    FactSpec("model.bytes", "integer", "total size of the artifact's files", "bytes"),
    FactSpec("model.digest", "text", "sha256 manifest digest over every file of the artifact"),
    FactSpec("model.has_pickle", "bool", "a weight or data file is a pickle (runs code when loaded)"),
    FactSpec("model.has_remote_code", "bool", "the model ships Python code or asks for trust_remote_code"),
    FactSpec(
        "model.symlink_issues", "integer", "symlinks that escape the model directory or dangle", "links"
    ),
    FactSpec("license.id", "text", "the license id found in card, LICENSE file or GGUF metadata ('unknown')"),
    FactSpec("license.spdx", "text", "the SPDX identifier of the license ('NOASSERTION' when none)"),
    FactSpec("license.known", "bool", "the license is one Clearance knows the terms of"),
    FactSpec("license.commercial_use", "bool", "the license permits commercial use"),
    FactSpec(
        "license.mau_threshold",
        "integer",
        "monthly active users above which the license needs a deal",
        "users",
    ),
    FactSpec("license.restrictions", "list", "rule ids of the license's restrictions (LICENSE-*)"),
    FactSpec("license.conflict", "bool", "card, LICENSE file and metadata name different licenses"),
    FactSpec("license.missing", "bool", "no license was found anywhere in the artifact"),
)
