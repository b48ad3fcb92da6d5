"""Listeners for egress-policy tests on loopback: a raw TCP listener that counts the
connections it accepts (a refused address must see zero), and a small HTTP file server
bindable on any loopback address (Linux routes all of 127.0.0.0/8 to ``lo``), with
redirects and without Range support."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class CountingListener:
    """A TCP listener on ``host`` that accepts, counts and closes every connection."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = socket.socket()
        self._sock.bind((host, port))
        self._sock.listen(16)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._lock = threading.Lock()
        self._accepted = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def accepted(self) -> int:
        with self._lock:
            return self._accepted

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed
            with self._lock:
                self._accepted += 1
            conn.close()

    def close(self) -> None:
        # close() alone does not wake a thread blocked in accept(); shutdown() does (Linux).
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> CountingListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def file_server(
    root: Path,
    host: str,
    redirects: dict[str, str] | None = None,
    requests: list[str] | None = None,
) -> Iterator[str]:
    """Serve ``root`` on ``host`` (no Range support: always the whole file, 200); a path in
    ``redirects`` answers 302 to its target; each request's path is appended to
    ``requests``. Yields the base URL with a trailing slash."""
    moved = dict(redirects or {})
    seen = requests if requests is not None else []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.path)
            name = self.path.partition("?")[0].lstrip("/")
            if name in moved:
                self.send_response(302)
                self.send_header("Location", moved[name])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path = root / name
            if not name or not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
