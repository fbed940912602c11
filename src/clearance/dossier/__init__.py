"""Dossier: the evidence bundle of one approval run — dossier.json, per-sample files, report.html, signed manifest.

Public surface: ``RunDir`` (a run under construction, ``.partial`` until sealed), ``write_dossier(out_dir,
data, key=None) -> WrittenDossier``, ``verify_dossier(dir, public_key=None, trusted_keys=None) -> VerifyResult``, ``load_trust_list(path) -> TrustList``,
``render_report(data) -> str``, and the models ``DossierInput``, ``StageRecord``, ``SampleView``,
``Provenance``, ``ModelRef``. Add a report section in ``templates/report.html.j2``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearance.lazy import lazy_names

# Names are imported on first use, so verifying a dossier (the registry, the CLI) does not load the
# report's templates.
_WHERE = {
    "DossierInput": "records",
    "ModelRef": "records",
    "Provenance": "records",
    "SampleView": "records",
    "SigningInfo": "records",
    "StageRecord": "records",
    "VerifyFailure": "records",
    "VerifyResult": "records",
    "WrittenDossier": "records",
    "render_report": "report",
    "RunDir": "rundir",
    "write_atomic": "rundir",
    "TrustList": "trust",
    "load_trust_list": "trust",
    "verify_dossier": "writer",
    "write_dossier": "writer",
}

if TYPE_CHECKING:
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


__getattr__ = lazy_names(__name__, _WHERE)


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
