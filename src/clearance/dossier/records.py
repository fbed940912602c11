"""Plain data the dossier is made of: stage records, provenance, failing samples, verification results."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from clearance.evidence import DatasetRef, EndpointRef, ToolInfo, utc_now
from clearance.policy import Decision

StageStatus = Literal["ok", "failed", "unavailable", "skipped"]
StageKind = Literal["measured", "estimated", "static"]

SCHEMA = "clearance.dossier/v1"


class StageRecord(BaseModel):
    """One pipeline stage: whether it ran, how its numbers were obtained, and where its result lies."""

    name: str
    status: StageStatus
    kind: StageKind = "static"
    summary: str = ""
    method: str = ""
    error: str | None = None
    file: str | None = None
    started_at: str | None = None
    duration_s: float | None = None


class SampleView(BaseModel):
    """A failing sample as shown in the report: the prompt and the model's answer, truncated."""

    suite: str
    sample_id: str
    prompt: str
    answer: str
    expected: str | None = None
    note: str | None = None
    reasoning: str | None = None
    incomplete: str | None = None


class ModelRef(BaseModel):
    """The model artifact the decision is bound to: its root, kind and digest."""

    name: str
    source: str
    kind: str | None = None
    digest: str | None = None
    digest_method: str | None = None
    files: int | None = None
    total_bytes: int | None = None


class Provenance(BaseModel):
    """What produced the evidence: tool, model bytes, endpoint identity, datasets, generation parameters."""

    tool: ToolInfo = Field(default_factory=ToolInfo)
    model: ModelRef | None = None
    endpoint: EndpointRef | None = None
    datasets: list[DatasetRef] = Field(default_factory=list)
    generation: dict[str, Any] = Field(default_factory=dict)
    command: list[str] = Field(default_factory=list)
    started_at: str = Field(default_factory=utc_now)
    finished_at: str | None = None


class DossierInput(BaseModel):
    """Everything ``write_dossier`` binds together and signs."""

    title: str
    decision: Decision
    facts: dict[str, Any] = Field(default_factory=dict)
    stages: list[StageRecord] = Field(default_factory=list)
    results: dict[str, Any] = Field(default_factory=dict)
    provenance: Provenance = Field(default_factory=Provenance)
    failing_samples: list[SampleView] = Field(default_factory=list)


class SigningInfo(BaseModel):
    """How the dossier's digest manifest was signed, and what that proves."""

    manifest: str
    signature: str
    public_key: str
    fingerprint: str
    algorithm: str
    ephemeral: bool
    note: str


class WrittenDossier(BaseModel):
    """Where a dossier was written and who signed it."""

    path: str
    dossier_json: str
    report_html: str
    signing: SigningInfo
    files: int


class VerifyFailure(BaseModel):
    """One thing that does not hold in a dossier, naming the file."""

    file: str
    problem: str


class VerifyResult(BaseModel):
    """The outcome of ``verify_dossier``: ok only when every digest and the signature hold, nothing unsigned
    is present, and (when a trust list is given) the signing key is in it."""

    dossier: str
    ok: bool
    files_checked: int
    failures: list[VerifyFailure] = Field(default_factory=list)
    fingerprint: str | None = None
    key_source: Literal["dossier", "given"] = "dossier"
    ephemeral: bool | None = None  # the dossier's own claim: shown, never trusted
    status: str | None = None
    note: str = ""
    signer: str | None = None  # who holds the signing key, from the verifier's trust list
    trusted: bool | None = None  # None: no trust list given, identity not judged
    trust_source: str | None = None
