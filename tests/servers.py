"""Servers for tests on loopback: a free port, the API's app under uvicorn in a thread of
this process, and what the big-upload tests send it while :class:`PeakRss` watches this
process's memory."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from reelflow.config import Settings
from reelflow.web.socket_body import UploadHttpProtocol
from reelflow.wiring.http import create_app
from reelflow.wiring.server import build_server

SIZE = 200 * 1024 * 1024
CHUNK = 1024 * 1024
# Generous: buffers of uvicorn, the reader and storage are a few MiB; a server that held the
# body would grow by 200 MiB or more.
MAX_GROWTH = 48 * 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    """A port nothing listens on now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def in_process_server(data_dir: Path) -> Iterator[tuple[str, str]]:
    """(base URL, admin secret) of a server on ``data_dir`` running in a thread of this
    process (whose memory a test can watch)."""
    with build_server(Settings(data_dir=data_dir)) as runtime:
        assert runtime.admin_key is not None
        config = uvicorn.Config(
            create_app(runtime), log_level="warning", lifespan="off", http=UploadHttpProtocol
        )
        srv = uvicorn.Server(config)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not srv.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}", runtime.admin_key.secret_key
        finally:
            srv.should_exit = True
            thread.join(timeout=10)
            sock.close()


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakRss:
    """Samples this process's resident memory every few milliseconds in a thread."""

    def __init__(self) -> None:
        self.baseline = rss()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def big_body(digest: hashlib._Hash) -> Iterator[bytes]:
    """``SIZE`` bytes in ``CHUNK``-sized chunks, each fed to ``digest`` as it is sent."""
    block = bytes(range(256)) * (CHUNK // 256)
    for i in range(SIZE // CHUNK):
        chunk = block[i % 256 :] + block[: i % 256]
        digest.update(chunk)
        yield chunk
