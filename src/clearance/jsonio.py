"""JSON in one place: plain data from pydantic records, pretty bytes for files, canonical bytes for hashes.

``canonical_json`` follows RFC 8785 (JSON Canonicalization Scheme): object members sorted by their
UTF-16 code units, no whitespace, strings as UTF-8 with only the escapes JSON requires, numbers in the
shortest form that round-trips (integral floats without a fraction, ``1e+21`` style exponents). The dossier
seal and the registry ledger hash and sign these bytes, so the same data always gives the same digest.
"""

from __future__ import annotations

import json
import math
from typing import Any

from pydantic import BaseModel


def to_jsonable(obj: Any) -> Any:
    """Pydantic records (and dicts, lists and tuples of them) as plain JSON-able data."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    return obj


def pretty_json(obj: Any) -> str:
    """Indented JSON text of records or plain data, keys in their own order (what people read)."""
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=False, default=str)


def pretty_json_bytes(obj: Any) -> bytes:
    """``pretty_json`` as UTF-8 bytes with a trailing newline (what files on disk hold)."""
    return (pretty_json(obj) + "\n").encode("utf-8")


def _number(x: float) -> str:
    """An ECMAScript ``Number.prototype.toString`` rendering of a finite float (RFC 8785 section 3.2.2.3)."""
    if not math.isfinite(x):
        raise ValueError(f"canonical JSON cannot hold {x!r}")
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    text = repr(x)  # shortest round-trip digits
    if "e" not in text:
        return text
    mantissa, exp = text.split("e")
    mantissa = mantissa.removesuffix(".0")
    sign = "-" if exp.startswith("-") else "+"
    digits = exp.lstrip("+-").lstrip("0") or "0"
    e = int(sign + digits)
    if -7 < e < 21:  # ECMAScript writes these without an exponent
        plain = format(x, "f") if e >= 0 else f"{x:.{len(mantissa.replace('-', '').replace('.', '')) - e}f}"
        return plain.rstrip("0").rstrip(".") if "." in plain else plain
    return f"{mantissa}e{sign}{digits}"


# json.dumps(s, ensure_ascii=False) without the encoder set-up per call (the ledger has many strings)
_string = json.encoder.encode_basestring


def _utf16_key(kv: tuple[str, Any]) -> bytes:
    return kv[0].encode("utf-16-be")


def _first(kv: tuple[str, Any]) -> str:
    return kv[0]


def _canon(obj: Any, out: list[str]) -> None:
    if obj is None or obj is True or obj is False:
        out.append("null" if obj is None else ("true" if obj else "false"))
    elif isinstance(obj, str):
        out.append(_string(obj))
    elif isinstance(obj, int):
        out.append(str(obj))
    elif isinstance(obj, float):
        out.append(_number(obj))
    elif isinstance(obj, dict):
        items = [(str(k), v) for k, v in obj.items()]
        # keys sort by UTF-16 code units; for ASCII keys that is the order of the strings themselves
        items.sort(key=_first if all(k.isascii() for k, _ in items) else _utf16_key)
        out.append("{")
        for i, (k, v) in enumerate(items):
            if i:
                out.append(",")
            out.append(_string(k))
            out.append(":")
            _canon(v, out)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for i, v in enumerate(obj):
            if i:
                out.append(",")
            _canon(v, out)
        out.append("]")
    elif isinstance(obj, BaseModel):
        _canon(obj.model_dump(mode="json"), out)
    else:
        raise TypeError(f"canonical JSON cannot hold a {type(obj).__name__}")


def canonical_json(obj: Any) -> str:
    """RFC 8785 canonical JSON text of plain data (or pydantic records); see the module doc."""
    out: list[str] = []
    _canon(obj, out)
    return "".join(out)


def canonical_bytes(obj: Any) -> bytes:
    """``canonical_json`` as UTF-8 bytes (what is hashed and signed)."""
    return canonical_json(obj).encode("utf-8")


__all__ = ["canonical_bytes", "canonical_json", "pretty_json", "pretty_json_bytes", "to_jsonable"]
