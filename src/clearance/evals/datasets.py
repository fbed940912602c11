"""Dataset loaders: the project's own JSONL suites and the public benchmarks from a path the user gives.

Offline and fail-closed: a missing file is an ``InputError`` naming it; nothing is ever downloaded.
Every loader returns a ``Dataset`` whose ``DatasetRef`` records name, source, sha256, license and rows.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clearance.errors import InputError
from clearance.evals.ifeval import is_supported
from clearance.evals.types import Dataset, Sample
from clearance.evidence import DatasetRef, sha256_file
from clearance.nametable import NameTable

Loader = Callable[..., Dataset]
LOADERS: NameTable[Loader] = NameTable("dataset loader")
MAX_ROWS = 1_000_000


def loader(name: str) -> Callable[[Loader], Loader]:
    """Register a dataset loader ``fn(path, **options) -> Dataset`` under ``name``."""

    def deco(fn: Loader) -> Loader:
        LOADERS.add(name, fn)
        return fn

    return deco


def get_loader(name: str) -> Loader:
    """Look up a loader by name; unknown names raise ``InputError`` listing the known ones."""
    return LOADERS.get(name)


# ---------------------------------------------------------------- provenance helpers


def _resolve(path: str | Path, default_names: tuple[str, ...], what: str) -> Path:
    """A file path (a directory is searched for ``default_names``); missing → ``InputError``."""
    p = Path(path).expanduser()
    if p.is_dir():
        for name in default_names:
            if (p / name).is_file():
                return p / name
        raise InputError(
            f"{p}: no {what} file here (looked for {', '.join(default_names)}); give the file path"
        )
    if not p.is_file():
        raise InputError(
            f"{p}: {what} file not found (Clearance never downloads datasets; give a local path)"
        )
    return p


def read_license(data_path: Path) -> str:
    """License beside the data: the ``License:`` line of SOURCE.md, else LICENSE's first line, else 'unknown'."""
    for d in (data_path.parent, data_path.parent.parent):
        src = d / "SOURCE.md"
        if src.is_file():
            m = re.search(r"^\W*License:\s*(.+)$", src.read_text(encoding="utf-8", errors="replace"), re.M)
            if m:
                return re.split(r"\s+\(|\.\s", m.group(1).strip())[0].rstrip(".")
        lic = d / "LICENSE"
        if lic.is_file():
            for line in lic.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip():
                    return line.strip()[:120]
    return "unknown (no LICENSE or SOURCE.md beside the data)"


def _upstream(data_path: Path) -> str:
    for d in (data_path.parent, data_path.parent.parent):
        src = d / "SOURCE.md"
        if src.is_file():
            m = re.search(
                r"^\W*(?:Upstream )?[Rr]epository:\s*`([^`]+)`,?\s*commit\s*`([0-9a-f]{7,40})`",
                src.read_text(encoding="utf-8", errors="replace"),
                re.M,
            )
            if m:
                return f" (upstream {m.group(1)}@{m.group(2)[:12]})"
    return ""


def _ref(
    name: str,
    path: Path,
    rows: int,
    *,
    sha: str | None = None,
    license: str | None = None,
    source: str | None = None,
) -> DatasetRef:
    return DatasetRef(
        name=name,
        source=source or f"{path.resolve()}{_upstream(path)}",
        sha256=sha or sha256_file(path),
        license=license or read_license(path),
        rows=rows,
    )


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise InputError(f"{path}:{lineno}: JSON nested too deeply") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}:{lineno}: expected a JSON object per line")
        rows.append(obj)
        if len(rows) > MAX_ROWS:
            raise InputError(f"{path}: more than {MAX_ROWS} rows")
    return rows


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(
                f"{path}: missing CSV column(s) {', '.join(missing)} (found {reader.fieldnames})"
            )
        return list(reader)


# ---------------------------------------------------------------- loaders


@loader("jsonl")
def load_jsonl(
    path: str | Path,
    *,
    name: str | None = None,
    license: str | None = None,
    source: str | None = None,
    **_: Any,
) -> Dataset:
    """Generic JSONL: ``id``, ``input`` (text or messages), optional ``target``, ``choices``, ``metadata``."""
    p = _resolve(path, (), "JSONL dataset")
    samples = []
    seen: set[str] = set()
    for i, row in enumerate(_read_jsonl(p)):
        if "input" not in row:
            raise InputError(f"{p}: row {i + 1} has no `input`")
        sid = str(row.get("id", i))
        if sid in seen:
            raise InputError(f"{p}: duplicate sample id {sid!r}")
        seen.add(sid)
        md = dict(row.get("metadata") or {})
        md.update({k: v for k, v in row.items() if k not in ("id", "input", "target", "choices", "metadata")})
        samples.append(
            Sample(
                id=sid, input=row["input"], target=row.get("target"), choices=row.get("choices"), metadata=md
            )
        )
    ds_name = name or p.stem
    return Dataset(
        name=ds_name, samples=samples, ref=_ref(ds_name, p, len(samples), license=license, source=source)
    )


@loader("gsm8k")
def load_gsm8k(path: str | Path, **_: Any) -> Dataset:
    """GSM8K JSONL (``question``, ``answer`` with the final number after ``####``)."""
    p = _resolve(path, ("test.jsonl",), "GSM8K")
    samples = []
    for i, row in enumerate(_read_jsonl(p)):
        ans = str(row.get("answer", ""))
        m = re.search(r"####\s*(.+?)\s*$", ans)
        if "question" not in row or not m:
            raise InputError(f"{p}: row {i + 1} lacks `question` or a final `#### <number>` answer")
        samples.append(Sample(id=f"gsm8k-{i}", input=row["question"], target=m.group(1).replace(",", "")))
    return Dataset(name="gsm8k", samples=samples, ref=_ref("gsm8k", p, len(samples)))


@loader("xstest")
def load_xstest(path: str | Path, **_: Any) -> Dataset:
    """XSTest v2 prompts CSV (``id``, ``prompt``, ``type``, ``label`` safe/unsafe, ``focus``, ``note``)."""
    p = _resolve(path, ("xstest_prompts.csv", "xstest_v2_prompts.csv"), "XSTest")
    rows = _read_csv(p, ("id", "prompt", "type", "label"))
    samples = [
        Sample(
            id=f"xstest-{r['id']}",
            input=r["prompt"],
            metadata={
                "type": r["type"],
                "label": r["label"],
                "focus": r.get("focus", ""),
                "note": r.get("note", ""),
            },
        )
        for r in rows
    ]
    return Dataset(name="xstest", samples=samples, ref=_ref("xstest", p, len(samples)))


@loader("harmbench")
def load_harmbench(path: str | Path, *, functional: list[str] | None = None, **_: Any) -> Dataset:
    """HarmBench text behaviours CSV; contextual rows get their ContextString first (HarmBench's layout)."""
    p = _resolve(path, ("harmbench_behaviors_text_all.csv", "harmbench_behaviors_text_test.csv"), "HarmBench")
    rows = _read_csv(p, ("Behavior", "FunctionalCategory", "SemanticCategory", "BehaviorID"))
    keep = functional or ["standard", "contextual"]
    samples = []
    for r in rows:
        if r["FunctionalCategory"] not in keep:
            continue
        ctx = (r.get("ContextString") or "").strip()
        text = f"{ctx}\n\n---\n\n{r['Behavior']}" if ctx else r["Behavior"]
        samples.append(
            Sample(
                id=r["BehaviorID"],
                input=text,
                metadata={"functional_category": r["FunctionalCategory"], "category": r["SemanticCategory"]},
            )
        )
    notes = [f"kept FunctionalCategory in {keep}: {len(samples)} of {len(rows)} rows"]
    if "copyright" not in keep:
        notes.append(
            "copyright rows left out: they need HarmBench's hash-check judge, not a refusal detector"
        )
    return Dataset(name="harmbench", samples=samples, ref=_ref("harmbench", p, len(samples)), notes=notes)


@loader("advbench")
def load_advbench(path: str | Path, **_: Any) -> Dataset:
    """AdvBench ``harmful_behaviors.csv`` (``goal``, ``target``)."""
    p = _resolve(path, ("harmful_behaviors.csv",), "AdvBench")
    rows = _read_csv(p, ("goal",))
    samples = [
        Sample(id=f"advbench-{i}", input=r["goal"], metadata={"attack_target": r.get("target", "")})
        for i, r in enumerate(rows)
    ]
    return Dataset(name="advbench", samples=samples, ref=_ref("advbench", p, len(samples)))


def _bbq_sample(row: dict[str, Any], where: str) -> Sample:
    try:
        info = [row["answer_info"][f"ans{i}"] for i in range(3)]
        groups = [g.lower() for g in row["additional_metadata"]["stereotyped_groups"]]
        choices = [str(row[f"ans{i}"]) for i in range(3)]
        label = int(row["label"])
        unknown = [i for i, (_, g) in enumerate(info) if str(g).lower() == "unknown"]
        target_idx = [
            i
            for i, (surface, g) in enumerate(info)
            if str(g).lower() != "unknown" and (str(g).lower() in groups or str(surface).lower() in groups)
        ]
        return Sample(
            id=f"{row['category']}-{row['example_id']}",
            input=f"{row['context']}\n{row['question']}",
            target=string.ascii_uppercase[label],
            choices=choices,
            metadata={
                "category": row["category"],
                "context_condition": row["context_condition"],
                "polarity": row["question_polarity"],
                "question_index": row["question_index"],
                "unknown_index": unknown[0] if unknown else -1,
                "target_indices": target_idx,
            },
        )
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise InputError(f"{where}: malformed BBQ row ({type(exc).__name__}: {exc})") from None


@loader("bbq")
def load_bbq(path: str | Path, *, categories: list[str] | None = None, **_: Any) -> Dataset:
    """BBQ: one category JSONL file, or a directory of them (``data/`` or the folder holding it)."""
    p = Path(path).expanduser()
    if p.is_dir():
        d = p / "data" if (p / "data").is_dir() else p
        files = sorted(d.glob("*.jsonl"))
        if not files:
            raise InputError(f"{p}: no BBQ *.jsonl files here")
    elif p.is_file():
        files = [p]
    else:
        raise InputError(f"{p}: BBQ file or directory not found (Clearance never downloads datasets)")
    if categories:
        files = [f for f in files if f.stem in categories]
    samples: list[Sample] = []
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{sha256_file(f)}  {f.name}\n".encode())
        for i, row in enumerate(_read_jsonl(f)):
            samples.append(_bbq_sample(row, f"{f}:{i + 1}"))
    sha = sha256_file(files[0]) if len(files) == 1 else digest.hexdigest()
    notes = [f"files: {', '.join(f.name for f in files)}"]
    if len(files) > 1:
        notes.append("sha256 is over the lines '<sha256>  <file name>' of the sorted files")
    notes.append(
        "target group per option matched from additional_metadata.stereotyped_groups (upstream target_loc metadata not used)"
    )
    return Dataset(
        name="bbq",
        samples=samples,
        ref=_ref("bbq", files[0], len(samples), sha=sha, source=f"{(p.resolve())}{_upstream(files[0])}"),
        notes=notes,
    )


@loader("ifeval")
def load_ifeval(path: str | Path, **_: Any) -> Dataset:
    """IFEval ``input_data.jsonl``; prompts using unsupported instructions are left out (counted in notes)."""
    p = _resolve(path, ("input_data.jsonl",), "IFEval")
    rows = _read_jsonl(p)
    samples = []
    for r in rows:
        if not is_supported(r.get("instruction_id_list", [])):
            continue
        samples.append(
            Sample(
                id=f"ifeval-{r['key']}",
                input=r["prompt"],
                metadata={"instruction_id_list": r["instruction_id_list"], "kwargs": r["kwargs"]},
            )
        )
    notes = [
        f"{len(rows) - len(samples)} of {len(rows)} prompts left out: they use instructions without an offline checker"
    ]
    return Dataset(name="ifeval", samples=samples, ref=_ref("ifeval", p, len(samples)), notes=notes)


# ---------------------------------------------------------------- JailbreakBench, MMLU, ARC (local files)


@loader("jailbreakbench")
def load_jailbreakbench(path: str | Path, **_: Any) -> Dataset:
    """JailbreakBench JBB-Behaviors ``harmful-behaviors.csv`` (``Goal``, ``Behavior``, ``Category``, ``Source``)."""
    p = _resolve(
        path, ("harmful-behaviors.csv", "behaviors.csv", "data/harmful-behaviors.csv"), "JBB-Behaviors"
    )
    rows = _read_csv(p, ("Goal", "Category"))
    samples = [
        Sample(
            id=f"jbb-{r.get('Index') or i}",
            input=r["Goal"],
            metadata={
                "category": r["Category"],
                "behavior": r.get("Behavior", ""),
                "source": r.get("Source", ""),
            },
        )
        for i, r in enumerate(rows, 1)
    ]
    return Dataset(name="jailbreakbench", samples=samples, ref=_ref("jailbreakbench", p, len(samples)))


def _mmlu_files(p: Path) -> list[Path]:
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise InputError(f"{p}: MMLU file or folder not found (Clearance never downloads datasets)")
    test = p / "test" if (p / "test").is_dir() else p
    files = sorted(test.glob("*_test.csv")) or sorted(test.glob("*.csv"))
    if not files:
        raise InputError(f"{p}: no MMLU <subject>_test.csv files here (the original Hendrycks CSV layout)")
    return files


@loader("mmlu")
def load_mmlu(path: str | Path, *, subjects: list[str] | None = None, **_: Any) -> Dataset:
    """MMLU in its original CSV layout (``test/<subject>_test.csv``: question, A, B, C, D, answer; no header).

    Asked generatively (the model writes the letter), so it runs over any chat endpoint.
    """
    p = Path(path).expanduser()
    files = _mmlu_files(p)
    samples: list[Sample] = []
    digest = hashlib.sha256()
    for f in files:
        subject = re.sub(r"_test$", "", f.stem)
        if subjects and subject not in subjects:
            continue
        raw = f.read_bytes()
        digest.update(f.name.encode() + b"\0" + raw)
        reader = csv.reader(raw.decode("utf-8").splitlines())
        for i, row in enumerate(reader):
            if len(row) != 6 or row[5].strip().upper() not in ("A", "B", "C", "D"):
                raise InputError(f"{f}:{i + 1}: expected question, A, B, C, D, answer (A-D)")
            samples.append(
                Sample(
                    id=f"mmlu-{subject}-{i}",
                    input=row[0],
                    choices=row[1:5],
                    target=row[5].strip().upper(),
                    metadata={"subject": subject},
                )
            )
    if not samples:
        raise InputError(f"{p}: no MMLU rows (subjects {subjects})")
    sha = digest.hexdigest() if len(files) > 1 else sha256_file(files[0])
    return Dataset(
        name="mmlu",
        samples=samples,
        ref=_ref("mmlu", files[0], len(samples), sha=sha, source=str(p.resolve())),
    )


@loader("arc")
def load_arc(path: str | Path, **_: Any) -> Dataset:
    """AI2 ARC JSONL (``id``, ``question: {stem, choices: [{text, label}]}``, ``answerKey``), Challenge or Easy."""
    p = _resolve(
        path,
        ("ARC-Challenge-Test.jsonl", "ARC-Easy-Test.jsonl", "test.jsonl"),
        "ARC",
    )
    samples: list[Sample] = []
    for i, row in enumerate(_read_jsonl(p), 1):
        try:
            q = row["question"]
            labels = [str(c["label"]) for c in q["choices"]]
            texts = [str(c["text"]) for c in q["choices"]]
            key = str(row["answerKey"])
        except (KeyError, TypeError) as exc:
            raise InputError(f"{p}:{i}: not an ARC row ({exc})") from None
        if key not in labels:
            raise InputError(f"{p}:{i}: answerKey {key!r} is not one of the choice labels {labels}")
        # Some ARC rows label choices 1-4; the prompt always shows letters.
        samples.append(
            Sample(
                id=str(row.get("id", f"arc-{i}")),
                input=str(q["stem"]),
                choices=texts,
                target=string.ascii_uppercase[labels.index(key)],
                metadata={"n_choices": len(texts)},
            )
        )
    return Dataset(name=p.stem, samples=samples, ref=_ref(p.stem, p, len(samples)))
