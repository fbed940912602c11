"""One writer per output directory: an advisory lock held on the directory itself while a run writes it.

Two runs into one ``--out`` would interleave their records and both "seal"; the second one now stops
at once with one line. The lock is ``flock`` on the directory's own file descriptor, so no lock file
appears in the evidence, and the kernel drops it when the process ends (a killed run leaves no stale
lock). Where ``flock`` does not exist (Windows) runs are not locked.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from clearance.errors import InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]


def check_out_path(path: str | Path) -> Path:
    """An ``--out`` value that can be a directory: no file in the way, no name longer than the file
    system allows (checked before any work, so a long run never fails at its last step)."""
    p = Path(path)
    for part in p.parts:
        if len(os.fsencode(part)) > 255:
            raise InputError(f"--out: the name {part[:40]!r}… is longer than 255 bytes")
    if len(os.fsencode(str(p))) > 4000:
        raise InputError("--out: the path is longer than 4000 bytes")
    try:
        is_file = p.exists() and not p.is_dir()
    except OSError as exc:
        raise InputError(f"--out {str(p)[:80]!r}: {exc.strerror or exc}") from None
    if is_file:
        raise InputError(f"output path exists and is not a directory: {p}")
    return p


def make_dir(path: Path) -> None:
    """``mkdir -p`` with one-line errors (a file in the way, a name too long, no permission)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"output path exists and is not a directory: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot create output directory {path}: {exc.strerror or exc}") from None


class OutDirLock:
    """Hold an exclusive lock on ``path`` (a directory, created if needed); ``InputError`` if another run holds it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> OutDirLock:
        """Take the lock now (idempotent); raise ``InputError`` naming the directory when it is taken."""
        if self._fd is not None or fcntl is None:
            return self
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(
                f"{self.path}: another run is writing this directory now; wait for it or choose another --out"
            ) from None
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (safe to call twice)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def __enter__(self) -> OutDirLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()
