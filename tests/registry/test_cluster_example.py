"""The cluster example of docs/scale.md, tested: Clearance drives several replicas through a router (here a
fake router in front of fake replicas) and records the run in a registry on a real PostgreSQL server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_fixtures import PgServer

from clearance.cli import main
from fakes.replicas import FakeReplica, FakeRouter

REFUSAL = "I'm sorry, but I can't help with that."


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as ei:
        main(list(args))
    out, _ = capsys.readouterr()
    code = ei.value.code
    return (code if isinstance(code, int) else 0), out


def test_vet_through_a_fake_router_into_a_postgresql_registry(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    pg_server: PgServer,
    keys: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(
        json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}), encoding="utf-8"
    )
    replicas = [FakeReplica(answer=REFUSAL, delay=0.005), FakeReplica(answer=REFUSAL, delay=0.005)]
    with FakeRouter(replicas) as router:
        code, out = cli(
            capsys,
            "vet",
            str(model),
            "-e",
            router.url,
            "--suites",
            "safety-refusal",
            "--limit",
            "20",
            "--out",
            str(tmp_path / "run"),
            "--key",
            str(keys["runner"]),
            "--json",
        )
    assert code in (0, 1, 3), out
    result = json.loads(out)
    # the router spread the run over both replicas; Clearance only ever saw the router's URL
    assert all(n > 5 for n in router.forwarded) and all(r.served > 0 for r in replicas)
    dossier = tmp_path / "run"
    assert json.loads((dossier / "dossier.json").read_text())["provenance"]["endpoint"]["url"] == (
        f"{router.url}/v1"
    )
    url = pg_server.new_database()
    monkeypatch.setenv("CLEARANCE_REGISTRY_KEY", str(keys["registry"]))
    admin = ["--admin-key", str(keys["admin"]), "--registry", url]
    assert cli(capsys, "registry", "init", "--admin", "erin", *admin)[0] == 0
    runner = str(keys["runner"].with_suffix(".pub"))
    assert cli(capsys, "registry", "enrol", runner, "--person", "ci", "--role", "run-signer", *admin)[0] == 0
    code, out = cli(capsys, "registry", "add", str(dossier), "--registry", url, "--json")
    assert code == 0, out
    run = json.loads(out)
    assert run["decision"] == result["decision"]["status"] and run["signer_person"] == "ci"
    code, out = cli(capsys, "registry", "list", "--registry", url, "--json")
    assert code == 0 and len(json.loads(out)) == 1
