"""A fake OpenAI-compatible server on 127.0.0.1 for vet tests: always refuses, or answers garbage."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _handler(answer: str, delay_s: float) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def _send(self, obj: object) -> None:
            body = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._send({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

        def do_POST(self) -> None:
            time.sleep(delay_s)
            n = int(self.headers.get("Content-Length", "0"))
            req = json.loads(self.rfile.read(n) or b"{}")
            if req.get("stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for tok in answer.split(" "):
                    chunk = {
                        "id": "x",
                        "model": "fake-model",
                        "choices": [{"index": 0, "delta": {"content": tok + " "}}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                fin = {
                    "id": "x",
                    "model": "fake-model",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
                }
                self.wfile.write(f"data: {json.dumps(fin)}\n\ndata: [DONE]\n\n".encode())
                return
            self._send(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "model": "fake-model",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": answer},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
                }
            )

    return H


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up mid-answer (Ctrl-C tests) are expected


@contextmanager
def fake_server(
    answer: str = "I'm sorry, but I can't help with that request.", delay_s: float = 0.0
) -> Iterator[str]:
    """Serve a fake OpenAI API that gives the same ``answer`` to every request (after ``delay_s``); yields the URL."""
    srv = _QuietServer(("127.0.0.1", 0), _handler(answer, delay_s))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    finally:
        srv.shutdown()
        srv.server_close()
