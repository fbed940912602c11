"""Capacity planner: exact memory where possible, labelled estimates elsewhere, for current LLM architectures.

Public surface::

    from clearance.plan import load_spec, plan, PlanOptions, PlanResult, fit_search, ServingTarget, render_charts
    spec = load_spec("Qwen3.5-27B")               # catalog name, model dir, config.json or .gguf
    result = plan(spec, PlanOptions(gpu="H100-SXM", gpus=2, max_model_len=32768, concurrency=16))
    result.policy_facts()                          # {"plan.fits": True, ...}
"""

from __future__ import annotations

from clearance.plan.catalog import CatalogModel, get_model, list_models
from clearance.plan.charts import render_charts
from clearance.plan.fit import FitOption, ServingTarget, fit_search
from clearance.plan.gpus import GPU, get_gpu, list_gpus, load_gpu_catalog
from clearance.plan.planner import MemoryBudget, PlanOptions, PlanResult, load_spec, plan, valid_tp
from clearance.plan.spec import LayerKind, ModelSpec

__all__ = [
    "GPU",
    "CatalogModel",
    "FitOption",
    "LayerKind",
    "MemoryBudget",
    "ModelSpec",
    "PlanOptions",
    "PlanResult",
    "ServingTarget",
    "fit_search",
    "get_gpu",
    "get_model",
    "list_gpus",
    "list_models",
    "load_gpu_catalog",
    "load_spec",
    "plan",
    "render_charts",
    "valid_tp",
]
