"""Render the self-contained ``report.html`` (inline CSS and SVG; no scripts, no external resources)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from clearance.charts import Bar, Stack, bar_chart, stacked_chart
from clearance.controls import ControlRefs, controls_for, process_controls
from clearance.controls import sources as control_sources
from clearance.dossier.records import DossierInput, SigningInfo
from clearance.inert import strip_control

PROMPT_CHARS = 500
ANSWER_CHARS = 700
SAMPLES_OPEN_PER_SUITE = 5  # more failing samples of a suite sit in a collapsed <details>
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
        if isinstance(value, bool) or not isinstance(value, int | float | None):
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
                "n": facts.get(key + ".n"),
                "n_incomplete": facts.get(key + ".n_incomplete"),
            }
        )
    return rows


def _classifier_rows(raw: Any) -> list[dict[str, Any]]:
    """One row per classifier and class from the measured-accuracy record (``results['classifiers']``)."""
    rows: list[dict[str, Any]] = []
    if not isinstance(raw, dict):
        return rows
    for name, rec in raw.items():
        overall = rec.get("overall") if isinstance(rec, dict) else None
        if not isinstance(overall, dict):
            continue
        for cls, sc in (overall.get("classes") or {}).items():
            if isinstance(sc, dict):
                rows.append(
                    {
                        "classifier": name,
                        "set": overall.get("labelled_set"),
                        "n": overall.get("n"),
                        "accuracy": overall.get("accuracy"),
                        "cls": cls,
                        **{k: sc.get(k) for k in ("precision", "recall", "f1", "support")},
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
        if r["value"] is not None and 0.0 <= float(r["value"]) <= 1.0
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


def svg_img(svg: str, alt: str) -> str:
    """An SVG as an ``<img>`` with a data URI: self-contained, and its ids cannot clash with other charts."""
    if not svg.strip():
        return ""
    b64 = base64.b64encode(strip_control(svg).encode("utf-8")).decode("ascii")
    return f'<img class="chart" alt="{_attr(alt)}" src="data:image/svg+xml;base64,{b64}">'


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _chart(draw: Callable[[], str], alt: str, notes: list[str]) -> str:
    """Draw one box chart; a chart that cannot be drawn is a note in the report, never a failed dossier."""
    try:
        return svg_img(draw(), alt)
    except Exception as exc:  # charts are illustration: the numbers are in the tables next to them
        notes.append(f"{alt}: chart not drawn ({type(exc).__name__}: {exc})")
        return ""


def plan_charts(plan: dict[str, Any], notes: list[str]) -> list[str]:
    """The planner's own charts (memory breakdown, speed against concurrency) for the chosen GPU."""
    chosen = plan.get("chosen") if isinstance(plan, dict) else None
    if not isinstance(chosen, dict):
        return []
    try:
        from clearance.plan import PlanResult, render_charts

        result = PlanResult.model_validate(chosen)
    except Exception as exc:  # an older or foreign plan record: the table still shows its numbers
        notes.append(f"plan charts not drawn ({type(exc).__name__})")
        return []
    try:
        charts = render_charts(result)
    except Exception as exc:  # charts are illustration: the numbers are in the table next to them
        notes.append(f"plan charts not drawn ({type(exc).__name__}: {exc})")
        return []
    alts = {
        "memory": f"Estimated memory per GPU on {result.gpu}",
        "concurrency": f"Estimated speed against concurrency on {result.gpu}",
        "ttft": f"Estimated time to first token against concurrency on {result.gpu}",
    }
    return [Markup(svg_img(svg, alts.get(name, f"plan {name}"))) for name, svg in charts.items()]


def cost_view(cost: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """Options table, break-even rows, stale figures and the two cost charts from a ``CostReport`` record."""
    if not isinstance(cost, dict) or not cost:
        return {}
    try:
        from clearance.tco import CostReport
        from clearance.tco.charts import cumulative_cost_svg, tornado_svg

        rep = CostReport.model_validate(cost)
    except Exception as exc:
        notes.append(f"cost details not shown ({type(exc).__name__})")
        return {}
    return {
        "report": rep,
        "rows": rep.summary(),
        "break_even": [b for b in rep.break_even if b.a == "onprem"],
        "stale": rep.stale,
        "charts": [
            Markup(c)
            for c in (
                _chart(lambda: cumulative_cost_svg(rep), "Cumulative cost per option (estimate)", notes),
                _chart(lambda: tornado_svg(rep), "Cost sensitivity (estimate)", notes),
            )
            if c
        ],
    }


def group_samples(samples: list[Any], data: DossierInput) -> list[dict[str, Any]]:
    """Failing samples per suite (in ``order_samples`` order) with the gate outcome behind each suite."""
    gate_of: dict[str, Any] = {}
    for g in data.decision.gates:
        if g.fact.startswith("evals."):
            suite = g.fact.split(".")[1]
            if suite not in gate_of or g.outcome == "failed":
                gate_of[suite] = g
    evals = data.results.get("evals")
    totals: dict[str, int] = {}
    if isinstance(evals, dict):
        for suite, res in evals.items():
            failing = res.get("failing_samples") if isinstance(res, dict) else None
            if isinstance(failing, list):
                totals[str(suite)] = len(failing)
    groups: dict[str, list[Any]] = {}
    for s in samples:
        groups.setdefault(s.suite, []).append(s)
    out = []
    for suite, items in groups.items():
        out.append(
            {
                "suite": suite,
                "gate": gate_of.get(suite),
                "open": items[:SAMPLES_OPEN_PER_SUITE],
                "more": items[SAMPLES_OPEN_PER_SUITE:],
                "n": len(items),
                "total": totals.get(suite, len(items)),
            }
        )
    return out


def order_samples(data: DossierInput) -> list[Any]:
    """Failing samples of suites behind a rejecting gate first, then reviewing gates, then the rest."""
    rank: dict[str, int] = {}
    for g in data.decision.gates:
        if g.outcome != "failed" or not g.fact.startswith("evals."):
            continue
        suite = g.fact.split(".")[1]
        rank[suite] = min(rank.get(suite, 2), 0 if g.action == "reject" else 1)
    return sorted(data.failing_samples, key=lambda s: rank.get(s.suite, 2))


def run_charts(data: DossierInput) -> list[str]:
    """The report's charts for ``data`` as self-contained ``<img>`` tags: rates with CIs, latency, plan."""
    gated: dict[str, float] = {}
    failed: set[str] = set()
    for g in data.decision.gates:
        base = g.fact.removesuffix(".ci_low").removesuffix(".ci_high")
        if isinstance(g.threshold, int | float) and not isinstance(g.threshold, bool):
            gated[base] = float(g.threshold)
        if g.outcome == "failed":
            failed.add(base)
    facts = data.facts
    plan = data.results.get("plan") if isinstance(data.results.get("plan"), dict) else {}
    notes: list[str] = []
    out = [
        _chart(lambda: _eval_chart(eval_metrics(facts, gated), failed), "Rates with 95% CI", notes),
        _chart(
            lambda: _load_chart({k: v for k, v in facts.items() if k.startswith("load.")}),
            "Measured latency percentiles",
            notes,
        ),
        *plan_charts(plan or {}, notes),
    ]
    return [c for c in out if c]


def gate_controls(gates: list[Any]) -> list[tuple[Any, ControlRefs]]:
    """Each gate with the controls it gives evidence for (the policy's own mapping, else the shipped one)."""
    return [(g, controls_for(g.id, g.fact, getattr(g, "controls", None))) for g in gates]


def serving_charts(results: dict[str, Any]) -> list[Any]:
    """Charts of the serving stages a run measured (soak drift, long-context retrieval, sweep), as images."""
    from clearance.load.longctx import LongContextResult
    from clearance.load.soak import SoakResult
    from clearance.load.sweep import SweepResult

    kinds: list[tuple[str, Any, str]] = [
        ("soak", SoakResult, "Soak: p95 latency per time window"),
        ("long_context", LongContextResult, "Long-context retrieval: accuracy and TTFT by context length"),
        ("sweep", SweepResult, "Latency against throughput"),
    ]
    out = []
    notes: list[str] = []
    for key, cls, alt in kinds:
        raw = results.get(key)
        if not isinstance(raw, dict):
            continue
        try:
            res = cls.model_validate(raw)
        except ValueError:
            continue
        img = _chart(res.chart_svg, alt, notes)
        if img:
            out.append(Markup(img))
    return out


def fact_meanings(data: DossierInput) -> dict[str, str]:
    """What each gate's fact means, from the declared facts (``clearance policy facts``)."""
    from clearance.facts import declared_facts

    catalog = declared_facts()
    return {
        g.fact: catalog.meaning(g.fact) or "not declared by this build (a suite outside the shipped ones?)"
        for g in data.decision.gates
    }


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
    chart_notes: list[str] = []
    cost = data.results.get("cost")
    template = _env().get_template("report.html.j2")
    html = template.render(
        csp_placeholder=_CSP_PLACEHOLDER,
        d=data,
        samples=samples,
        sample_groups=group_samples(samples, data),
        plan_charts=plan_charts(plan or {}, chart_notes),
        cost=cost_view(cost if isinstance(cost, dict) else {}, chart_notes),
        chart_notes=chart_notes,
        decision=data.decision,
        stages=stages,
        signing=signing,
        facts=facts,
        fact_meanings=fact_meanings(data),
        metrics=metrics,
        eval_chart=Markup(_eval_chart(metrics, failed)),
        load_chart=Markup(_load_chart(load_facts)),
        serving_charts=serving_charts(data.results),
        plan_chart=Markup(_plan_chart(plan or {})),
        plan=plan or {},
        tco_facts=tco_facts,
        load_facts=load_facts,
        model=data.results.get("model") if isinstance(data.results.get("model"), dict) else {},
        scan=data.results.get("scan") if isinstance(data.results.get("scan"), dict) else {},
        gate_controls=gate_controls(list(data.decision.gates)),
        process_controls=process_controls(),
        control_sources=control_sources(),
        classifiers=_classifier_rows(data.results.get("classifiers")),
        prompt_chars=PROMPT_CHARS,
        answer_chars=ANSWER_CHARS,
    )
    return with_csp(strip_control(html))


_CSP_PLACEHOLDER = "clearance-csp-placeholder"
_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.S)


def content_security_policy(style_text: str) -> str:
    """The report's policy: nothing may load or run; only its own ``<style>`` block (by hash) and
    ``data:`` images (the embedded charts) apply. No script, font, frame, form or connection at all."""
    digest = base64.b64encode(hashlib.sha256(style_text.encode("utf-8")).digest()).decode("ascii")
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; form-action 'none'"
    )


def with_csp(html: str) -> str:
    """Fill the Content-Security-Policy meta tag with the hash of the page's one ``<style>`` block."""
    blocks = _STYLE_BLOCK.findall(html)
    if len(blocks) != 1:  # the template has exactly one; anything else is a bug, never a looser policy
        raise AssertionError(f"report has {len(blocks)} <style> blocks, expected 1")
    return html.replace(_CSP_PLACEHOLDER, content_security_policy(blocks[0]), 1)
