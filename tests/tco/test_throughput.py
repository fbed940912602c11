"""The planner adapter: smallest GPU count that fits, throughput at the latency target, not the peak."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from clearance.errors import InputError
from clearance.tco import Workload, from_plan


class _Perf:
    def __init__(self, c: int) -> None:
        self.decode_tokens_per_s = 100.0 / (1.0 + c / 16.0)  # per sequence; ITL <= 50 ms up to c = 64
        self.ttft_s = 0.1 * c / 8.0  # <= 2 s up to c = 160


class _Result:
    def __init__(self, gpus: int, c: int) -> None:
        self.fits = gpus >= 2
        self.max_concurrency = 200 if self.fits else 0
        self.performance = _Perf(c)


@pytest.fixture
def fake_planner(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """A fake ``clearance.plan`` with a known latency curve, recording every (gpus, concurrency) asked."""
    calls: list[tuple[int, int]] = []
    mod: Any = types.ModuleType("clearance.plan")

    class PlanOptions:
        def __init__(self, **kw: Any) -> None:
            self.__dict__.update(kw)

    def plan(spec: object, opts: Any) -> _Result:
        calls.append((opts.gpus, opts.concurrency))
        assert opts.max_model_len >= 700 and opts.gpu == "H100-SXM"
        return _Result(opts.gpus, opts.concurrency)

    mod.PlanOptions = PlanOptions
    mod.plan = plan
    mod.load_spec = lambda source: types.SimpleNamespace(name=str(source))
    monkeypatch.setitem(sys.modules, "clearance.plan", mod)
    return calls


def test_fake_planner_picks_smallest_fit_and_slo_concurrency(fake_planner: list[tuple[int, int]]) -> None:
    w = Workload(requests_per_day=1000, input_tokens=500, output_tokens=200)
    cap = from_plan("m", "H100-SXM", w)
    assert cap.gpus_per_replica == 2 and cap.concurrency == 64
    assert cap.source == "planner estimate" and "concurrency 64" in cap.method
    d, ttft = 100.0 / (1 + 64 / 16), 0.1 * 64 / 8
    assert cap.tokens_per_s == pytest.approx(64 / (ttft + 200 / d) * 200)
    assert (1, 1) in fake_planner and all(c <= 200 for _, c in fake_planner)


def test_fake_planner_tighter_ttft_target_lowers_concurrency(fake_planner: list[tuple[int, int]]) -> None:
    w = Workload(requests_per_day=1000, input_tokens=500, output_tokens=200)
    cap = from_plan("m", "H100-SXM", w, ttft_target_s=0.5)  # 0.1·c/8 <= 0.5 → c <= 40
    assert cap.concurrency == 40


def test_fake_planner_no_fit_is_an_input_error(fake_planner: list[tuple[int, int]]) -> None:
    w = Workload(requests_per_day=1000)
    with pytest.raises(InputError, match="does not fit on 1 × H100-SXM"):
        from_plan("m", "H100-SXM", w, gpus=1)


def test_real_planner_gives_a_positive_capacity_for_a_catalog_model() -> None:
    w = Workload(requests_per_day=50_000, input_tokens=500, output_tokens=300)
    cap = from_plan("Qwen3.5-27B", "H100-SXM", w)
    assert cap.gpus_per_replica >= 1 and cap.tokens_per_s > 0 and cap.concurrency and cap.concurrency >= 1
