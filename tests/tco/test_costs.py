"""Cost formulas recomputed independently by hand, break-even, sensitivity direction, facts."""

from __future__ import annotations

import math
from datetime import date

import pytest

from clearance.errors import CatalogError, InputError
from clearance.tco import Capacity, CostOptions, Workload, crf, estimate_cost, load_prices

AS_OF = date(2026, 11, 29)

# The worked example of docs/cost.md: 5,000 employees × 10 requests per working day.
WORKLOAD = Workload(
    users=5000, requests_per_user=10, input_tokens=500, output_tokens=300, peak_factor=3, hours_per_day=10,
    days_per_year=250,
)  # fmt: skip
CAPACITY = Capacity(gpus_per_replica=1, tokens_per_s=1500)


def _report(**kw: object):  # type: ignore[no-untyped-def]
    opts = {"capacity": CAPACITY, "years": 3, "model_name": "Qwen3.5-27B", "as_of": AS_OF, **kw}
    return estimate_cost(WORKLOAD, CostOptions(**opts))  # type: ignore[arg-type]


def test_crf_known_values() -> None:
    assert crf(0.08, 4) == pytest.approx(0.301921, abs=1e-6)  # tco.md: "CRF = 0.302"
    assert crf(0.0, 5) == pytest.approx(0.2)
    # CRF is the annuity that repays 1: PV of n payments at r equals 1.
    r, n = 0.07, 6
    assert sum(crf(r, n) / (1 + r) ** t for t in range(1, n + 1)) == pytest.approx(1.0)
    with pytest.raises(InputError):
        crf(0.08, 0)


def test_worked_example_onprem_recomputed_by_hand() -> None:
    rep = _report()
    on = rep.option("onprem")
    # sizing: peak req/s = 50,000 / (10 h × 3600) × 3; one replica serves 1500 / 300 req/s
    peak = 50_000 / 36_000 * 3
    replicas = math.ceil(peak / (1500 / 300))
    assert replicas == 1 and on.details["replicas"] == 1
    capex = 1 * (30_000 + 80_000 / 8) * (1 + 0.10)
    capital = (capex - capex * 0.20 / 1.08**4) * (0.08 * 1.08**4 / (1.08**4 - 1))
    busy = 50_000 * 250 * 300 / (1500 * 8760 * 3600)
    power = (0.7 * busy + 4.6 / 8 * 0.5) * 8760 * 1.3 * 0.1199
    colo = (0.7 + 4.6 / 8) * 196 * 12
    support = capex * 0.10
    staff = 0.5 * 225_000
    year = capital + power + colo + support + staff
    assert on.components["capital"][0] == pytest.approx(capital)
    assert on.components["power"][0] == pytest.approx(power)
    assert on.components["colocation"][0] == pytest.approx(colo)
    assert on.annual[0] == pytest.approx(year)
    assert on.horizon_total == pytest.approx(3 * year)
    tokens = 50_000 * 250 * 800 * 3
    assert on.cost_per_mtok == pytest.approx(3 * year / tokens * 1e6)


def test_worked_example_rental_and_api_recomputed_by_hand() -> None:
    rep = _report()
    od = rep.option("rental_on_demand")
    gpu_cost = 1 * 10 * 250 * 6.88  # peak fleet × hours of use × days × $/GPU-h
    assert od.annual[0] == pytest.approx(gpu_cost * 1.30 + 0.25 * 225_000)
    rs = rep.option("rental_reserved")
    assert rs.annual[0] == pytest.approx(1 * 8760 * 6.88 * 0.70 * 1.30 + 0.25 * 225_000)
    api = rep.option("api.openrouter-qwen3.5-27b")
    assert api.annual[0] == pytest.approx(50_000 * 250 * (500 * 0.195 + 300 * 1.56) / 1e6)
    assert rep.cheapest == "api.openrouter-qwen3.5-27b"


def test_reasoning_tokens_are_billed_as_output() -> None:
    w = Workload(requests_per_day=1000, input_tokens=100, output_tokens=300, reasoning_tokens=4000)
    rep = estimate_cost(w, CostOptions(capacity=CAPACITY, apis=["openai-gpt-5.4"], as_of=AS_OF))
    api = rep.option("api.openai-gpt-5.4")
    assert api.annual[0] == pytest.approx(1000 * 365 * (100 * 2.5 + 4300 * 15.0) / 1e6)


def test_growth_buys_more_gpus_in_later_years() -> None:
    w = WORKLOAD.model_copy(update={"growth": 1.0})
    rep = estimate_cost(w, CostOptions(capacity=CAPACITY, years=4, as_of=AS_OF))
    gpus = rep.option("onprem").details["gpus_by_year"]
    assert gpus == [1, 2, 4, 7]  # ceil(4.17 × 2^y / 5)
    cash = rep.option("onprem").cumulative_cash
    assert cash[12] - cash[11] > 30_000  # a tranche is bought at the start of year 2


def test_break_even_volume_is_where_annual_costs_meet() -> None:
    rep = _report()
    be = next(b for b in rep.break_even if b.a == "onprem" and b.b == "rental_on_demand")
    assert be.status == "crosses" and be.requests_per_day is not None
    v = be.requests_per_day

    def year1(volume: float, option: str) -> float:
        r = estimate_cost(WORKLOAD.scaled(volume), CostOptions(capacity=CAPACITY, years=1, as_of=AS_OF))
        return r.option(option).annual[0]

    assert year1(v * 1.01, "onprem") <= year1(v * 1.01, "rental_on_demand")
    assert year1(v * 0.99, "onprem") > year1(v * 0.99, "rental_on_demand")


def test_never_cheaper_when_marginal_cost_exceeds_the_api_price() -> None:
    # Each owned GPU costs > $15k/yr before staff and serves at most 1500/300 req/s at peak,
    # i.e. 5/3 req/s on average over 10 h × 250 days: ~$0.0013 per request > the API's $0.00057.
    rep = _report()
    be = next(b for b in rep.break_even if b.a == "onprem" and b.b == "api.openrouter-qwen3.5-27b")
    assert be.status == "never_cheaper" and be.requests_per_day is None and be.month is None
    on = rep.option("onprem")
    per_gpu = sum(on.components[k][0] for k in ("capital", "support", "colocation"))
    assert per_gpu / (5 / 3 * 36_000 * 250) > (500 * 0.195 + 300 * 1.56) / 1e6


def test_break_even_month_on_cash_curves() -> None:
    # A big workload where owning wins: break-even month is when cumulative cash crosses.
    w = Workload(requests_per_day=3_000_000, input_tokens=500, output_tokens=300)
    rep = estimate_cost(w, CostOptions(capacity=CAPACITY, years=4, apis=["openai-gpt-5.4"], as_of=AS_OF))
    be = next(b for b in rep.break_even if b.b == "api.openai-gpt-5.4" and b.a == "onprem")
    on, api = rep.option("onprem").cumulative_cash, rep.option("api.openai-gpt-5.4").cumulative_cash
    assert be.month is not None and 0 < be.month <= 48
    assert on[be.month] <= api[be.month] and on[be.month - 1] > api[be.month - 1]
    assert all(on[m] <= api[m] for m in range(be.month, 49))


def test_sensitivity_directions() -> None:
    rep = _report()
    rows = {r.input: r for r in rep.sensitivity}
    # more volume spreads fixed costs: on-prem $/M falls; dearer GPUs / power / staff raise it
    assert rows["workload.requests_per_day"].metric_high < rows["workload.requests_per_day"].metric_low
    for key in (
        "gpus.H100-SXM.purchase",
        "onprem.electricity_per_kwh",
        "onprem.fte_cost",
        "onprem.cost_of_capital",
    ):
        assert rows[key].metric_high > rows[key].metric_low, key
    assert rows["onprem.residual_pct"].metric_high < rows["onprem.residual_pct"].metric_low
    # API prices do not move the on-prem metric
    assert rows["apis.openrouter-qwen3.5-27b.output"].swing == pytest.approx(0)
    swings = [r.swing for r in rep.sensitivity]
    assert swings == sorted(swings, reverse=True)


def test_measured_throughput_replaces_the_estimate_and_says_so() -> None:
    big = Workload(requests_per_day=2_000_000, input_tokens=500, output_tokens=300)
    base = estimate_cost(big, CostOptions(capacity=CAPACITY, as_of=AS_OF))
    measured = estimate_cost(big, CostOptions(capacity=CAPACITY, measured_tokens_per_s=750, as_of=AS_OF))
    assert measured.capacity.source == "measured"
    assert measured.policy_facts()["tco.throughput_source"] == "measured"
    assert measured.option("onprem").details["replicas"] == 2 * base.option("onprem").details["replicas"]


def test_policy_facts_and_stale_flags() -> None:
    rep = _report()
    facts = rep.policy_facts()
    assert facts["tco.cheapest_option"] == rep.cheapest
    assert facts["tco.onprem.cost_per_mtok"] == pytest.approx(rep.option("onprem").cost_per_mtok)
    assert facts["tco.stale_figures"] == len(rep.stale) > 0
    assert any(a.key == "onprem.electricity_per_kwh" and a.stale for a in rep.assumptions)
    fresh = _report(stale_after_days=3650)
    assert fresh.policy_facts()["tco.stale_figures"] == 0


def test_gpu_without_purchase_price_skips_onprem_with_a_reason() -> None:
    rep = _report(gpu="L40S")
    assert "onprem" not in [o.id for o in rep.options]
    assert any("no purchase price for L40S" in s for s in rep.skipped)


def test_unknown_gpu_and_bad_options_fail_clearly() -> None:
    with pytest.raises(CatalogError, match="unknown GPU"):
        _report(gpu="TPU-v9")
    with pytest.raises(CatalogError, match="unknown API"):
        _report(apis=["nope"])
    with pytest.raises(InputError, match="years"):
        _report(years=0)
    with pytest.raises(InputError, match="tokens/s"):
        Capacity(gpus_per_replica=1, tokens_per_s=0)


def test_user_prices_change_the_result(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "p.yaml"
    p.write_text("onprem:\n  staff_fte: {value: 0, unit: FTE, date: 2026-11, source: existing team}\n")
    rep = _report(prices_file=str(p))
    base = _report()
    assert base.option("onprem").annual[0] - rep.option("onprem").annual[0] == pytest.approx(112_500)
    assert any(a.key == "onprem.staff_fte" and a.origin == str(p) for a in rep.assumptions)


def test_load_prices_once_is_reused() -> None:
    book = load_prices()
    rep = estimate_cost(WORKLOAD, CostOptions(capacity=CAPACITY, as_of=AS_OF), prices=book)
    assert rep.gpu == "H100-SXM"


def test_charts_are_svg_with_every_option_and_input() -> None:
    from clearance.tco.charts import cumulative_cost_svg, tornado_svg

    w = Workload(requests_per_day=3_000_000, input_tokens=500, output_tokens=300)
    rep = estimate_cost(w, CostOptions(capacity=CAPACITY, years=4, apis=["openai-gpt-5.4"], as_of=AS_OF))
    svg = cumulative_cost_svg(rep)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "break-even vs api.openai-gpt-5.4" in svg
    assert all(o.label[:16] in svg for o in rep.options)
    tor = tornado_svg(rep)
    assert "<svg" in tor and rep.sensitivity[0].input in tor
    assert cumulative_cost_svg(rep) == svg  # deterministic
