"""GPU / accelerator catalog: memory, usable memory, bandwidth, compute, power, interconnect.

The built-in table lives in ``plan/data/gpus.yaml`` (every entry names its source). A user extends or
overrides it with a YAML file of the same shape (``load_gpu_catalog(path)`` or ``--gpu-catalog FILE``).
Lookup is case-insensitive and accepts aliases (``h100`` → ``H100-SXM``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from clearance.errors import CatalogError

GIB = 1 << 30


InterconnectKind = Literal["nvlink", "nvlink-bridge", "infinity-fabric", "pcie", "thunderbolt"]


class GPU(BaseModel):
    """One accelerator model as the planner sees it (bytes, bytes/s, FLOP/s, watts)."""

    name: str
    aliases: list[str] = Field(default_factory=list)
    vendor: str = "nvidia"
    memory_gib: float = Field(gt=0)
    usable_gib: float | None = None
    usable_source: str = "derived"
    bandwidth_gbs: float = Field(gt=0)
    bf16_tflops: float = Field(gt=0)
    fp8_tflops: float | None = None
    int8_tops: float | None = None
    tdp_watts: float = Field(gt=0)
    interconnect: str = ""
    interconnect_kind: InterconnectKind = "pcie"
    interconnect_gbs: float = 64.0
    compute_capability: str | None = None  # NVIDIA SM version, "9.0" for Hopper; None for other vendors
    source: str = ""

    @property
    def memory_bytes(self) -> int:
        """Installed memory in bytes (HBM/GDDR capacity, GiB-based)."""
        return int(self.memory_gib * GIB)

    @property
    def usable_bytes(self) -> int:
        """Total memory the runtime reports (the figure serving engines multiply by their fraction)."""
        gib = self.usable_gib if self.usable_gib is not None else self.memory_gib * 0.99
        return int(gib * GIB)

    @property
    def bandwidth(self) -> float:
        """Memory bandwidth in bytes per second."""
        return self.bandwidth_gbs * 1e9

    @property
    def bf16_flops(self) -> float:
        """Dense bf16/fp16 tensor peak in FLOP/s."""
        return self.bf16_tflops * 1e12

    @property
    def fp8_flops(self) -> float:
        """Dense fp8 tensor peak in FLOP/s (bf16 peak when the device has no fp8 units)."""
        return (self.fp8_tflops or self.bf16_tflops) * 1e12

    @property
    def link_bandwidth(self) -> float:
        """One-direction GPU-to-GPU bandwidth in bytes per second (half the bidirectional figure)."""
        return self.interconnect_gbs * 1e9 / 2

    @property
    def tdp(self) -> float:
        """Board power in watts (alias used by cost models)."""
        return self.tdp_watts

    @property
    def sm(self) -> tuple[int, int] | None:
        """The NVIDIA compute capability as ``(major, minor)``, or ``None``."""
        if not self.compute_capability:
            return None
        major, _, minor = self.compute_capability.partition(".")
        return int(major), int(minor or 0)

    @property
    def has_fp8(self) -> bool:
        """Whether the device has fp8 tensor units (a catalog figure for fp8 throughput)."""
        return self.fp8_tflops is not None

    @property
    def gpu_link(self) -> bool:
        """A direct GPU-to-GPU fabric across the whole node (NVLink/NVSwitch, Infinity Fabric), not a bridge."""
        return self.interconnect_kind in ("nvlink", "infinity-fabric")

    @property
    def fast_link(self) -> bool:
        """A GPU-to-GPU link faster than PCIe between at least pairs of GPUs (fabric or bridge)."""
        return self.interconnect_kind in ("nvlink", "nvlink-bridge", "infinity-fabric")

    @property
    def is_apple(self) -> bool:
        """Unified-memory Apple silicon (served by llama.cpp / MLX, not vLLM)."""
        return self.vendor == "apple"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _parse_catalog(data: Any, origin: str) -> list[GPU]:
    if not isinstance(data, dict) or not isinstance(data.get("gpus"), list):
        raise CatalogError(f"{origin}: a GPU catalog must be a mapping with a 'gpus' list")
    out: list[GPU] = []
    for i, entry in enumerate(data["gpus"]):
        try:
            out.append(GPU.model_validate(entry))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise CatalogError(f"{origin}: gpus[{i}].{field}: {err['msg']}") from None
    return out


@lru_cache(maxsize=1)
def _builtin() -> tuple[GPU, ...]:
    text = resources.files("clearance.plan").joinpath("data/gpus.yaml").read_text(encoding="utf-8")
    return tuple(_parse_catalog(yaml.safe_load(text), "built-in gpus.yaml"))


_user: dict[str, GPU] = {}


def load_gpu_catalog(path: str | Path) -> list[GPU]:
    """Add (or override) GPUs from a user YAML file of the same shape as ``plan/data/gpus.yaml``."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"{p}: cannot read GPU catalog: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{p}: not valid YAML: {exc}") from None
    gpus = _parse_catalog(data, str(p))
    for g in gpus:
        _user[_norm(g.name)] = g
    return gpus


def list_gpus() -> list[GPU]:
    """All GPUs in the catalog (built-in, then user additions; user entries override by name)."""
    merged: dict[str, GPU] = {_norm(g.name): g for g in _builtin()}
    merged.update(_user)
    return list(merged.values())


def get_gpu(name: str) -> GPU:
    """Look a GPU up by canonical name or alias, case-insensitively; ``CatalogError`` when unknown."""
    key = _norm(name)
    for g in reversed(list_gpus()):
        if _norm(g.name) == key or key in {_norm(a) for a in g.aliases}:
            return g
    names = ", ".join(g.name for g in list_gpus())
    raise CatalogError(f"unknown GPU {name!r}; known: {names} (add your own with --gpu-catalog FILE)")
