"""Scan check: Jinja chat templates — dangerous constructs, hidden instructions, and a bounded sandboxed render.

Templates come from ``tokenizer_config.json`` (``chat_template`` string or named list), ``*.jinja``,
``chat_template.json`` and GGUF ``tokenizer.chat_template[.<name>]``. They are parsed (never compiled
outside the sandbox) and rendered only in ``ImmutableSandboxedEnvironment`` with a sample conversation,
a time limit, an output-size limit and guards against huge string multiplication/padding.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from clearance.errors import FormatError
from clearance.findings import Finding, Severity
from clearance.model.artifact import read_json_bounded, read_text_bounded
from clearance.model.layout import layout_for_listing
from clearance.scan.checks import ScanContext, check

MAX_TEMPLATE_BYTES = 64 << 10  # larger than any real chat template we know of (Qwen3 ~ 4 KiB)
MAX_READ = 4 << 20
RENDER_SECONDS = 2.0
MAX_OUTPUT = 256 << 10
MAX_STR = 1 << 20

_SUSPICIOUS_NAMES = {
    "cycler",
    "joiner",
    "lipsum",
    "self",
    "config",
    "request",
    "url_for",
    "get_flashed_messages",
    "g",
    "os",
    "popen",
    "subprocess",
    "__builtins__",
    "builtins",
    "import",
    "eval",
    "exec",
}
_DUNDER = re.compile(r"__\w+__|__(globals|class|mro|subclasses|init|builtins|import|base|dict)")
_HIDDEN_WORDS = re.compile(
    r"ignore (all|any|previous|the above)|do not (tell|reveal|mention)|never (tell|reveal|mention)|secret|"
    r"password|api[_ -]?key|exfiltrat|https?://|base64|send (it|this|the)|curl |wget ",
    re.I,
)
_TOOL_MARKERS = re.compile(r"<tool_call>|\"name\"\s*:|<\|python_tag\|>|function_call|<function=", re.I)
_ESCAPES = re.compile(r"\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\[0-7]{3}")
_B64 = re.compile(r"[A-Za-z0-9+/]{120,}={0,2}")

SAMPLE = [
    {"role": "user", "content": "CLEARANCE_USER_1 What is the capital of France?"},
    {"role": "assistant", "content": "CLEARANCE_ASSISTANT_1 Paris."},
    {"role": "user", "content": "CLEARANCE_USER_2 Thanks."},
]


class _RenderLimit(SecurityError):
    """Raised inside the render when a time, size or argument bound is exceeded."""


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable Jinja sandbox plus limits on string growth (``*``, ``**``, padding methods)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """Refuse operations whose result would be huge."""
        if (
            operator == "**"
            and isinstance(right, int)
            and (right > 64 or (isinstance(left, int) and abs(left) > 2**16))
        ):
            raise _RenderLimit("exponent too large")
        if operator == "%" and isinstance(left, str) and _WIDE_FORMAT.search(left):
            raise _RenderLimit("format width too large")
        if operator == "*":
            for a, b in ((left, right), (right, left)):
                if isinstance(a, str | list | tuple) and isinstance(b, int) and len(a) * b > MAX_STR:
                    raise _RenderLimit("sequence repetition too large")
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, str | list) and len(result) > MAX_STR:
            raise _RenderLimit("result too large")
        return result

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Refuse calls with huge integer arguments (``center``, ``ljust``, ``zfill``, ``range`` ...)."""
        _guard_args(args, kwargs)
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        if (
            isinstance(owner, str)
            and getattr(target, "__name__", "") in ("format", "format_map")
            and re.search(r"\d{6,}", owner)
        ):
            raise _RenderLimit("format width too large")
        return super().call(__context, __obj, *args, **kwargs)


_WIDE_FORMAT = re.compile(r"%[-#0 +]*(\d{6,}|\*)|%[-#0 +]*\d*\.\d{6,}")


def _guard_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for a in (*args, *kwargs.values()):
        if isinstance(a, int) and not isinstance(a, bool) and abs(a) > 100_000:
            raise _RenderLimit("call argument too large")


def _guarded_filter(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _guard_args(args[1:], kwargs)
        return fn(*args, **kwargs)

    return wrapper


def _env() -> BoundedSandbox:
    env = BoundedSandbox(trim_blocks=True, lstrip_blocks=True)
    env.filters = {k: _guarded_filter(v) for k, v in env.filters.items()}

    def raise_exception(message: str) -> None:
        raise _TemplateRaised(str(message))

    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt="%Y-%m-%d": time.strftime(str(fmt)[:64])
    return env


class _TemplateRaised(Exception):
    """The template called ``raise_exception`` (normal for unsupported conversations)."""


def render_bounded(
    source: str, messages: list[dict[str, str]], *, seconds: float = RENDER_SECONDS, **variables: Any
) -> str:
    """Render ``source`` in the bounded sandbox; raises ``SecurityError``, ``_RenderLimit`` or Jinja errors."""
    env = _env()
    tmpl = env.from_string(source)
    deadline = time.monotonic() + seconds
    parts: list[str] = []
    size = 0

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        if time.monotonic() > deadline:
            raise _RenderLimit(f"render took longer than {seconds:.1f} s")
        return tracer

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        for chunk in tmpl.generate(messages=messages, bos_token="<s>", eos_token="</s>", **variables):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise _RenderLimit(f"rendered output exceeds {MAX_OUTPUT} characters")
            parts.append(chunk)
    finally:
        sys.settrace(old)
    return "".join(parts)


def _finding(file: str, label: str, rule: str, sev: Severity, msg: str, **details: object) -> Finding:
    return Finding(
        file=file, rule=rule, severity=sev, message=f"{label}: {msg}", details={"template": label, **details}
    )


def _computed_key(arg: nodes.Node) -> bool:
    """A subscript key built at render time from strings (``()['_' ~ '_cla' ~ 'ss__']``): hides dunder access."""
    if isinstance(arg, nodes.Concat | nodes.Filter | nodes.Call) or (
        isinstance(arg, nodes.Add | nodes.Mod)
        and any(isinstance(c, nodes.Const) and isinstance(c.value, str) for c in arg.find_all(nodes.Const))
    ):
        return True
    return any(
        isinstance(c, nodes.Const) and isinstance(c.value, str) and "_" in c.value
        for c in arg.find_all(nodes.Const)
    )


def analyze_template(source: str, file: str, label: str = "chat_template") -> list[Finding]:
    """All findings for one template (static analysis, then a bounded sandboxed render)."""
    out: list[Finding] = []
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    if len(source.encode("utf-8", "surrogatepass")) > MAX_TEMPLATE_BYTES:
        out.append(
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-SIZE",
                Severity.high,
                f"template is {len(source)} characters (limit {MAX_TEMPLATE_BYTES}); not rendered",
                sha256=digest,
            )
        )
        return out
    env = _env()
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        out.append(
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-SYNTAX",
                Severity.medium,
                f"template does not parse: {exc.message} (line {exc.lineno})",
                sha256=digest,
            )
        )
        return out
    except RecursionError:
        out.append(
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-SYNTAX",
                Severity.high,
                "template is nested too deeply",
                sha256=digest,
            )
        )
        return out
    dangerous: set[str] = set()
    for node in ast.find_all(
        (nodes.Getattr, nodes.Getitem, nodes.Name, nodes.Const, nodes.Filter, nodes.Test)
    ):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            dangerous.add(f".{node.attr}")
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
            and node.arg.value.startswith("_")
        ):
            dangerous.add(f"[{node.arg.value!r}]")
        elif isinstance(node, nodes.Getitem) and _computed_key(node.arg):
            dangerous.add("[computed key]")
        elif isinstance(node, nodes.Name) and (node.name in _SUSPICIOUS_NAMES or node.name.startswith("_")):
            dangerous.add(node.name)
        elif isinstance(node, nodes.Const) and isinstance(node.value, str) and _DUNDER.search(node.value):
            dangerous.add(f"string {node.value[:40]!r}")
        elif (
            isinstance(node, nodes.Filter)
            and node.name in ("attr", "map")
            and any(
                isinstance(a, nodes.Const) and isinstance(a.value, str) and a.value.startswith("_")
                for a in (*node.args, *(k.value for k in node.kwargs))
            )
        ):
            dangerous.add(f"|{node.name}(dunder)")
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            dangerous.add("|attr")
    if dangerous:
        out.append(
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-DANGEROUS",
                Severity.critical,
                "accesses private/dunder attributes or sandbox-escape helpers: "
                + ", ".join(sorted(dangerous)[:12]),
                constructs=sorted(dangerous),
                sha256=digest,
            )
        )
    if _ESCAPES.search(source) or _B64.search(source):
        out.append(
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-OBFUSCATED",
                Severity.high,
                "contains escaped characters or long base64-like runs (obfuscation)",
                sha256=digest,
            )
        )
    triggers = []
    for cmp in ast.find_all(nodes.Compare):
        for op in cmp.ops:
            if (
                op.op in ("in", "notin")
                and isinstance(cmp.expr, nodes.Const)
                and isinstance(cmp.expr.value, str)
            ):
                triggers.append(cmp.expr.value)
    odd = [t for t in triggers if not re.fullmatch(r"[<\[|/].*|\s*|tool.*|</?think>", t)]
    if odd:
        out.append(
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-CONTENT-TRIGGER",
                Severity.medium,
                "template branches on message text (possible trigger/backdoor): "
                + ", ".join(repr(t[:30]) for t in odd[:8]),
                triggers=odd[:20],
                sha256=digest,
            )
        )
    out.extend(_render_checks(source, file, label, digest))
    return out


def _render_checks(source: str, file: str, label: str, digest: str) -> list[Finding]:
    out: list[Finding] = []
    try:
        text = render_bounded(source, SAMPLE, add_generation_prompt=True)
    except _TemplateRaised:
        return out
    except _RenderLimit as exc:
        return [
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-RENDER-LIMIT",
                Severity.high,
                f"sandboxed render stopped: {exc}",
                sha256=digest,
            )
        ]
    except SecurityError as exc:
        return [
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-SANDBOX-BLOCKED",
                Severity.critical,
                f"the Jinja sandbox blocked an escape attempt while rendering: {exc}",
                sha256=digest,
            )
        ]
    except RecursionError:
        return [
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-RENDER-LIMIT",
                Severity.high,
                "sandboxed render recursed too deeply",
                sha256=digest,
            )
        ]
    except Exception as exc:  # template bugs with the sample conversation are not a risk by themselves
        return [
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-RENDER-ERROR",
                Severity.low,
                f"sandboxed render with a sample conversation failed: {type(exc).__name__}: {str(exc)[:200]}",
                sha256=digest,
            )
        ]
    for m in SAMPLE:
        if m["content"].split()[0] not in text:
            out.append(
                _finding(
                    file,
                    label,
                    "CHAT-TEMPLATE-DROPS-MESSAGES",
                    Severity.medium,
                    f"a {m['role']} message of the sample conversation does not appear in the output",
                    sha256=digest,
                )
            )
            break
    scaffold = text
    for m in SAMPLE:
        scaffold = scaffold.replace(m["content"], " ")
    scaffold = re.sub(r"<[^<>\s]{1,40}>|\[/?[A-Z_]{2,20}\]|\b(system|user|assistant|model)\b", " ", scaffold)
    prose = " ".join(re.findall(r"[A-Za-z][A-Za-z',.:;!?-]*", scaffold))
    if _TOOL_MARKERS.search(scaffold):
        out.append(
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-TOOL-INJECTION",
                Severity.high,
                "renders tool-call markup although no tools were given",
                excerpt=scaffold[:300],
                sha256=digest,
            )
        )
    if _HIDDEN_WORDS.search(scaffold):
        out.append(
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-HIDDEN-INSTRUCTIONS",
                Severity.high,
                f"injects instructions the user did not write: “{prose[:200]}”",
                excerpt=prose[:1000],
                sha256=digest,
            )
        )
    elif len(prose.split()) >= 4:
        out.append(
            _finding(
                file,
                label,
                "CHAT-TEMPLATE-DEFAULT-SYSTEM",
                Severity.info,
                f"adds text the user did not write (default system prompt?): “{prose[:200]}”",
                excerpt=prose[:1000],
                sha256=digest,
            )
        )
    return out


def templates_of(ctx: ScanContext) -> Iterator[tuple[str, str, str]]:
    """``(file, label, source)`` for every chat template found in the scanned files."""
    lay = layout_for_listing(ctx.root, ctx.files, ctx.symlinks)
    for f in lay.files:
        name = f.rel.rsplit("/", 1)[-1].lower()
        if name == "tokenizer_config.json":
            try:
                cfg = read_json_bounded(f.real, rel=f.rel)
            except FormatError:
                continue
            if not isinstance(cfg, dict):
                continue
            ct = cfg.get("chat_template")
            if isinstance(ct, str):
                yield f.rel, "chat_template", ct
            elif isinstance(ct, list):
                for i, item in enumerate(ct[:64]):
                    if isinstance(item, dict) and isinstance(item.get("template"), str):
                        yield f.rel, f"chat_template[{item.get('name', i)}]", item["template"]
        elif name == "chat_template.json":
            try:
                cfg = read_json_bounded(f.real, rel=f.rel)
            except FormatError:
                continue
            if isinstance(cfg, dict) and isinstance(cfg.get("chat_template"), str):
                yield f.rel, "chat_template", cfg["chat_template"]
        elif name.endswith(".jinja"):
            yield f.rel, Path(name).stem, read_text_bounded(f.real, MAX_READ)
        elif name.endswith(".gguf"):
            try:
                from clearance.model.gguf import read_gguf

                meta = read_gguf(f.real).metadata
            except (FormatError, ImportError):
                continue  # malformed GGUF files are reported by the GGUF check
            for k, v in meta.items():
                if k.startswith("tokenizer.chat_template") and isinstance(v, str):
                    yield f.rel, k, v


@check(
    "CHAT-TEMPLATE",
    "Jinja chat templates: dunder access, sandbox-escape helpers, hidden instructions, render bounds",
)
def check_chat_templates(ctx: ScanContext) -> Iterator[Finding]:
    """Analyse every chat template found."""
    for file, label, source in templates_of(ctx):
        yield from analyze_template(source, file, label)
