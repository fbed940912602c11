"""Runs inside bench/.venvs/pickle: scans each given file with picklescan and fickling, prints JSON lines."""

from __future__ import annotations

import json
import sys
import time
import zipfile

import fickling
from picklescan.scanner import SafetyLevel, scan_file_path

for path in sys.argv[1:]:
    row: dict[str, object] = {"file": path}
    t0 = time.perf_counter()
    try:
        r = scan_file_path(path)
        row["picklescan"] = r.infected_files > 0
        row["picklescan_error"] = bool(r.scan_err)
        row["picklescan_strict"] = r.infected_files > 0 or any(
            g.safety != SafetyLevel.Innocuous for g in r.globals
        )
    except Exception as exc:  # a crash counts as "could not scan"
        row["picklescan"] = False
        row["picklescan_error"] = f"{type(exc).__name__}"
        row["picklescan_strict"] = False
    row["picklescan_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    try:
        if zipfile.is_zipfile(path):
            results = list(fickling.scan_zip_archive(path, graceful=True).values())
        else:
            results = [fickling.scan_file(path, graceful=True)]
        row["fickling"] = any(not r.is_safe for r in results)
        row["fickling_error"] = any(bool(r.errors) for r in results)
    except Exception as exc:
        row["fickling"] = False
        row["fickling_error"] = f"{type(exc).__name__}"
    row["fickling_s"] = time.perf_counter() - t0
    print(json.dumps(row), flush=True)
