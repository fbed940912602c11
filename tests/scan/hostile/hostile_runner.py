"""Child process for the hostile corpus: scans each path under an address-space cap and a per-case alarm.

Usage: ``python hostile_runner.py SPEC.json`` where SPEC is ``{"mem_bytes": N, "seconds": S, "cases":
[[name, path], ...]}``. Prints one JSON line per case: findings (rule, severity), or the error class and
message, wall seconds and peak RSS. A crash of the whole process (OOM, segfault) shows up as missing lines.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
import time
import traceback


class CaseTimeout(BaseException):
    """The per-case alarm fired."""


def _alarm(_sig: int, _frm: object) -> None:
    raise CaseTimeout()


def _peak_rss_mb() -> int:
    """VmHWM of this process (ru_maxrss survives exec on Linux, so it would include the parent's peak)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return -1


def main() -> None:
    """Run every case of the spec and print one JSON line per case."""
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    resource.setrlimit(resource.RLIMIT_AS, (spec["mem_bytes"], spec["mem_bytes"]))
    from clearance.errors import ClearanceError
    from clearance.scan import scan_path

    signal.signal(signal.SIGALRM, _alarm)
    for name, path in spec["cases"]:
        print(f"START {name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        out: dict[str, object] = {"name": name}
        signal.alarm(int(spec["seconds"]))
        try:
            rep = scan_path(path)
            out["findings"] = [[f.rule, f.severity.value, f.message[:300]] for f in rep.findings]
        except CaseTimeout:
            out["outcome"] = "timeout"
        except ClearanceError as exc:
            out["outcome"] = "error"
            out["error"] = f"{type(exc).__name__}: {exc}"
        except BaseException as exc:
            out["outcome"] = "crash"
            out["error"] = "".join(traceback.format_exception(exc))[-3000:]
        finally:
            signal.alarm(0)
        out["seconds"] = round(time.perf_counter() - t0, 3)
        out["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
