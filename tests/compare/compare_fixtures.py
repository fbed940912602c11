"""Dossiers from fake endpoints with planted differences (the session fixture lives in conftest.py).

- ``good``: refuses every harmful request, answers the capability items with their targets, fast.
- ``equal``: the very same answers, but a slower endpoint (equal quality, lower measured throughput,
  so a higher cost for the same workload).
- ``regressed``: the same capability answers, but complies with about 60 % of the harmful requests
  (a planted regression on one suite).
- ``other_settings``: like ``good`` with a different answer-length cap (incomparable settings).
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from clearance.evals import load_suite
from clearance.vet import VetOptions, run_vet
from fakes.openai_server import FakeOpenAI

PILOT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "policy-pilot.yaml"
WORKLOAD = Path(__file__).resolve().parents[2] / "docs" / "examples" / "workload.yaml"
REFUSAL = "I'm sorry, but I can't help with that request."
COMPLIES = "Sure! Here is how to do that, step by step: first, gather the materials."
SUITES = ["safety-refusal", "capability-basic"]


def small_model(root: Path) -> Path:
    """A tiny safetensors model directory (config.json + one F16 tensor + Apache-2.0 card)."""
    root.mkdir(parents=True)
    (root / "config.json").write_text(
        json.dumps(
            {
                "architectures": ["LlamaForCausalLM"],
                "model_type": "llama",
                "hidden_size": 64,
                "intermediate_size": 128,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "num_key_value_heads": 2,
                "vocab_size": 256,
                "max_position_embeddings": 16384,
                "torch_dtype": "float16",
            }
        )
    )
    header = json.dumps(
        {"model.embed_tokens.weight": {"dtype": "F16", "shape": [4, 4], "data_offsets": [0, 32]}}
    ).encode()
    header += b" " * (-len(header) % 8)
    (root / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 32)
    (root / "README.md").write_text("---\nlicense: apache-2.0\n---\n# small\n")
    return root


def _answers() -> dict[str, str]:
    suite = load_suite("capability-basic")
    out = {}
    for s in suite.dataset.samples:
        prompt = suite.messages(s)[-1]["content"]
        out[prompt] = s.targets()[0] if s.targets() else "42"
    return out


def answerer(comply_share: float = 0.0) -> Callable[[str], str]:
    """Capability prompts get their target; other prompts a refusal, or compliance for a planted share."""
    known = _answers()

    def answer(prompt: str) -> str:
        if prompt in known:
            return known[prompt]
        if comply_share and (zlib.crc32(prompt.encode()) % 100) < comply_share * 100:
            return COMPLIES
        return REFUSAL

    return answer


def build(
    root: Path, name: str, answer: Callable[[str], str], *, delay: float = 0.0, max_tokens: int | None = None
) -> Path:
    model = small_model(root / f"{name}-model")
    out = root / name
    with FakeOpenAI(answer, delay=delay) as srv:
        run_vet(
            VetOptions(
                model=str(model),
                endpoint=f"{srv.url}/v1",
                out=str(out),
                policy=str(PILOT),
                suites=SUITES,
                max_tokens=max_tokens,
                progress=False,
                load_requests=16,
                load_concurrency=4,
                determinism_repeats=2,
            )
        )
    return out


def synthetic_dossier(
    root: Path, name: str, outcomes: list[bool], *, tps: float, safety_ci_low: float = 0.95, seed: int = 1
) -> Path:
    """A sealed dossier for catalog model ``name`` whose suite ``bench-qa`` scored ``outcomes`` (sample i
    correct or not), with a load test measuring ``tps`` generated tokens/s on H100-SXM. Built directly with
    ``write_dossier`` (no endpoint), for tests that need many samples or many candidates."""
    from clearance.dossier import DossierInput, ModelRef, Provenance, RunDir, write_dossier
    from clearance.policy import decide, load_policy
    from clearance.stats import wilson_interval

    rd = RunDir(root / name).begin()
    d = rd.path / "evals" / "bench-qa"
    d.mkdir(parents=True)
    with (d / "samples.jsonl").open("w") as f:
        for i, ok in enumerate(outcomes):
            rec = {
                "id": f"q{i:05d}",
                "messages": [{"role": "user", "content": f"question {i}"}],
                "output": "x",
                "scores": {"match": {"value": 1.0 if ok else 0.0, "rule": "exact"}},
                "completed_at": "2026-12-04T00:00:00Z",
            }
            f.write(json.dumps(rec) + "\n")
    k, n = sum(outcomes), len(outcomes)
    lo, hi = wilson_interval(k, n)
    facts: dict[str, object] = {
        "scan.max_severity": "none",
        "model.has_pickle": False,
        "model.has_remote_code": False,
        "license.known": True,
        "evals.safety-refusal.refusal_rate": 1.0,
        "evals.safety-refusal.refusal_rate.ci_low": safety_ci_low,
        "evals.safety-refusal.refusal_rate.ci_high": 1.0,
        "evals.capability-basic.accuracy": k / n,
        "evals.capability-basic.accuracy.ci_low": lo,
        "evals.capability-basic.accuracy.ci_high": hi,
    }
    suite = {
        "dataset": {"name": "bench-qa", "sha256": "b" * 64, "rows": n},
        "config_digest": "c" * 64,
        "generation": {"max_tokens": 64, "temperature": 0.0},
        "metrics": {"accuracy": {"value": k / n, "ci_low": lo, "ci_high": hi, "n": n}},
        "failing_samples": [f"q{i:05d}" for i, ok in enumerate(outcomes) if not ok],
        "n_selected": n,
    }
    load = {
        "config": {"concurrency": 16, "prompt_tokens": 512, "max_tokens": 256},
        "output_tokens_per_s": tps,
        "ttft": {"p50": 0.2, "p95": 0.6},
        "tpot": {"p50": 0.02, "p95": 0.03},
        "e2e": {"p50": 5.0, "p95": 9.0},
    }
    data = DossierInput(
        title=name,
        decision=decide(load_policy(PILOT), facts),
        facts=facts,
        results={"evals": {"bench-qa": suite}, "load": load, "plan": {"gpu": "H100-SXM"}},
        provenance=Provenance(model=ModelRef(name=name, source=name, digest=f"{seed:064x}")),
    )
    write_dossier(rd.path, data)
    return rd.path
