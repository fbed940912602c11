"""Static pickle analysis: a bounded symbolic walk of the opcode stream, never unpickling anything.

The walk keeps an abstract stack and memo so that every global a loader would import is resolved the way
``pickle`` resolves it (``GLOBAL``, ``INST``, ``STACK_GLOBAL`` through memo/``DUP``, protocol-0 name
mapping, dotted names, ``EXT*`` codes). Globals are judged default-deny: only those that real tensor
checkpoints need are allowed; known code-execution gadgets are critical; everything else is high. Each
finding carries the reason. Walks are bounded (ops, memo, stack, nesting, nested pickles).
"""

from __future__ import annotations

import _compat_pickle
import mmap
import pickletools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from clearance.findings import Severity

#: Globals that real PyTorch / NumPy checkpoints need and that cannot run code by themselves.
SAFE_GLOBALS: frozenset[str] = frozenset(
    {
        "collections.OrderedDict",
        "builtins.set",
        "builtins.frozenset",
        "builtins.slice",
        "builtins.complex",
        "builtins.bytearray",
        "builtins.object",
        "builtins.dict",
        "builtins.list",
        "builtins.tuple",
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "builtins.bytes",
        "builtins.range",
        "copyreg._reconstructor",
        "copyreg.__newobj__",
        "_codecs.encode",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._utils._rebuild_qtensor",
        "torch._utils._rebuild_sparse_tensor",
        "torch._utils._rebuild_meta_tensor_no_storage",
        "torch._utils._rebuild_wrapper_subclass",
        "torch._utils._rebuild_device_tensor_from_numpy",
        "torch._tensor._rebuild_from_type_v2",
        "torch.nn.parameter.Parameter",
        "torch.Size",
        "torch.serialization._get_layout",
        "torch.device",
        "torch.Tensor",
        "torch.storage.UntypedStorage",
        "torch.storage.TypedStorage",
        "torch.UntypedStorage",
        "torch.contiguous_format",
        "torch.channels_last",
        "torch.channels_last_3d",
        "torch.preserve_format",
        "torch.strided",
        "torch.sparse_coo",
        "torch.per_tensor_affine",
        "torch.per_channel_affine",
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
    }
    | {
        f"torch.{t}Storage"
        for t in (
            "Float",
            "Double",
            "Half",
            "BFloat16",
            "Long",
            "Int",
            "Short",
            "Char",
            "Byte",
            "Bool",
            "ComplexFloat",
            "ComplexDouble",
            "QUInt8",
            "QInt8",
            "QInt32",
            "QUInt4x2",
            "QUInt2x4",
            "Float8_e4m3fn",
            "Float8_e5m2",
            "Float8_e4m3fnuz",
            "Float8_e5m2fnuz",
        )
    }
    | {
        f"torch.{t}"
        for t in (
            "float32",
            "float",
            "float64",
            "double",
            "float16",
            "half",
            "bfloat16",
            "complex64",
            "complex128",
            "uint8",
            "int8",
            "int16",
            "short",
            "int32",
            "int",
            "int64",
            "long",
            "bool",
            "qint8",
            "quint8",
            "qint32",
            "quint4x2",
            "float8_e4m3fn",
            "float8_e5m2",
            "float8_e4m3fnuz",
            "float8_e5m2fnuz",
            "uint16",
            "uint32",
            "uint64",
            "float4_e2m1fn_x2",
            "float8_e8m0fnu",
        )
    }
)

#: numpy 2 pickles dtypes as ``numpy.dtypes.<Name>DType``: allowed by prefix (classes, no side effects).
SAFE_PREFIXES: tuple[str, ...] = ("numpy.dtypes.",)

#: Known code-execution, file, network and import gadgets: ``prefix -> reason``. Prefixes match whole
#: dotted components, so ``asyncio`` also covers ``asyncio.unix_events._UnixSubprocessTransport``.
DANGEROUS: dict[str, str] = {
    **{m: "runs shell commands or processes" for m in (
        "os", "posix", "nt", "subprocess", "_posixsubprocess", "pty", "commands", "multiprocessing",
        "asyncio", "popen2", "spawn", "platform.popen", "uuid._get_command_stdout", "_osx_support",
        "_aix_support", "mailcap", "ensurepip", "pip", "venv", "idlelib", "distutils", "setuptools",
        "numpy.distutils", "numpy.f2py", "numpy.testing", "torch.utils.collect_env", "torch.utils.bottleneck",
        "torch._inductor", "torch.utils.cpp_extension", "imaplib.IMAP4_stream", "webbrowser", "antigravity",
    )},
    **{m: "evaluates or compiles code" for m in (
        "code", "codeop", "runpy", "marshal", "types", "doctest", "trace", "timeit", "cProfile", "profile",
        "pdb", "bdb", "pydoc", "_pyrepl", "lib2to3", "test", "unittest", "inspect", "ctypes", "_ctypes", "cffi",
        "jinja2", "torch.jit", "torch._dynamo", "torch.fx", "torch.utils._config_module", "numexpr", "sympy",
        "torch.package", "_xxsubinterpreters", "_interpreters", "threading", "_thread",
    )},
    **{m: "imports modules or resolves arbitrary names (a universal gadget)" for m in (
        "importlib", "_frozen_importlib", "_frozen_importlib_external", "_imp", "imp", "pkgutil", "zipimport",
        "site", "sys", "gc", "builtins.__import__", "operator", "_operator", "functools", "copyreg",
        "_compat_pickle", "torch.hub", "torch.utils.data.datapipes",
    )},
    **{m: "loads a nested pickle or other unsafe serialization" for m in (
        "pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "jsonpickle", "yaml",
        "torch.load", "torch.serialization", "torch.storage._load_from_bytes", "numpy.load", "numpy.lib.npyio",
        "numpy.lib.format", "pandas.read_pickle", "dbm",
    )},
    **{m: "reads, writes or deletes files" for m in (
        "shutil", "io", "_io", "codecs.open", "tempfile", "zipfile", "tarfile", "glob", "pathlib", "fileinput",
        "logging", "sqlite3", "linecache", "pandas.read_csv", "pandas.io", "numpy.savetxt", "numpy.loadtxt",
        "numpy.fromfile", "numpy.memmap", "numpy.tofile", "mmap",
    )},
    **{m: "opens network connections" for m in (
        "socket", "ssl", "http", "httplib", "urllib", "urllib2", "requests", "aiohttp", "httpx", "ftplib",
        "smtplib", "poplib", "nntplib", "telnetlib", "xmlrpc", "socketserver", "imaplib",
    )},
    **{m: "tampers with security scanners" for m in ("fickling", "picklescan", "modelscan", "clearance")},
    "builtins": "is a Python builtin that can run code, open files or reach any object (eval, exec, getattr, open ...)",
    "mlflow": "runs projects or entry points",
}  # fmt: skip

_STRING_OPS = {
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
}
_BYTES_OPS = {"BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}
_EXT_OPS = {"EXT1", "EXT2", "EXT4"}


@dataclass(frozen=True)
class PickleLimits:
    """Bounds of one walk: opcodes, memo entries, stack size, mark nesting, nested pickles, bytes read."""

    max_ops: int = 5_000_000
    max_memo: int = 1_000_000
    max_stack: int = 1_000_000
    max_marks: int = 10_000
    max_nested_depth: int = 3
    max_pickles: int = 64


class PickleGlobal(BaseModel):
    """One global a loader would import: where, how, and the verdict (safe, dangerous, unknown)."""

    module: str
    name: str
    opcode: str
    pos: int
    verdict: str
    reason: str = ""

    @property
    def full(self) -> str:
        """``module.name``."""
        return f"{self.module}.{self.name}"


class PickleIssue(BaseModel):
    """A problem found in a pickle stream, with a stable rule id and the reason."""

    rule: str
    severity: Severity
    message: str
    pos: int | None = None


class PickleAnalysis(BaseModel):
    """Result of a static walk: globals seen, calls made, issues, and how much of the stream was walked."""

    label: str
    pickles: int = 0
    ops: int = 0
    protocols: list[int] = Field(default_factory=list)
    globals: list[PickleGlobal] = Field(default_factory=list)
    calls: list[str] = Field(default_factory=list)
    persistent_ids: int = 0
    issues: list[PickleIssue] = Field(default_factory=list)
    complete: bool = True

    def max_severity(self) -> Severity | None:
        """The worst issue severity, or None."""
        return max((i.severity for i in self.issues), key=lambda s: s.rank, default=None)

    @property
    def is_safe(self) -> bool:
        """True when no issue is medium or worse."""
        worst = self.max_severity()
        return worst is None or worst < Severity.medium


def _matches(full: str, prefix: str) -> bool:
    return full == prefix or full.startswith(prefix + ".")


def classify_global(module: str, name: str) -> tuple[str, str]:
    """Verdict (``safe``/``dangerous``/``unknown``) and reason for a global, after protocol-0 name mapping."""
    candidates = {(module, name)}
    if (module, name) in _compat_pickle.NAME_MAPPING:
        candidates.add(_compat_pickle.NAME_MAPPING[(module, name)])
    if module in _compat_pickle.IMPORT_MAPPING:
        candidates.add((_compat_pickle.IMPORT_MAPPING[module], name))
    for alias in ("__builtin__", "__builtins__"):
        if module == alias or module.startswith(alias + "."):
            candidates.add(("builtins" + module[len(alias) :], name))
    fulls = sorted(f"{m}.{n}" for m, n in candidates)
    for full in fulls:
        if any(not part.isidentifier() for part in full.split(".")):
            return "dangerous", f"{full!r} is not a plain dotted name (obfuscated or malformed import)"
    for full in fulls:
        for prefix, reason in DANGEROUS.items():
            if _matches(full, prefix) and full not in SAFE_GLOBALS:
                return "dangerous", f"{full} {reason}"
    if any(f in SAFE_GLOBALS or f.startswith(SAFE_PREFIXES) for f in fulls):
        return "safe", "on the allowlist of globals tensor checkpoints need"
    return (
        "unknown",
        f"{fulls[0]} is not on the allowlist of globals tensor checkpoints need; loading imports it",
    )


class _Mark:
    pass


@dataclass(frozen=True)
class _Str:
    value: str


@dataclass(frozen=True)
class _Global:
    full: str


class _Other:
    pass


#: Longest text line (protocol-0 argument) and longest in-memory argument a walk will materialise.
MAX_LINE_BYTES = 1 << 20
MAX_ARG_BYTES = 64 << 20
_BYTES4_CODES = {ord("B")}
_BYTES8_CODES = {0x8E, 0x96}
#: The legacy (pre-1.6) torch.save stream starts with this pickled magic number; five pickles then raw data.
_TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b"."


@dataclass(frozen=True)
class _Lazy:
    """A large bytes argument left in the file: only its position and size are kept."""

    start: int
    size: int

    def __len__(self) -> int:
        return self.size


class _Source:
    """File-like view of bytes or an mmap that never materialises huge arguments or unbounded lines."""

    def __init__(self, data: bytes | mmap.mmap, size: int) -> None:
        self.d = data
        self.size = size
        self.pos = 0

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> Any:
        if n < 0:
            n = self.size - self.pos
        if n > MAX_LINE_BYTES:
            end = self.pos + n
            if end > self.size:
                raise ValueError(f"argument of {n} bytes runs past the end of the stream")
            p = self.pos
            is_bytes = (p >= 5 and self.d[p - 5] in _BYTES4_CODES) or (
                p >= 9 and self.d[p - 9] in _BYTES8_CODES
            )
            if is_bytes:
                self.pos = end
                return _Lazy(p, n)
            if n > MAX_ARG_BYTES:
                raise _LimitHit(f"argument of {n} bytes exceeds the cap of {MAX_ARG_BYTES}", p)
        b = self.d[self.pos : self.pos + n]
        self.pos += len(b)
        return b

    def readline(self) -> bytes:
        stop = min(self.size, self.pos + MAX_LINE_BYTES)
        i = self.d.find(b"\n", self.pos, stop)
        if i < 0:
            if stop < self.size:
                raise _LimitHit(f"text line longer than {MAX_LINE_BYTES} bytes", self.pos)
            i = self.size - 1
        b = self.d[self.pos : i + 1]
        self.pos = i + 1
        return b


_OTHER = _Other()
_MARK = _Mark()


class _Walker:
    def __init__(self, label: str, limits: PickleLimits, depth: int) -> None:
        self.a = PickleAnalysis(label=label)
        self.limits = limits
        self.depth = depth
        self.seen_globals: set[tuple[str, str, str]] = set()
        self.nested: list[tuple[int, bytes]] = []

    def issue(self, rule: str, severity: Severity, message: str, pos: int | None) -> None:
        if len(self.a.issues) < 1000:
            self.a.issues.append(PickleIssue(rule=rule, severity=severity, message=message, pos=pos))

    def add_global(self, module: str, name: str, opcode: str, pos: int) -> _Global:
        verdict, reason = classify_global(module, name)
        full = f"{module}.{name}"
        key = (module, name, verdict)
        if key not in self.seen_globals:
            self.seen_globals.add(key)
            self.a.globals.append(
                PickleGlobal(module=module, name=name, opcode=opcode, pos=pos, verdict=verdict, reason=reason)
            )
            if verdict == "dangerous":
                self.issue("PICKLE-GLOBAL-DANGEROUS", Severity.critical, f"imports {full}: {reason}", pos)
            elif verdict == "unknown":
                self.issue("PICKLE-GLOBAL-UNKNOWN", Severity.high, f"imports {full}: {reason}", pos)
        return _Global(full)

    def unresolved(self, what: str, opcode: str, pos: int) -> _Global:
        self.issue(
            "PICKLE-GLOBAL-UNRESOLVED",
            Severity.critical,
            f"{opcode} imports a global whose {what} is computed at load time and cannot be checked statically",
            pos,
        )
        return _Global("<unresolved>")

    def walk_stream(self, f: _Source, size: int) -> None:
        lim = self.limits
        while True:
            start = f.tell()
            if start >= size:
                break
            if self.a.pickles >= lim.max_pickles:
                self.issue(
                    "PICKLE-LIMIT",
                    Severity.medium,
                    f"more than {lim.max_pickles} pickles in one stream; rest not scanned",
                    start,
                )
                self.a.complete = False
                break
            try:
                stopped = self.walk_one(f)
            except _LimitHit as exc:
                self.issue("PICKLE-LIMIT", Severity.high, str(exc), exc.pos)
                self.a.complete = False
                break
            except (
                ValueError,
                KeyError,
                OverflowError,
                UnicodeError,
                IndexError,
                EOFError,
                TypeError,
            ) as exc:
                pos = f.tell()
                if self.a.pickles == 0:
                    self.issue(
                        "PICKLE-MALFORMED",
                        Severity.high,
                        f"opcode stream is malformed at byte {pos}: {str(exc)[:160]} (loaders run every opcode before this point)",
                        pos,
                    )
                    self.a.complete = False
                else:  # data after complete pickles (e.g. raw arrays); globals it held are already reported
                    self.issue(
                        "PICKLE-TRAILING-DATA",
                        Severity.info,
                        f"non-pickle data after {self.a.pickles} complete pickle(s) from byte {start}",
                        start,
                    )
                break
            if not stopped:
                break
            self.a.pickles += 1
            if self.a.pickles == 1 and f.d[:15] == _TORCH_LEGACY_MAGIC:
                self.legacy_torch = True
            if self.legacy_torch and self.a.pickles >= 5:
                break  # magic, protocol, sys_info, the object, storage keys; raw storage bytes follow
        for pos, data in self.nested:
            if self.depth >= lim.max_nested_depth:
                self.issue("PICKLE-NESTED", Severity.high, "pickle nested too deeply to analyse", pos)
                continue
            inner = analyse_pickle_bytes(
                data, label=f"{self.a.label}@{pos}", limits=lim, _depth=self.depth + 1
            )
            if inner.pickles:
                self.issue(
                    "PICKLE-NESTED",
                    Severity.high,
                    f"a bytes value at {pos} is itself a pickle (payloads hidden from single-pass scanners)",
                    pos,
                )
                for i in inner.issues:
                    self.issue(i.rule, i.severity, f"nested pickle at {pos}: {i.message}", pos)

    ops_this_pickle = 0
    legacy_torch = False

    def walk_one(self, f: _Source) -> bool:
        lim = self.limits
        stack: list[Any] = []
        marks: list[list[Any]] = []
        memo: dict[int, Any] = {}
        gets = puts = dups = 0
        self.ops_this_pickle = 0
        stopped = False
        for op, raw_arg, pos in pickletools.genops(f):  # type: ignore[arg-type]
            arg: Any = raw_arg
            p = pos if pos is not None else -1
            self.ops_this_pickle += 1
            self.a.ops += 1
            if self.a.ops > lim.max_ops:
                raise _LimitHit(f"more than {lim.max_ops} opcodes; stopped", p)
            name = op.name
            if name == "PROTO":
                if self.ops_this_pickle != 1:
                    self.issue("PICKLE-PROTO", Severity.low, "PROTO opcode not at the start of the pickle", p)
                if int(arg) > 5:
                    raise ValueError(f"unsupported protocol {arg}")
                self.a.protocols.append(int(arg))
                continue
            if name == "FRAME":
                continue
            if name in _STRING_OPS:
                stack.append(_Str(arg) if isinstance(arg, str) else _OTHER)
            elif name in _BYTES_OPS:
                start = arg.start if isinstance(arg, _Lazy) else None
                head = f.d[start : start + 2] if start is not None else bytes(arg[:2])
                if len(arg) >= 4 and head[0] == 0x80 and head[1] <= 5:
                    if len(arg) > MAX_ARG_BYTES:
                        self.issue(
                            "PICKLE-NESTED",
                            Severity.high,
                            f"a {len(arg)}-byte value looks like a pickle but is too large to analyse",
                            p,
                        )
                    else:
                        self.nested.append(
                            (p, bytes(f.d[start : start + len(arg)]) if start is not None else bytes(arg))
                        )
                stack.append(_OTHER)
            elif name == "GLOBAL" or name == "INST":
                module, _, gname = str(arg).partition(" ")
                g = self.add_global(module, gname, name, p)
                if name == "INST":
                    if not marks:
                        raise ValueError("INST without MARK")
                    stack = marks.pop()
                    self.a.calls.append(g.full)
                    stack.append(_OTHER)
                else:
                    stack.append(g)
            elif name == "STACK_GLOBAL":
                if len(stack) < 2:
                    raise ValueError("STACK_GLOBAL on a short stack")
                gname_v, module_v = stack.pop(), stack.pop()
                if isinstance(module_v, _Str) and isinstance(gname_v, _Str):
                    stack.append(self.add_global(module_v.value, gname_v.value, name, p))
                else:
                    stack.append(self.unresolved("module or name", name, p))
            elif name in _EXT_OPS:
                self.issue(
                    "PICKLE-EXT",
                    Severity.high,
                    f"{name} {arg} imports through the copyreg extension registry, which the loading process controls",
                    p,
                )
                stack.append(_Global(f"<extension {arg}>"))
            elif name == "MEMOIZE":
                if not stack:
                    raise ValueError("MEMOIZE on an empty stack")
                memo[len(memo)] = stack[-1]
                puts += 1
            elif name in _PUT_OPS:
                if not stack:
                    raise ValueError(f"{name} on an empty stack")
                memo[int(arg)] = stack[-1]
                puts += 1
            elif name in _GET_OPS:
                if int(arg) not in memo:
                    raise ValueError(f"{name} of memo key {arg} that was never stored")
                stack.append(memo[int(arg)])
                gets += 1
            elif name == "DUP":
                if not stack:
                    raise ValueError("DUP on an empty stack")
                stack.append(stack[-1])
                dups += 1
            elif name == "MARK":
                marks.append(stack)
                stack = []
                if len(marks) > lim.max_marks:
                    raise _LimitHit(f"MARK nesting deeper than {lim.max_marks}", p)
            elif name == "REDUCE" or name == "NEWOBJ":
                if len(stack) < 2:
                    raise ValueError(f"{name} on a short stack")
                stack.pop()
                self.call(stack.pop(), name, p)
                stack.append(_OTHER)
            elif name == "NEWOBJ_EX":
                if len(stack) < 3:
                    raise ValueError("NEWOBJ_EX on a short stack")
                stack.pop()
                stack.pop()
                self.call(stack.pop(), name, p)
                stack.append(_OTHER)
            elif name == "OBJ":
                if not marks:
                    raise ValueError("OBJ without MARK")
                items = stack
                stack = marks.pop()
                if not items:
                    raise ValueError("OBJ with an empty mark")
                self.call(items[0], name, p)
                stack.append(_OTHER)
            elif name == "BUILD":
                if len(stack) < 2:
                    raise ValueError("BUILD on a short stack")
                stack.pop()
                if isinstance(stack[-1], _Global):
                    self.issue(
                        "PICKLE-BUILD-GLOBAL",
                        Severity.high,
                        f"BUILD sets attributes directly on {stack[-1].full} (a class or module), which can rewire code",
                        p,
                    )
            elif name in ("PERSID", "BINPERSID"):
                if name == "BINPERSID":
                    if not stack:
                        raise ValueError("BINPERSID on an empty stack")
                    stack.pop()
                self.a.persistent_ids += 1
                stack.append(_OTHER)
            elif name == "STOP":
                if not stack:  # pickle itself ignores leftover items and open marks
                    raise ValueError("STOP on an empty stack")
                stopped = True
            else:
                stack = self.generic(op, marks, stack)
            if len(stack) > lim.max_stack:
                raise _LimitHit(f"pickle stack larger than {lim.max_stack} items", p)
            if len(memo) > lim.max_memo:
                raise _LimitHit(f"pickle memo larger than {lim.max_memo} entries", p)
        if gets + dups > 10_000 and gets + dups > 50 * max(puts, 1):
            self.issue(
                "PICKLE-EXPANSION",
                Severity.medium,
                f"{gets} memo reads and {dups} DUPs for {puts} memo writes: expansion ('billion laughs') pattern",
                None,
            )
        return stopped

    def generic(self, op: pickletools.OpcodeInfo, marks: list[list[Any]], stack: list[Any]) -> list[Any]:
        before = [s.name for s in op.stack_before]
        after = len(op.stack_after)
        if "mark" in before:
            if not marks:
                raise ValueError(f"{op.name} without MARK")
            below = marks.pop()
            k = before.index("mark")
            if len(below) < k:
                raise ValueError(f"{op.name} on a short stack")
            if k:
                del below[-k:]
            below.extend([_OTHER] * after)
            return below
        if len(stack) < len(before):
            raise ValueError(f"{op.name} on a short stack")
        if before:
            del stack[-len(before) :]
        stack.extend([_OTHER] * after)
        return stack

    def call(self, fn: Any, opcode: str, pos: int) -> None:
        if isinstance(fn, _Global):
            self.a.calls.append(fn.full)
        else:
            self.issue(
                "PICKLE-INDIRECT-CALL",
                Severity.high,
                f"{opcode} calls an object that is not an imported global (a value computed while loading)",
                pos,
            )


class _LimitHit(Exception):
    def __init__(self, message: str, pos: int | None) -> None:
        super().__init__(message)
        self.pos = pos


def analyse_pickle_bytes(
    data: bytes | bytearray | memoryview | mmap.mmap,
    *,
    label: str = "<bytes>",
    limits: PickleLimits | None = None,
    _depth: int = 0,
) -> PickleAnalysis:
    """Statically analyse a pickle stream (one or several concatenated pickles) held in memory."""
    w = _Walker(label, limits or PickleLimits(), _depth)
    src = data if isinstance(data, mmap.mmap | bytes) else bytes(data)
    w.walk_stream(_Source(src, len(src)), len(src))
    if w.a.pickles == 0 and w.a.complete and not any(i.rule == "PICKLE-MALFORMED" for i in w.a.issues):
        w.issue("PICKLE-MALFORMED", Severity.high, "no complete pickle found in the stream", 0)
        w.a.complete = False
    return w.a


def analyse_pickle_file(path: str | Path, *, limits: PickleLimits | None = None) -> PickleAnalysis:
    """Statically analyse a pickle file via mmap (pages are read on demand; nothing is unpickled)."""
    p = Path(path)
    with open(p, "rb") as fh:
        size = fh.seek(0, 2)
        if size == 0:
            a = PickleAnalysis(label=str(p), complete=False)
            a.issues.append(
                PickleIssue(rule="PICKLE-MALFORMED", severity=Severity.high, message="empty file")
            )
            return a
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return analyse_pickle_bytes(mm, label=str(p), limits=limits)


def looks_like_pickle(head: bytes) -> bool:
    """Whether the first bytes of a file look like a pickle (PROTO header, or a protocol-0/1 global or mark)."""
    if len(head) >= 2 and head[0] == 0x80 and head[1] <= 5:
        return True
    for lead in (b"c", b"(c", b"(i", b"(dp", b"(lp", b"}q", b"]q", b"(tq"):
        if head.startswith(lead):
            rest = head[len(lead) :].split(b"\n", 2)
            if lead in (b"c", b"(c", b"(i"):
                return len(rest) >= 2 and all(
                    x.replace(b".", b"").replace(b"_", b"").isalnum() for x in rest[:2]
                )
            return True
    return False


def iter_dangerous(analysis: PickleAnalysis) -> Iterator[PickleGlobal]:
    """The globals judged dangerous."""
    return (g for g in analysis.globals if g.verdict == "dangerous")


__all__ = [
    "DANGEROUS",
    "SAFE_GLOBALS",
    "PickleAnalysis",
    "PickleGlobal",
    "PickleIssue",
    "PickleLimits",
    "analyse_pickle_bytes",
    "analyse_pickle_file",
    "classify_global",
    "iter_dangerous",
    "looks_like_pickle",
]
