"""Model artifact intake: files, roles, sha256 manifest, config, model card and license of a model source.

Public surface: ``intake(path, *, hash=True) -> ModelArtifact``, ``ModelArtifact``, ``FileEntry``;
manifests in ``clearance.model.manifest``; bounded format readers in ``clearance.model.safetensors`` and
``clearance.model.gguf``.
"""

from __future__ import annotations

from clearance.model.artifact import FileEntry, LinkIssue, ModelArtifact, classify, intake
from clearance.model.license import LicenseClause, LicenseInfo, detect_license

__all__ = [
    "FileEntry",
    "LicenseClause",
    "LicenseInfo",
    "LinkIssue",
    "ModelArtifact",
    "classify",
    "detect_license",
    "intake",
]
