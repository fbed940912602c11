"""Dossier: the evidence bundle of one approval run — dossier.json, per-sample files, report.html, signed manifest.

Public surface: ``RunDir`` (a run under construction, ``.partial`` until sealed), ``write_dossier(out_dir,
data, key=None) -> WrittenDossier``, ``verify_dossier(dir, public_key=None, trusted_keys=None) -> VerifyResult``, ``load_trust_list(path) -> TrustList``,
``render_report(data) -> str``, and the models ``DossierInput``, ``StageRecord``, ``SampleView``,
``Provenance``, ``ModelRef``. Add a report section in ``templates/report.html.j2``.
"""

from __future__ import annotations

from clearance.dossier.records import (
    DossierInput,
    ModelRef,
    Provenance,
    SampleView,
    SigningInfo,
    StageRecord,
    VerifyFailure,
    VerifyResult,
    WrittenDossier,
)
from clearance.dossier.report import render_report
from clearance.dossier.rundir import RunDir, write_atomic
from clearance.dossier.trust import TrustList, load_trust_list
from clearance.dossier.writer import verify_dossier, write_dossier

__all__ = [
    "DossierInput",
    "ModelRef",
    "Provenance",
    "RunDir",
    "SampleView",
    "SigningInfo",
    "StageRecord",
    "TrustList",
    "VerifyFailure",
    "VerifyResult",
    "WrittenDossier",
    "load_trust_list",
    "render_report",
    "verify_dossier",
    "write_atomic",
    "write_dossier",
]
