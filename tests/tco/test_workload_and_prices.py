"""Workload validation, the price catalog (units, dates, sources), user overrides and stale flags."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from clearance.errors import CatalogError, InputError
from clearance.tco import Workload, load_prices


def test_users_times_requests_per_user_gives_daily_volume() -> None:
    w = Workload(users=5000, requests_per_user=10, hours_per_day=10)
    assert w.daily_requests == 50_000
    assert w.average_rps() == pytest.approx(50_000 / 36_000)
    assert w.peak_rps() == pytest.approx(3 * 50_000 / 36_000)


def test_growth_compounds_yearly() -> None:
    w = Workload(requests_per_day=1000, days_per_year=200, growth=0.5)
    assert w.requests_in_year(2) == pytest.approx(1000 * 200 * 1.5**2)


def test_reasoning_tokens_count_as_generated() -> None:
    w = Workload(requests_per_day=1, input_tokens=100, output_tokens=300, reasoning_tokens=4000)
    assert w.generated_tokens == 4300
    assert w.tokens_per_request == 4400


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"requests_per_day": 0}, "requests_per_day"),
        ({"requests_per_day": -5}, "requests_per_day"),
        ({"users": 0, "requests_per_user": 3}, "users"),
        ({"users": 10, "requests_per_user": -1}, "requests_per_user"),
        ({"requests_per_day": 10, "output_tokens": 0}, "output_tokens"),
        ({"requests_per_day": 10, "input_tokens": -1}, "input_tokens"),
        ({"requests_per_day": 10, "peak_factor": 0.5}, "peak_factor"),
        ({"requests_per_day": 10, "hours_per_day": 25}, "hours_per_day"),
        ({"requests_per_day": 10, "growth": -1.5}, "growth"),
    ],
)
def test_bad_volumes_are_input_errors_naming_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InputError, match=field):
        Workload(**kwargs)  # type: ignore[arg-type]


def test_missing_volume_is_an_input_error() -> None:
    with pytest.raises(InputError, match="requests_per_day"):
        Workload()


def test_builtin_catalog_every_figure_has_unit_date_source() -> None:
    book = load_prices()
    assert len(book.figures) > 40
    for fig in book.figures.values():
        assert fig.unit and fig.source and fig.date.year >= 2024
    assert "H100-SXM" in book.gpu_names()
    assert "openrouter-qwen3.5-27b" in book.api_names()


def test_unknown_gpu_is_a_catalog_error_listing_known_names() -> None:
    with pytest.raises(CatalogError, match=r"unknown GPU 'Z9000'.*H100-SXM"):
        load_prices().resolve_gpu("Z9000")


def test_gpu_lookup_ignores_case_and_separators() -> None:
    assert load_prices().resolve_gpu("h100 sxm") == "H100-SXM"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "prices.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_user_override_replaces_one_figure_and_keeps_the_rest(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "onprem:\n  electricity_per_kwh: {value: 0.21, unit: USD/kWh, date: 2026-10-01, source: our utility bill}\n",
    )
    book = load_prices(p)
    fig = book.get("onprem.electricity_per_kwh")
    assert fig.value == 0.21 and fig.origin == str(p) and fig.date == date(2026, 10, 1)
    assert book.value("onprem.pue") == load_prices().value("onprem.pue")


def test_user_file_can_add_a_gpu_price_and_an_api(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "gpus:\n  L40S:\n    purchase: {value: 9000, unit: USD/GPU, date: 2026-09, source: quote 123}\n"
        "apis:\n  inhouse:\n    input: {value: 0.1, unit: USD/Mtok, date: 2026-09, source: contract}\n"
        "    output: {value: 0.2, unit: USD/Mtok, date: 2026-09, source: contract}\n",
    )
    book = load_prices(p)
    assert book.value("gpus.L40S.purchase") == 9000
    assert "inhouse" in book.api_names()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("onprem:\n  pue: {value: 1.5, date: 2026-01, source: x}\n", "'onprem.pue' has no unit"),
        ("onprem:\n  pue: {value: 1.5, unit: ratio, source: x}\n", "'onprem.pue' has no date"),
        ("onprem:\n  pue: {value: 1.5, unit: ratio, date: 2026-01}\n", "'onprem.pue' has no source"),
        ("onprem:\n  pue: {value: abc, unit: ratio, date: 2026-01, source: x}\n", "non-numeric"),
        ("onprem:\n  pue: {value: 1.5, unit: ratio, date: last year, source: x}\n", "unreadable date"),
        (
            "onprem:\n  electricity_per_kwh: {value: 0.2, unit: EUR/kWh, date: 2026-01, source: x}\n",
            "catalog uses 'USD/kWh'",
        ),
        ("- just\n- a list\n", "must be a mapping"),
        ("onprem: {pue: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_price_file_is_a_catalog_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        load_prices(_write(tmp_path, text))


def test_missing_price_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="not found"):
        load_prices(tmp_path / "nope.yaml")


def test_stale_flags_depend_on_age_and_threshold() -> None:
    book = load_prices()
    fig = book.get("onprem.electricity_per_kwh")  # dated 2025-04-01
    assert fig.date == date(2025, 4, 1)
    assert fig.is_stale(date(2026, 11, 29), 365)
    assert not fig.is_stale(date(2026, 11, 29), 1000)
    stale_keys = {f.key for f in book.stale(date(2026, 11, 29), 365)}
    assert "onprem.electricity_per_kwh" in stale_keys
    assert "gpus.H100-SXM.rental_on_demand" not in stale_keys  # 2026-07-28
