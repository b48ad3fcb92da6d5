"""A webhook receiver on loopback: an ``http.server`` thread that records every POST and
answers with whatever ``respond`` says (default 200)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    at: float  # time.time() on arrival

    @property
    def document(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


class Receiver:
    """``with Receiver() as hook: ... hook.url ...``; ``respond(n)`` gives the status of the
    n-th request (0-based)."""

    def __init__(self, respond: Callable[[int], int] | None = None) -> None:
        self.respond = respond or (lambda _n: 200)
        self.received: list[Received] = []
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    status = receiver.respond(len(receiver.received))
                    receiver.received.append(
                        Received(self.path, dict(self.headers), body, status, time.time())
                    )
                    receiver._lock.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def wait_accepted(self, count: int, timeout: float) -> list[Received]:
        """Block until ``count`` requests were answered 2xx; fails after ``timeout`` s."""
        with self._lock:
            ok = self._lock.wait_for(
                lambda: sum(1 for r in self.received if 200 <= r.status < 300) >= count, timeout
            )
        got = self.accepted()
        assert ok, f"{len(got)} of {count} requests accepted in {timeout} s"
        return got
