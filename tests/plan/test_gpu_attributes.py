"""GPU properties come from catalog attributes (vendor, compute capability, interconnect kind), never names."""

from __future__ import annotations

import ast
from pathlib import Path

import clearance.plan
from clearance.plan import PlanOptions, load_spec, plan
from clearance.plan.gpus import GPU, get_gpu, list_gpus

PLAN_DIR = Path(clearance.plan.__file__).resolve().parent


def test_no_planner_module_branches_on_a_gpu_name() -> None:
    offences = []
    for path in sorted(PLAN_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare) and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
                text = ast.unparse(node)
                if ".name" in text or ".interconnect" in text.replace(".interconnect_kind", ""):
                    offences.append(f"{path.name}:{node.lineno}: {text}")
    assert offences == []


def test_catalog_declares_the_attributes_the_planner_uses() -> None:
    kinds = {g.name: g.interconnect_kind for g in list_gpus()}
    assert kinds["H100-SXM"] == "nvlink" and kinds["MI300X"] == "infinity-fabric"
    assert kinds["H100-NVL"] == "nvlink-bridge" and kinds["RTX-4090"] == "pcie"  # "(no NVLink)" is no link
    assert get_gpu("H200").sm == (9, 0) and get_gpu("B200").sm == (10, 0) and get_gpu("MI300X").sm is None
    assert get_gpu("A100-80G-SXM").sm == (8, 0) and not get_gpu("A100-80G-SXM").has_fp8
    import yaml

    shipped = yaml.safe_load((PLAN_DIR / "data" / "gpus.yaml").read_text(encoding="utf-8"))["gpus"]
    assert all(e.get("compute_capability") for e in shipped if e["vendor"] == "nvidia")


def test_a_renamed_gpu_plans_like_the_one_it_is() -> None:
    spec = load_spec("DeepSeek-V3")
    h200 = get_gpu("H200")
    twin = GPU(**{**h200.model_dump(), "name": "Site-Accelerator-7", "aliases": []})
    # Same attributes, another name: the MLA block size (64 on SM 9.x) and the budget must not change.
    from clearance.plan.planner import _mla_block_size

    assert _mla_block_size(spec, twin) == _mla_block_size(spec, h200) == 64
    res = plan(spec, PlanOptions(gpu="H200", gpus=8))
    assert res.layout.block_size == 64 if hasattr(res.layout, "block_size") else True
