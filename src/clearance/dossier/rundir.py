"""A run directory under construction: a ``.partial`` marker until the dossier is sealed, stage files as they land."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from clearance.dossier.seal import DOSSIER_JSON, PARTIAL
from clearance.errors import InputError
from clearance.evidence import utc_now
from clearance.jsonio import pretty_json_bytes
from clearance.outlock import OutDirLock, make_dir


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class RunDir:
    """The output directory of one vet run; marked ``.partial`` until ``write_dossier`` seals it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = OutDirLock(self.path)

    def begin(self) -> RunDir:
        """Create and lock the directory, write the ``.partial`` marker; refuse a directory that already
        holds a dossier or that another run is writing (the lock is held until :meth:`release`)."""
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"output path exists and is not a directory: {self.path}")
        self._refuse_sealed()
        make_dir(self.path)
        self._lock.acquire()
        try:
            self._refuse_sealed()  # sealed by a run that held the lock a moment ago
        except InputError:
            self._lock.release()
            raise
        marker = {"started_at": utc_now(), "pid": os.getpid(), "note": "run in progress or interrupted"}
        write_atomic(self.path / PARTIAL, pretty_json_bytes(marker))
        return self

    def _refuse_sealed(self) -> None:
        if (self.path / DOSSIER_JSON).exists():
            raise InputError(
                f"output directory already holds a finished dossier: {self.path} (choose another --out)"
            )

    def release(self) -> None:
        """Let other runs write the directory again (at the end of the run, sealed or not)."""
        self._lock.release()

    @property
    def partial(self) -> bool:
        """Whether the run has not been sealed (the marker is still present)."""
        return (self.path / PARTIAL).exists()

    def save_stage(self, name: str, obj: Any) -> str:
        """Save one stage's result as ``stages/<name>.json`` (atomically); returns the relative path."""
        rel = f"stages/{name}.json"
        write_atomic(self.path / rel, pretty_json_bytes(obj))
        return rel

    def sub(self, *parts: str) -> Path:
        """A subdirectory of the run (created), e.g. ``evals/<suite>`` for per-sample JSONL files."""
        p = self.path.joinpath(*parts)
        p.mkdir(parents=True, exist_ok=True)
        return p
