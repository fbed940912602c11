"""Malformed configs never crash the planner: every outcome is a spec or a one-line ClearanceError."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.errors import ClearanceError
from clearance.plan import PlanOptions, list_models, plan
from clearance.plan.config_reader import spec_from_config

CONFIGS = [m.config for m in list_models()]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**18), 10**18)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=8,
)


def _dicts(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, dict):
        out.append(node)
        for v in node.values():
            out.extend(_dicts(v))
    return out


def _mutate(cfg: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    out = copy.deepcopy(cfg)
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(_dicts(out)))
        if not target:
            continue
        key = data.draw(st.sampled_from(sorted(target)))
        if data.draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = data.draw(JSON_VALUES)
    return out


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(CONFIGS), st.data())
def test_mutated_configs_fail_cleanly_or_plan(cfg: dict[str, Any], data: st.DataObject) -> None:
    bad = _mutate(cfg, data)
    try:
        spec = spec_from_config(bad, origin="config.json")
    except ClearanceError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    try:
        r = plan(spec, PlanOptions(gpu="H200", gpus=8, max_model_len=4096))
    except ClearanceError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert r.weights_bytes > 0 and r.kv_cache_tokens >= 0
