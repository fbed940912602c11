"""Where a model's files are: directory walk with safe symlink resolution (Hugging Face cache aware)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from clearance.errors import InputError

MAX_FILES = 200_000
# Top-level entries never part of a model's content (VCS metadata, HF local_dir download cache).
DEFAULT_IGNORED_TOP = (".git", ".cache")


@dataclass(frozen=True)
class LayoutFile:
    """One regular file of a model: relative posix path, the real path read, and its size."""

    rel: str
    real: Path
    size: int
    via_symlink: bool = False


@dataclass(frozen=True)
class LinkProblem:
    """A symlink that was not followed: where it is, where it points, and why."""

    rel: str
    target: str
    reason: str  # "escapes-root" | "broken" | "directory" | "loop" | "special"


@dataclass
class Layout:
    """The files of a model source, with the symlinks that were refused."""

    root: Path
    kind: str  # "dir" | "hf-cache" | "file"
    files: list[LayoutFile] = field(default_factory=list)
    problems: list[LinkProblem] = field(default_factory=list)
    containment: Path | None = None
    revision: str | None = None
    repo_name: str | None = None

    def by_rel(self) -> dict[str, LayoutFile]:
        """Files keyed by relative path."""
        return {f.rel: f for f in self.files}

    def total_bytes(self) -> int:
        """Sum of file sizes."""
        return sum(f.size for f in self.files)


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def hf_cache_snapshot(path: Path) -> tuple[Path, Path, str | None, str | None] | None:
    """For a Hugging Face cache path, ``(snapshot_dir, repo_cache_dir, revision, repo_name)``; else ``None``.

    Accepts ``models--org--name`` (uses ``refs/main``, else the only snapshot) or ``.../snapshots/REV``.
    """
    p = path
    if p.parent.name == "snapshots" and p.parent.parent.name.startswith("models--"):
        repo = p.parent.parent
        return p, repo, p.name, _repo_name(repo.name)
    if p.name.startswith("models--") and (p / "snapshots").is_dir():
        ref = p / "refs" / "main"
        rev: str | None = None
        if ref.is_file() and ref.stat().st_size < 256:
            rev = ref.read_text(encoding="utf-8", errors="replace").strip()
        snaps = sorted(d.name for d in (p / "snapshots").iterdir() if d.is_dir() and not d.is_symlink())
        if rev is None or rev not in snaps:
            if len(snaps) != 1:
                raise InputError(
                    f"Hugging Face cache {p} has {len(snaps)} snapshots and no usable refs/main; "
                    f"pass the snapshot directory (…/snapshots/<revision>) instead"
                )
            rev = snaps[0]
        return p / "snapshots" / rev, p, rev, _repo_name(p.name)
    return None


def _repo_name(cache_dir_name: str) -> str:
    return cache_dir_name.removeprefix("models--").replace("--", "/")


def _resolve_link(link: Path, containment: Path) -> tuple[Path | None, str | None]:
    """The real target of ``link`` if it is a regular file inside ``containment``; else the reason refused."""
    try:
        target = Path(os.path.realpath(link, strict=True))
    except (OSError, RuntimeError):
        return None, "broken" if not os.path.lexists(os.path.realpath(link)) else "loop"
    if not _is_within(target, containment):
        return None, "escapes-root"
    try:
        st = target.stat()
    except OSError:
        return None, "broken"
    if stat.S_ISDIR(st.st_mode):
        return None, "directory"
    if not stat.S_ISREG(st.st_mode):
        return None, "special"
    return target, None


def build_layout(
    root: Path,
    rel_files: list[str],
    rel_links: list[str],
    *,
    containment: Path | None = None,
    kind: str = "dir",
) -> Layout:
    """A layout from already-listed relative files and symlinks under ``root`` (symlinks resolved safely)."""
    real_root = Path(os.path.realpath(root))
    contain = Path(os.path.realpath(containment)) if containment else real_root
    lay = Layout(root=root, kind=kind, containment=contain)
    for rel in rel_files:
        p = root / rel
        try:
            st = p.lstat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            lay.files.append(LayoutFile(rel, p, st.st_size))
    for rel in rel_links:
        p = root / rel
        raw_target = os.readlink(p) if p.is_symlink() else ""
        target, reason = _resolve_link(p, contain)
        if target is None:
            lay.problems.append(LinkProblem(rel, raw_target, reason or "broken"))
        else:
            lay.files.append(LayoutFile(rel, target, target.stat().st_size, via_symlink=True))
    lay.files.sort(key=lambda f: f.rel)
    return lay


def walk_files(root: Path, ignore: tuple[str, ...] = DEFAULT_IGNORED_TOP) -> tuple[list[str], list[str]]:
    """Relative posix paths of regular files and of symlinks under ``root`` (symlinks are not followed)."""
    files: list[str] = []
    links: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        rel_base = base.relative_to(root)
        if rel_base == Path("."):
            dirnames[:] = [d for d in dirnames if d not in ignore]
        for d in list(dirnames):
            if (base / d).is_symlink():
                links.append((rel_base / d).as_posix())
                dirnames.remove(d)
        for fn in filenames:
            if rel_base == Path(".") and fn in ignore:
                continue
            p = base / fn
            rel = (rel_base / fn).as_posix()
            (links if p.is_symlink() else files).append(rel)
            if len(files) + len(links) > MAX_FILES:
                raise InputError(f"{root} holds more than {MAX_FILES} files; not a model directory")
    return sorted(files), sorted(links)


def discover(path: str | Path, ignore: tuple[str, ...] = DEFAULT_IGNORED_TOP) -> Layout:
    """The layout of a model source: a directory, a Hugging Face cache entry, or one file."""
    p = Path(path)
    if not os.path.lexists(p):
        raise InputError(f"model path does not exist: {p}")
    if p.is_symlink() and not p.is_dir():
        p = Path(os.path.realpath(p))
    if p.is_file():
        st = p.stat()
        return Layout(
            root=p.parent, kind="file", files=[LayoutFile(p.name, p, st.st_size)], containment=p.parent
        )
    if not p.is_dir():
        raise InputError(f"model path is neither a file nor a directory: {p}")
    cache = hf_cache_snapshot(p)
    if cache is not None:
        snap, repo, rev, name = cache
        files, links = walk_files(snap, ignore)
        lay = build_layout(snap, files, links, containment=repo, kind="hf-cache")
        lay.revision, lay.repo_name = rev, name
        return lay
    files, links = walk_files(p, ignore)
    return build_layout(p, files, links)


_SCAN_CACHE: dict[tuple[str, tuple[str, ...], tuple[str, ...]], Layout] = {}


def layout_for_listing(root: Path, files: tuple[Path, ...], symlinks: tuple[Path, ...] = ()) -> Layout:
    """The layout of a scan listing (root + relative files and symlinks), resolving HF cache entries.

    Pointed at ``models--org--name`` it walks the chosen snapshot instead; symlinks are resolved only
    when their target stays inside the cache entry (or the root). Results are memoised per listing.
    """
    key = (str(root), tuple(p.as_posix() for p in files), tuple(p.as_posix() for p in symlinks))
    hit = _SCAN_CACHE.get(key)
    if hit is not None:
        return hit
    cache = hf_cache_snapshot(root) if root.is_dir() else None
    if cache is not None and root.name.startswith("models--"):
        lay = discover(root)
    elif cache is not None:
        lay = build_layout(root, list(key[1]), list(key[2]), containment=cache[1], kind="hf-cache")
        lay.revision, lay.repo_name = cache[2], cache[3]
    else:
        lay = build_layout(root, list(key[1]), list(key[2]))
    if len(_SCAN_CACHE) > 64:
        _SCAN_CACHE.clear()
    _SCAN_CACHE[key] = lay
    return lay
