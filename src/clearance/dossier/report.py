"""Render the self-contained ``report.html`` (inline CSS and SVG; no scripts, no external resources)."""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from clearance.dossier.charts import Bar, Stack, bar_chart, stacked_chart
from clearance.dossier.models import DossierInput, SigningInfo

PROMPT_CHARS = 500
ANSWER_CHARS = 700
_CI_SUFFIXES = (".ci_low", ".ci_high")


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("clearance.dossier", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt_value
    env.filters["trunc"] = truncate
    env.filters["human_bytes"] = human_bytes
    return env


def fmt_value(v: Any) -> str:
    """A short readable rendering of a fact value."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return ", ".join(fmt_value(x) for x in v) if v else "[]"
    if v is None:
        return "—"
    return str(v)


def truncate(text: Any, n: int = 400) -> str:
    """``text`` cut to ``n`` characters with a marker saying how much was cut."""
    s = "" if text is None else str(text)
    return s if len(s) <= n else s[:n] + f" … [{len(s) - n} more characters]"


def human_bytes(n: Any) -> str:
    """Bytes as GiB/MiB/KiB text."""
    if not isinstance(n, int | float) or isinstance(n, bool):
        return fmt_value(n)
    x = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(x) < 1024 or unit == "TiB":
            return f"{x:.3g} {unit}" if unit != "B" else f"{int(x)} B"
        x /= 1024
    return f"{x:.3g} TiB"


def eval_metrics(facts: dict[str, Any], gated: dict[str, float]) -> list[dict[str, Any]]:
    """Eval metrics (``evals.<suite>.<metric>`` facts that carry ``.ci_low``/``.ci_high``) as table rows."""
    rows = []
    for key, value in facts.items():
        if not key.startswith("evals.") or key.endswith(_CI_SUFFIXES) or f"{key}.ci_low" not in facts:
            continue  # metrics are the facts that carry a confidence interval
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        parts = key.split(".", 2)
        if len(parts) < 3:
            continue
        rows.append(
            {
                "key": key,
                "suite": parts[1],
                "metric": parts[2],
                "value": value,
                "ci_low": facts.get(key + ".ci_low"),
                "ci_high": facts.get(key + ".ci_high"),
                "threshold": gated.get(key),
            }
        )
    return rows


def _eval_chart(rows: list[dict[str, Any]], failed: set[str]) -> str:
    bars = [
        Bar(
            label=f"{r['suite']} · {r['metric']}",
            value=float(r["value"]),
            ci_low=r["ci_low"] if isinstance(r["ci_low"], int | float) else None,
            ci_high=r["ci_high"] if isinstance(r["ci_high"], int | float) else None,
            threshold=r["threshold"],
            bad=r["key"] in failed,
        )
        for r in rows
        if 0.0 <= float(r["value"]) <= 1.0
    ]
    return bar_chart(bars, vmax=1.0, title="Rates with 95% CI (whiskers) and policy thresholds (dashed)")


def _load_chart(facts: dict[str, Any]) -> str:
    bars = []
    for key, value in facts.items():
        if key.startswith("load.") and re.search(r"_p\d+(\.\d+)?_s$", key) and isinstance(value, int | float):
            bars.append(Bar(label=key.removeprefix("load."), value=float(value)))
    return bar_chart(bars, unit=" s", title="Measured latency percentiles (seconds)")


def _plan_chart(plan: dict[str, Any]) -> str:
    stacks = []
    for row in plan.get("rows", []) if isinstance(plan, dict) else []:
        w = row.get("weights_bytes_per_gpu")
        kv = row.get("kv_cache_bytes_per_gpu")
        cap = row.get("memory_bytes")
        if not isinstance(w, int | float):
            continue
        segs = [("weights", float(w))]
        if isinstance(kv, int | float) and kv > 0:
            segs.append(("KV cache", float(kv)))
        stacks.append(Stack(label=str(row.get("gpu")), segments=segs, capacity=float(cap) if cap else None))
    return stacked_chart(stacks, unit_div=2**30, unit="GiB", title="Estimated memory per GPU (GiB)")


def order_samples(data: DossierInput) -> list[Any]:
    """Failing samples of suites behind a rejecting gate first, then reviewing gates, then the rest."""
    rank: dict[str, int] = {}
    for g in data.decision.gates:
        if g.outcome != "failed" or not g.fact.startswith("evals."):
            continue
        suite = g.fact.split(".")[1]
        rank[suite] = min(rank.get(suite, 2), 0 if g.action == "reject" else 1)
    return sorted(data.failing_samples, key=lambda s: rank.get(s.suite, 2))


def render_report(data: DossierInput, signing: SigningInfo | None = None) -> str:
    """The HTML report for ``data``: decision banner, reasons, gates, per-box sections, failing samples."""
    facts = data.facts
    gated: dict[str, float] = {}
    failed: set[str] = set()
    for g in data.decision.gates:
        base = g.fact.removesuffix(".ci_low").removesuffix(".ci_high")
        if isinstance(g.threshold, int | float) and not isinstance(g.threshold, bool):
            gated[base] = float(g.threshold)
        if g.outcome == "failed":
            failed.add(base)
    metrics = eval_metrics(facts, gated)
    samples = order_samples(data)
    plan = data.results.get("plan") if isinstance(data.results.get("plan"), dict) else {}
    tco_facts = {k: v for k, v in facts.items() if k.startswith("tco.")}
    load_facts = {k: v for k, v in facts.items() if k.startswith("load.")}
    stages = {s.name: s for s in data.stages}
    template = _env().get_template("report.html.j2")
    return template.render(
        d=data,
        samples=samples,
        decision=data.decision,
        stages=stages,
        signing=signing,
        facts=facts,
        metrics=metrics,
        eval_chart=Markup(_eval_chart(metrics, failed)),
        load_chart=Markup(_load_chart(load_facts)),
        plan_chart=Markup(_plan_chart(plan or {})),
        plan=plan or {},
        tco_facts=tco_facts,
        load_facts=load_facts,
        model=data.results.get("model") if isinstance(data.results.get("model"), dict) else {},
        scan=data.results.get("scan") if isinstance(data.results.get("scan"), dict) else {},
        prompt_chars=PROMPT_CHARS,
        answer_chars=ANSWER_CHARS,
    )
