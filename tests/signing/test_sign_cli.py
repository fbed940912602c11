"""CLI: keygen, sign and verify-signature round trip; tampering gives exit 1 with one error line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearance", *args], capture_output=True, text=True, timeout=60
    )


def test_keygen_sign_verify_and_tamper(tmp_path: Path) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"\x00" * 1000)
    res = cli("keygen", str(tmp_path / "keys"), "--json")
    assert res.returncode == 0, res.stderr
    keys = json.loads(res.stdout)
    res = cli("sign", str(model), "--key", keys["private_key"], "--out", str(tmp_path / "m.sig"), "--json")
    assert res.returncode == 0, res.stderr
    res = cli(
        "verify-signature",
        str(model),
        "--sig",
        str(tmp_path / "m.sig"),
        "--key",
        keys["public_key"],
        "--json",
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["verified"] is True
    (model / "config.json").write_text('{"x": 1}')
    res = cli("verify-signature", str(model), "--sig", str(tmp_path / "m.sig"), "--key", keys["public_key"])
    assert res.returncode == 1
    assert "does not match its signature" in res.stderr and "Traceback" not in res.stderr
