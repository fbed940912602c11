"""The price catalog: every figure with value, unit, date and source; user YAML merged on top."""

from __future__ import annotations

import datetime as dt
import functools
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from clearance.errors import CatalogError

CATALOG_NAME = "clearance/tco/data/prices.yaml"


class Figure(BaseModel):
    """One sourced number: ``value`` in ``unit``, as of ``date``, from ``source``."""

    key: str
    value: float
    unit: str
    date: dt.date
    source: str
    url: str | None = None
    origin: str = "catalog"

    def is_stale(self, as_of: dt.date, stale_after_days: int) -> bool:
        """True when the figure is older than ``stale_after_days`` on ``as_of``."""
        return (as_of - self.date).days > stale_after_days


class PriceBook(BaseModel):
    """All figures of the catalog (and user overrides), addressed by dotted keys like ``onprem.pue``."""

    figures: dict[str, Figure]
    meta: dict[str, Any] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)

    def get(self, key: str) -> Figure:
        """The figure at ``key``; a ``CatalogError`` naming it when absent."""
        try:
            return self.figures[key]
        except KeyError:
            raise CatalogError(f"price catalog has no figure '{key}' (add it with --prices FILE)") from None

    def value(self, key: str) -> float:
        """The numeric value at ``key``."""
        return self.get(key).value

    def has(self, key: str) -> bool:
        """Whether a figure exists at ``key``."""
        return key in self.figures

    def gpu_names(self) -> list[str]:
        """GPU names that have at least one figure."""
        return sorted({k[len("gpus.") :].rsplit(".", 1)[0] for k in self.figures if k.startswith("gpus.")})

    def api_names(self) -> list[str]:
        """Hosted API entries that have both an input and an output price."""
        names = {k[len("apis.") :].rsplit(".", 1)[0] for k in self.figures if k.startswith("apis.")}
        return sorted(n for n in names if self.has(f"apis.{n}.input") and self.has(f"apis.{n}.output"))

    def api_model(self, name: str) -> str | None:
        """The open model an API entry serves, when the catalog says."""
        model = self.meta.get(f"apis.{name}.model")
        return str(model) if model is not None else None

    def resolve_gpu(self, name: str) -> str:
        """The catalog's spelling of GPU ``name`` (case, spaces, hyphens and planner aliases ignored)."""
        known = self.gpu_names()
        wanted = _norm(name)
        for cand in known:
            if _norm(cand) == wanted:
                return cand
        canonical = _planner_canonical(name)
        if canonical is not None:
            for cand in known:
                if _norm(cand) == _norm(canonical):
                    return cand
        raise CatalogError(f"unknown GPU '{name}' in the price catalog; known: {', '.join(known)}")

    def resolve_api(self, name: str) -> str:
        """The catalog's name of hosted API ``name`` (case-insensitive)."""
        for cand in self.api_names():
            if cand.lower() == name.lower():
                return cand
        raise CatalogError(f"unknown API '{name}' in the price catalog; known: {', '.join(self.api_names())}")

    def scaled(self, key: str, factor: float) -> PriceBook:
        """A copy with the figure at ``key`` multiplied by ``factor`` (sensitivity runs)."""
        fig = self.get(key)
        figures = dict(self.figures)
        figures[key] = fig.model_copy(update={"value": fig.value * factor})
        return self.model_copy(update={"figures": figures})

    def stale(self, as_of: dt.date, stale_after_days: int) -> list[Figure]:
        """Figures older than ``stale_after_days`` on ``as_of``."""
        return [f for f in self.figures.values() if f.is_stale(as_of, stale_after_days)]


@functools.lru_cache(maxsize=1)
def _catalog() -> PriceBook:
    """The built-in catalog, parsed once per process (callers get a deep copy)."""
    text = resources.files("clearance").joinpath("tco/data/prices.yaml").read_text(encoding="utf-8")
    return parse_prices(yaml.safe_load(text), origin="catalog", where=CATALOG_NAME)


def load_prices(overrides: str | Path | None = None) -> PriceBook:
    """The built-in catalog, with the user's YAML file (if any) merged on top figure by figure."""
    book = _catalog().model_copy(deep=True)
    if overrides is None:
        return book
    path = Path(overrides)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"price file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read price file {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"price file {path} is not valid YAML: {_first_line(exc)}") from None
    if raw is None:
        raw = {}
    user = parse_prices(raw, origin=str(path), where=str(path))
    return merge_prices(book, user, where=str(path))


def parse_prices(raw: object, *, origin: str, where: str) -> PriceBook:
    """Validate a parsed price YAML document into a ``PriceBook`` (every figure needs unit, date, source)."""
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: the top level must be a mapping of sections, got {type(raw).__name__}")
    figures: dict[str, Figure] = {}
    meta: dict[str, Any] = {}
    _walk(raw, "", figures, meta, origin=origin, where=where)
    return PriceBook(figures=figures, meta=meta, sources=[origin])


def merge_prices(base: PriceBook, user: PriceBook, *, where: str) -> PriceBook:
    """``base`` with every figure of ``user`` replacing or adding; a changed unit is a ``CatalogError``."""
    figures = dict(base.figures)
    for key, fig in user.figures.items():
        old = figures.get(key)
        if old is not None and _norm_unit(old.unit) != _norm_unit(fig.unit):
            raise CatalogError(
                f"{where}: figure '{key}' is in '{fig.unit}' but the catalog uses '{old.unit}'; "
                "convert it to the catalog's unit"
            )
        figures[key] = fig
    meta = {**base.meta, **user.meta}
    return PriceBook(figures=figures, meta=meta, sources=[*base.sources, *user.sources])


def _walk(
    node: dict[Any, Any],
    prefix: str,
    figures: dict[str, Figure],
    meta: dict[str, Any],
    *,
    origin: str,
    where: str,
) -> None:
    for k, v in node.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and "value" in v:
            figures[key] = _figure(key, v, origin=origin, where=where)
        elif isinstance(v, dict):
            _walk(v, key + ".", figures, meta, origin=origin, where=where)
        else:
            meta[key] = v


def _figure(key: str, raw: dict[Any, Any], *, origin: str, where: str) -> Figure:
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogError(f"{where}: figure '{key}' has a non-numeric value {value!r}")
    if value < 0:
        raise CatalogError(f"{where}: figure '{key}' is negative ({value})")
    unit = raw.get("unit")
    if not isinstance(unit, str) or not unit.strip():
        raise CatalogError(f"{where}: figure '{key}' has no unit")
    if raw.get("date") is None:
        raise CatalogError(f"{where}: figure '{key}' has no date")
    day = _parse_date(raw["date"], key=key, where=where)
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise CatalogError(f"{where}: figure '{key}' has no source")
    url = raw.get("url")
    return Figure(
        key=key,
        value=float(value),
        unit=unit.strip(),
        date=day,
        source=source.strip(),
        url=str(url) if url else None,
        origin=origin,
    )


_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def _parse_date(raw: object, *, key: str, where: str) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    m = _DATE_RE.match(str(raw).strip())
    if m is None:
        raise CatalogError(
            f"{where}: figure '{key}' has an unreadable date {raw!r} (use YYYY-MM-DD, YYYY-MM or YYYY)"
        )
    try:
        return dt.date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        raise CatalogError(f"{where}: figure '{key}' has an impossible date {raw!r}") from None


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.lower())


def _norm_unit(unit: str) -> str:
    return re.sub(r"\s+", "", unit.lower())


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _planner_canonical(name: str) -> str | None:
    """The planner catalog's canonical GPU name for an alias, when the planner is installed."""
    try:
        from clearance.plan.gpus import get_gpu  # planner box; optional at import time
    except ImportError:
        return None
    try:
        return str(get_gpu(name).name)
    except Exception:  # the planner raises its own CatalogError for unknown names
        return None
