"""Read a policy YAML file strictly: every error names the file, the line and the key at fault."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from clearance.errors import PolicyError
from clearance.policy.records import Gate, Operator, Policy

if TYPE_CHECKING:
    from clearance.facts import FactCatalog

DEFAULT_POLICY_NAME = "default.yaml"


def default_policy_path() -> Path:
    """Path of the policy shipped with Clearance (``clearance/policy/default.yaml``)."""
    return Path(str(resources.files("clearance.policy").joinpath(DEFAULT_POLICY_NAME)))


def load_policy(path: str | Path | None = None, *, suites: Iterable[str] | None = None) -> Policy:
    """Load and validate a policy file (the shipped default when ``path`` is ``None``).

    Every gate's fact must be declared (``clearance policy facts``); ``suites`` names the suites (built-in
    names or suite YAML files) whose metrics a run will publish, beside the shipped ones.
    """
    p = default_policy_path() if path is None else Path(path)
    if not p.is_file():
        raise PolicyError(f"policy file not found: {p}")
    try:
        raw = p.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"policy {p}: cannot read as UTF-8 text ({exc})") from exc
    catalog = None
    if suites is not None:
        from clearance.evals.facts import suites_facts
        from clearance.facts import declared_facts

        catalog = declared_facts(suites_facts(suites))
    return parse_policy(text, source=str(p), sha256=hashlib.sha256(raw).hexdigest(), facts=catalog)


def parse_policy(
    text: str,
    *,
    source: str = "<string>",
    sha256: str | None = None,
    facts: FactCatalog | None = None,
    check_facts: bool = True,
) -> Policy:
    """Validate policy YAML text; raise ``PolicyError`` naming ``source``, line and key on any problem.

    With ``check_facts`` (the default) every gate's fact must be in ``facts`` (the declared catalogue of
    this build when ``None``): a misspelt fact is an error with a suggestion, never a silently missing fact.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyError(f"policy {where}: not valid YAML ({problem})") from exc
    except RecursionError:
        raise PolicyError(f"policy {source}: nested too deeply to be a policy") from None
    if not isinstance(data, dict):
        raise PolicyError(
            f"policy {source}: expected a mapping with 'name' and 'gates', got {type(data).__name__}"
        )
    data = dict(data)
    for k in ("source", "sha256", "warnings"):
        if k in data:
            raise PolicyError(
                f"policy {source}:{_line(node, (k,))}: key {k!r} is set by Clearance, remove it"
            )
    if sha256 is None:
        sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        policy = Policy.model_validate({**data, "source": source, "sha256": sha256})
    except ValidationError as exc:
        # A typo shows up twice (unknown key + missing key): report the unknown key, with its suggestion.
        errors = _drop_echoes(sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden"))
        first = _describe(errors[0], node, data, source)
        more = (
            f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
            if len(errors) > 1
            else ""
        )
        raise PolicyError(first + more) from None
    if check_facts:
        _check_facts(policy, node, source, facts)
    warnings = rate_gate_warnings(policy)
    if warnings:
        policy = policy.model_copy(
            update={
                "warnings": [
                    f"policy {source}:{_line(node, ('gates', policy.gates.index(g)))}: {w}"
                    for g, w in warnings
                ]
            }
        )
    return policy


def _check_facts(policy: Policy, node: yaml.Node | None, source: str, catalog: FactCatalog | None) -> None:
    """Every gate names a declared fact, and a ``use:`` bound the fact has; else one ``PolicyError``."""
    if catalog is None:
        from clearance.facts import declared_facts

        catalog = declared_facts()
    for i, gate in enumerate(policy.gates):
        line = _line(node, ("gates", i, "fact"))
        where = f"{source}:{line}" if line else source
        hit = catalog.find(gate.fact)
        if hit is None:
            close = catalog.suggest(gate.fact)
            hint = f"; did you mean {close!r}?" if close else ""
            raise PolicyError(
                f"policy {where}: gate {gate.id!r}: unknown fact {gate.fact!r}{hint} "
                "(clearance policy facts lists the declared facts)"
            )
        if gate.use != "value" and (hit.bound is not None or gate.use not in hit.spec.bounds):
            line = _line(node, ("gates", i, "use")) or line
            where = f"{source}:{line}" if line else source
            has = ", ".join(hit.spec.bounds) or "no confidence bounds"
            raise PolicyError(
                f"policy {where}: gate {gate.id!r}: fact {gate.fact!r} has no {gate.use} bound (it has {has})"
            )


# Facts under ``evals.`` with these last parts are counts or labels, not rates with an interval.
_NOT_RATES = ("n", "n_selected", "n_completed", "n_failed", "n_incomplete", "n_valid", "method")


def rate_gate_warnings(policy: Policy) -> list[tuple[Gate, str]]:
    """Gates that judge an evaluation rate on its point estimate or on the lenient end of its interval.

    Every ``evals.*`` metric is published with ``.ci_low`` / ``.ci_high``; a floor (``>=``, ``>``) is judged
    conservatively on ``ci_low``, a ceiling (``<=``, ``<``) on ``ci_high``.
    """
    out: list[tuple[Gate, str]] = []
    floors = (Operator.ge, Operator.gt)
    ceilings = (Operator.le, Operator.lt)
    for g in policy.gates:
        if not g.fact.startswith("evals.") or g.operator not in (*floors, *ceilings):
            continue
        if g.fact.rsplit(".", 1)[-1] in _NOT_RATES or g.fact.endswith("failure_rate"):
            continue
        want = "ci_low" if g.operator in floors else "ci_high"
        if g.use == "value":
            out.append(
                (
                    g,
                    f"gate {g.id!r} judges {g.fact} on its point estimate; add `use: {want}` to judge "
                    f"the conservative bound of its 95% interval",
                )
            )
        elif g.use != want:
            out.append(
                (
                    g,
                    f"gate {g.id!r} judges the lenient bound ({g.use}) of {g.fact} with "
                    f"{g.operator.value!r}; the conservative bound is {want}",
                )
            )
    return out


def _drop_echoes(errors: list[Any]) -> list[Any]:
    """Drop 'missing key X' when a misspelt key at the same place already suggests X."""
    suggested: set[tuple[Any, ...]] = set()
    for e in errors:
        loc = tuple(e.get("loc", ()))
        if e.get("type") == "extra_forbidden" and loc:
            valid = list(Gate.model_fields) if "gates" in loc[:-1] else list(Policy.model_fields)
            for m in difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5):
                suggested.add((*loc[:-1], m))
    return [e for e in errors if not (e.get("type") == "missing" and tuple(e.get("loc", ())) in suggested)]


def _describe(err: Any, node: yaml.Node | None, data: dict[str, Any], source: str) -> str:
    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    line = _line(node, loc)
    where = f"{source}:{line}" if line else source
    path = _loc_text(loc, data)
    if kind == "extra_forbidden" and loc:
        key = str(loc[-1])
        valid = list(Gate.model_fields) if "gates" in loc[:-1] else list(Policy.model_fields)
        valid = [v for v in valid if v not in ("source", "sha256")]
        parent = _loc_text(loc[:-1], data) or "policy"
        return f"policy {where}: unknown key {key!r} in {parent}{_suggest(key, valid)}"
    if kind == "missing" and loc:
        parent = _loc_text(loc[:-1], data) or "policy"
        return f"policy {where}: {parent} is missing required key {str(loc[-1])!r}"
    if loc and loc[-1] == "operator" and kind == "enum":
        value = str(err.get("input"))
        valid = [o.value for o in Operator]
        return f"policy {where}: {path}: unknown operator {value!r}{_suggest(value, valid)} (valid: {', '.join(valid)})"
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"policy {where}: {path or 'policy'}: {msg}"


def _suggest(word: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(word, valid, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"


def _loc_text(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    parts: list[str] = []
    cur: Any = data
    for item in loc:
        if isinstance(item, int):
            gid = (
                cur[item].get("id")
                if isinstance(cur, list) and item < len(cur) and isinstance(cur[item], dict)
                else None
            )
            parts.append(f"[{item}]" + (f" (gate {gid!r})" if gid else ""))
            cur = cur[item] if isinstance(cur, list) and item < len(cur) else None
        else:
            parts.append(("." if parts else "") + str(item))
            cur = cur.get(item) if isinstance(cur, dict) else None
    return "".join(parts)


def _line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (the key's line for mapping keys), or of its nearest parent."""
    best = node.start_mark.line + 1 if node is not None else None
    cur = node
    for item in loc:
        if isinstance(cur, yaml.MappingNode):
            nxt = None
            for k, v in cur.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(item):
                    best = k.start_mark.line + 1
                    nxt = v
                    break
            if nxt is None:
                return best
            cur = nxt
        elif isinstance(cur, yaml.SequenceNode) and isinstance(item, int) and item < len(cur.value):
            cur = cur.value[item]
            best = cur.start_mark.line + 1
        else:
            return best
    return best
