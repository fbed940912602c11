"""Reading a registered run's dossier for the pages: dossier.json, its verification, and every sample.

A dossier on disk is only shown as evidence of the run when it still verifies and its manifest is the
one the registry recorded (by digest); otherwise the pages say so first. Verification results and the
parsed samples are cached per file state (size and modification time of every file), so a changed file
is re-read and re-verified.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clearance.dossier import VerifyResult, verify_dossier
from clearance.errors import ClearanceError

MAX_DOSSIER_JSON = 64 * 1024 * 1024
MAX_SAMPLES_FILE = 2 * 1024**3
MAX_LINE = 16 * 1024 * 1024


class SampleEntry:
    """One evaluated sample as the pages show it (every string is model- or dataset-controlled).

    Only the id and the outcome are read when a run's samples are loaded; the shown fields are read from
    the record on first use, so a run page over thousands of samples does not pay for all of them."""

    def __init__(self, suite: str, sample_id: str, rec: dict[str, Any], failing: set[str]) -> None:
        self.suite = suite
        self.id = sample_id
        self.rec = rec
        self.error = _text(rec.get("error"))
        self.failing = sample_id in failing or bool(self.error)

    @functools.cached_property
    def messages(self) -> list[dict[str, str]]:
        raw = self.rec.get("messages")
        return [
            {"role": _text(m.get("role")), "content": _text(m.get("content"))}
            for m in (raw if isinstance(raw, list) else [])
            if isinstance(m, dict)
        ]

    @functools.cached_property
    def prompt(self) -> str:
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")

    @functools.cached_property
    def output(self) -> str:
        return _text(self.rec.get("output"))

    @functools.cached_property
    def reasoning(self) -> str:
        return _text(self.rec.get("reasoning") or self.rec.get("reasoning_content"))

    @functools.cached_property
    def target(self) -> str:
        return _text(self.rec.get("target"))

    @functools.cached_property
    def scores(self) -> dict[str, Any]:
        scores = self.rec.get("scores")
        return scores if isinstance(scores, dict) else {}

    @functools.cached_property
    def latency_s(self) -> float | None:
        v = self.rec.get("latency_s")
        return v if isinstance(v, int | float) and not isinstance(v, bool) else None

    @functools.cached_property
    def finish_reason(self) -> str:
        return _text(self.rec.get("finish_reason"))

    @functools.cached_property
    def haystack(self) -> str:
        """What a search looks in: id, prompt, answer, reasoning, target and error, case-folded."""
        return "\n".join(
            (self.id, self.prompt, self.output, self.reasoning, self.target, self.error)
        ).casefold()


@dataclass
class DossierView:
    """A run's dossier as read from disk, with whether it can be trusted as the registered evidence."""

    path: Path
    doc: dict[str, Any]
    verify: VerifyResult | None
    digest_on_disk: str | None
    problem: str | None

    @property
    def trusted(self) -> bool:
        """True when the dossier verifies and is the one the registry recorded."""
        return self.problem is None


class LRU:
    """A bounded, thread-safe cache that forgets the least recently used entry first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Any, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


_verify_cache = LRU(256)
_samples_cache = LRU(16)
_doc_cache = LRU(64)


def _tree_state(root: Path) -> tuple[tuple[str, int, int, int], ...]:
    """(relative path, size, mtime_ns, kind) of every entry under ``root``: changes when any file does."""
    out: list[tuple[str, int, int, int]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            try:
                st = p.lstat()
            except OSError:
                continue
            out.append((str(p.relative_to(root)), st.st_size, st.st_mtime_ns, st.st_mode))
    return tuple(sorted(out))


def open_dossier(path: str | Path, registered_digest: str) -> DossierView:
    """The dossier at ``path``, verified (cached per file state) and compared with the registered digest."""
    root = Path(path)
    try:
        state = _tree_state(root) if root.is_dir() else ()
    except OSError:
        state = ()
    key = (str(root), registered_digest, hash(state))
    cached = _verify_cache.get(key)
    if cached is not None:
        return cached
    problem: str | None = None
    verify: VerifyResult | None = None
    digest: str | None = None
    doc: dict[str, Any] = {}
    try:
        verify = verify_dossier(root)
        if not verify.ok:
            first = verify.failures[0]
            problem = f"the dossier on disk does not verify: {first.file}: {first.problem}"
    except ClearanceError as exc:
        problem = f"the dossier is not readable: {exc}"
    try:
        digest = hashlib.sha256((root / "manifest.json").read_bytes()).hexdigest()
        if problem is None and digest != registered_digest:
            problem = "the dossier on disk is not the one registered (its manifest digest differs)"
        raw = (root / "dossier.json").read_bytes()
        if len(raw) > MAX_DOSSIER_JSON:
            raise ValueError(f"dossier.json is larger than {MAX_DOSSIER_JSON} bytes")
        loaded = json.loads(raw)
        doc = loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError) as exc:
        problem = problem or f"the dossier is not readable: {exc}"
    view = DossierView(path=root, doc=doc, verify=verify, digest_on_disk=digest, problem=problem)
    _verify_cache.put(key, view)
    return view


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False)


def _entry(suite: str, rec: dict[str, Any], failing: set[str]) -> SampleEntry | None:
    sid = rec.get("id")
    if not isinstance(sid, str | int) or isinstance(sid, bool):
        return None
    return SampleEntry(suite, str(sid), rec, failing)


def suite_files(view: DossierView) -> list[tuple[str, Path, set[str]]]:
    """(suite, samples.jsonl inside the dossier, failing ids) per evaluated suite of the dossier."""
    evals = (
        (view.doc.get("results") or {}).get("evals") if isinstance(view.doc.get("results"), dict) else None
    )
    out: list[tuple[str, Path, set[str]]] = []
    if not isinstance(evals, dict):
        return out
    root = view.path.resolve()
    for suite, res in evals.items():
        if not isinstance(res, dict):
            continue
        candidates = [root / "evals" / str(suite) / "samples.jsonl"]
        sp = res.get("samples_path")
        if isinstance(sp, str) and sp:
            candidates.append(Path(sp) if Path(sp).is_absolute() else root / sp)
        for c in candidates:
            try:
                real = c.resolve()
            except OSError:
                continue
            if real.is_relative_to(root) and real.is_file():  # never read outside the dossier
                failing = res.get("failing_samples")
                ids = {str(x) for x in failing} if isinstance(failing, list) else set()
                out.append((str(suite), real, ids))
                break
    return out


def load_samples(view: DossierView) -> list[SampleEntry]:
    """Every sample of every suite (the last record per id wins, as on resume), cached per file state."""
    files = suite_files(view)
    key_parts = []
    for suite, p, failing in files:
        st = p.stat()
        key_parts.append((suite, str(p), st.st_size, st.st_mtime_ns, len(failing)))
    key = tuple(key_parts)
    cached = _samples_cache.get(key)
    if cached is not None:
        return cached
    out: list[SampleEntry] = []
    for suite, p, failing in files:
        if p.stat().st_size > MAX_SAMPLES_FILE:
            continue
        by_id: dict[str, SampleEntry] = {}
        with open(p, encoding="utf-8", errors="replace") as f:
            for line in f:
                if len(line) > MAX_LINE:
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and (e := _entry(suite, rec, failing)) is not None:
                    by_id[e.id] = e
        out.extend(by_id.values())
    _samples_cache.put(key, out)
    return out


@dataclass
class SampleQuery:
    """A search over a run's samples: text, suite, which outcome, and the page."""

    q: str = ""
    suite: str = ""
    outcome: str = "failing"  # failing | passing | all
    offset: int = 0
    limit: int = 50


def search_samples(samples: list[SampleEntry], query: SampleQuery) -> tuple[int, list[SampleEntry]]:
    """(total matches, one page of matches): case-insensitive substring over id, prompt, answer, reasoning."""
    needle = query.q.strip().casefold()
    hits = []
    for e in samples:
        if query.suite and e.suite != query.suite:
            continue
        if query.outcome == "failing" and not e.failing:
            continue
        if query.outcome == "passing" and e.failing:
            continue
        if needle and needle not in e.haystack:
            continue
        hits.append(e)
    return len(hits), hits[query.offset : query.offset + query.limit]


def find_sample(samples: list[SampleEntry], suite: str, sample_id: str) -> SampleEntry | None:
    """One sample by suite and id."""
    return next((e for e in samples if e.suite == suite and e.id == sample_id), None)
