"""Claims check: the scores a model card (``model-index``) or a ``--claims`` file states, against the measured ones.

A claim is consistent when the claimed value lies within the measured 95% interval widened by a
tolerance (default 0.05, in the metric's own units): ``ci_low - tol <= claimed <= ci_high + tol``.
A claim above that range is *not reproduced* (the model does worse than stated); below it, the model
does better than stated (reported, not a failure). A claim whose metric was not measured is listed as
such. Percentages in a card (``value: 62.5``) are read as 0.625.

``--claims FILE`` (YAML)::

    claims:
      - {fact: evals.gsm8k.accuracy, value: 0.81, tolerance: 0.03, source: "model card, table 2"}

From ``model-index`` the dataset name or type selects the metric: gsm8k → ``evals.gsm8k.accuracy``,
mmlu → ``evals.mmlu.accuracy``, arc (challenge) → ``evals.arc.accuracy``, ifeval →
``evals.ifeval.prompt_level_strict_accuracy``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

from clearance.errors import InputError

DEFAULT_TOLERANCE = 0.05
CARD_DATASETS = {
    "gsm8k": "evals.gsm8k.accuracy",
    "mmlu": "evals.mmlu.accuracy",
    "arc": "evals.arc.accuracy",
    "ai2_arc": "evals.arc.accuracy",
    "arc-challenge": "evals.arc.accuracy",
    "ifeval": "evals.ifeval.prompt_level_strict_accuracy",
}

Verdict = Literal["consistent", "not_reproduced", "better_than_claimed", "not_measured"]


class Claim(BaseModel):
    """One stated score: the fact it maps to, the value, the tolerance and where it was stated."""

    fact: str
    value: float
    tolerance: float = DEFAULT_TOLERANCE
    source: str = ""


class ClaimResult(BaseModel):
    """A claim judged against the measurement."""

    claim: Claim
    verdict: Verdict
    measured: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str


class ClaimsReport(BaseModel):
    """Every claim checked; ``policy_facts`` counts them."""

    results: list[ClaimResult] = Field(default_factory=list)

    def policy_facts(self) -> dict[str, object]:
        """``claims.n``, ``claims.n_checked``, ``claims.n_not_reproduced``."""
        checked = [r for r in self.results if r.verdict != "not_measured"]
        return {
            "claims.n": len(self.results),
            "claims.n_checked": len(checked),
            "claims.n_not_reproduced": sum(1 for r in checked if r.verdict == "not_reproduced"),
        }


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    x = float(v)
    return x / 100.0 if x > 1.0 else x


def claims_from_card(card: dict[str, Any] | None) -> list[Claim]:
    """Claims in a card's ``model-index`` for datasets a built-in suite measures."""
    out: list[Claim] = []
    index = (card or {}).get("model-index")
    if not isinstance(index, list):
        return out
    for entry in index:
        for res in (entry.get("results") or []) if isinstance(entry, dict) else []:
            if not isinstance(res, dict):
                continue
            ds = res.get("dataset") or {}
            keys = [str(ds.get(k, "")).lower() for k in ("type", "name")] if isinstance(ds, dict) else []
            fact = next((CARD_DATASETS[k] for k in keys if k in CARD_DATASETS), None)
            if fact is None:
                fact = next((f for name, f in CARD_DATASETS.items() if any(name in k for k in keys)), None)
            if fact is None:
                continue
            for m in res.get("metrics") or []:
                value = _num(m.get("value")) if isinstance(m, dict) else None
                if value is not None:
                    out.append(
                        Claim(fact=fact, value=value, source=f"model card model-index: {keys[-1] or keys[0]}")
                    )
                    break
    return out


def read_claims(path: str | Path) -> list[Claim]:
    """A ``--claims`` YAML file (see the module doc); errors are one-line ``InputError``s."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--claims {p}: file not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"--claims {p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    items = raw.get("claims") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise InputError(f"--claims {p}: expected a mapping with a `claims:` list")
    out = []
    for i, it in enumerate(items, 1):
        if not isinstance(it, dict) or "fact" not in it or _num(it.get("value")) is None:
            raise InputError(f"--claims {p}: claim {i} needs `fact` and a numeric `value`")
        out.append(
            Claim(
                fact=str(it["fact"]),
                value=float(_num(it["value"]) or 0.0),
                tolerance=float(it.get("tolerance", DEFAULT_TOLERANCE)),
                source=str(it.get("source", p.name)),
            )
        )
    return out


def check_claims(claims: list[Claim], facts: dict[str, Any]) -> ClaimsReport:
    """Judge each claim against the measured fact and its interval."""
    out = []
    for c in claims:
        raw = [facts.get(c.fact), facts.get(f"{c.fact}.ci_low"), facts.get(f"{c.fact}.ci_high")]
        nums = [float(x) for x in raw if isinstance(x, int | float) and not isinstance(x, bool)]
        if len(nums) != 3:
            out.append(ClaimResult(claim=c, verdict="not_measured", reason=f"{c.fact} was not measured"))
            continue
        v, lo, hi = nums
        rng = f"measured {v:.3g} [{lo:.3g}, {hi:.3g}] ± tolerance {c.tolerance:g}"
        if c.value > hi + c.tolerance:
            verdict: Verdict = "not_reproduced"
            reason = f"claimed {c.value:.3g} for {c.fact} is above what was measured ({rng})"
        elif c.value < lo - c.tolerance:
            verdict = "better_than_claimed"
            reason = f"measured above the claimed {c.value:.3g} for {c.fact} ({rng})"
        else:
            verdict = "consistent"
            reason = f"claimed {c.value:.3g} for {c.fact} is consistent ({rng})"
        out.append(ClaimResult(claim=c, verdict=verdict, measured=v, ci_low=lo, ci_high=hi, reason=reason))
    return ClaimsReport(results=out)


__all__ = ["Claim", "ClaimResult", "ClaimsReport", "check_claims", "claims_from_card", "read_claims"]
