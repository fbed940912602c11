"""Header validation cost follows header size, not file size: 10 MB vs 2 GB (sparse) files, same header shape.

Setup (peers, once): python -m venv bench/.venvs/formats && bench/.venvs/formats/bin/pip install safetensors gguf numpy
Run:                 .venv/bin/python bench/scan_header_cost.py [--big-gb 2] [--repeat 20]

For each format it writes a small and a large file whose headers have the same structure (the large one is
sparse: its tensor data are holes, so no disk is used), then times Clearance's bounded reader and the
reference peer on both: safetensors' own ``safe_open`` (Rust) and gguf-py's ``GGUFReader`` (numpy memmap).
"""

from __future__ import annotations

import argparse
import json
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests" / "scan"))

from scanbuild import _gguf_str

from clearance.model.gguf import read_gguf
from clearance.model.safetensors import read_safetensors_header

PEER_PY = Path(__file__).parent / ".venvs" / "formats" / "bin" / "python"
N_TENSORS = 300

PEER_CODE = r"""
import json, sys, time, statistics
kind, path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "safetensors":
    from safetensors import safe_open
    def run():
        with safe_open(path, framework="numpy") as f:
            return len(list(f.keys()))
else:
    from gguf import GGUFReader
    def run():
        return len(GGUFReader(path).tensors)
run()
ts = []
for _ in range(repeat):
    t0 = time.perf_counter(); run(); ts.append(time.perf_counter() - t0)
print(json.dumps(statistics.median(ts)))
"""


def write_safetensors(path: Path, data_bytes: int) -> None:
    per = data_bytes // N_TENSORS
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    for i in range(N_TENSORS):
        header[f"model.layers.{i}.weight"] = {
            "dtype": "U8",
            "shape": [per],
            "data_offsets": [i * per, (i + 1) * per],
        }
    raw = json.dumps(header).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw)
        fh.truncate(8 + len(raw) + per * N_TENSORS)


def write_gguf(path: Path, data_bytes: int) -> None:
    per = (data_bytes // N_TENSORS) // 32 * 32
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, N_TENSORS, 2))
    out += _gguf_str("general.architecture") + struct.pack("<I", 8) + _gguf_str("llama")
    out += _gguf_str("general.alignment") + struct.pack("<II", 4, 32)
    for i in range(N_TENSORS):
        out += _gguf_str(f"blk.{i}.w") + struct.pack("<IQ", 1, per) + struct.pack("<IQ", 24, i * per)  # I8
    out += b"\0" * ((32 - len(out) % 32) % 32)
    with open(path, "wb") as fh:
        fh.write(out)
        fh.truncate(len(out) + per * N_TENSORS)


def time_it(fn: object, repeat: int) -> float:
    f = fn  # type: ignore[assignment]
    f()  # type: ignore[operator]
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()  # type: ignore[operator]
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big-gb", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    sizes = {"10MB": 10 * 10**6, f"{args.big_gb:g}GB": int(args.big_gb * 10**9)}
    print(f"{'format':12} {'file':>6} {'clearance ms':>13} {'peer ms':>9}  peer")
    with tempfile.TemporaryDirectory() as tmp:
        for kind, writer, reader, peer in (
            ("safetensors", write_safetensors, read_safetensors_header, "safetensors.safe_open"),
            ("gguf", write_gguf, read_gguf, "gguf.GGUFReader"),
        ):
            for label, size in sizes.items():
                p = Path(tmp) / f"m-{label}.{kind}"
                writer(p, size)
                ours = time_it(lambda p=p, reader=reader: reader(p), args.repeat)
                theirs = float("nan")
                if PEER_PY.exists():
                    out = subprocess.run(
                        [str(PEER_PY), "-c", PEER_CODE, kind, str(p), str(args.repeat)],
                        capture_output=True, text=True, check=True,
                    )  # fmt: skip
                    theirs = json.loads(out.stdout)
                print(f"{kind:12} {label:>6} {ours * 1e3:13.3f} {theirs * 1e3:9.3f}  {peer}")
                p.unlink()


if __name__ == "__main__":
    main()
