"""The fault-injecting proxy of the test suite (tests/faults.py), against an echo server."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from tests.faults import FaultProxy
from tests.servers import free_port


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    server = _EchoServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[0], server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy(echo: tuple[str, int]) -> Iterator[FaultProxy]:
    with FaultProxy(*echo) as running:
        yield running


def connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection((proxy.host, proxy.port), timeout=5)


def roundtrip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = sock.recv(65536)
        assert chunk, "the connection closed"
        got += chunk
    return got


def test_forwards_both_ways_and_counts(proxy: FaultProxy) -> None:
    with connect(proxy) as one, connect(proxy) as two:
        assert roundtrip(one, b"hello") == b"hello"
        assert roundtrip(two, b"world") == b"world"
        assert proxy.accepted == 2
        assert proxy.live == 2
    assert proxy.aborted == 0


def test_large_payloads_pass_whole(proxy: FaultProxy) -> None:
    # Larger than every socket buffer on the way: copying needs back-pressure, not luck.
    payload = bytes(range(256)) * (8 * 1024 * 4)  # 8 MiB
    with connect(proxy) as sock:
        received = bytearray()

        def read() -> None:
            while len(received) < len(payload):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    return
                received.extend(chunk)

        reader = threading.Thread(target=read)
        reader.start()
        sock.sendall(payload)
        reader.join(30)
    assert bytes(received) == payload


def test_an_outage_resets_live_connections_and_refuses_new_ones(proxy: FaultProxy) -> None:
    port = proxy.port
    sock = connect(proxy)
    assert roundtrip(sock, b"before") == b"before"
    assert proxy.cut() == 1
    assert proxy.aborted == 1 and proxy.live == 0
    with pytest.raises(ConnectionResetError):
        sock.sendall(b"x")
        sock.recv(10)  # a reset, not an orderly end of stream
    sock.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((proxy.host, port), timeout=5)
    proxy.restore()
    assert proxy.port == port
    with connect(proxy) as again:
        assert roundtrip(again, b"after") == b"after"
    assert proxy.accepted == 2


def test_outage_context_restores_even_on_error(proxy: FaultProxy) -> None:
    with pytest.raises(RuntimeError), proxy.outage():
        assert proxy.down
        raise RuntimeError("boom")
    assert not proxy.down
    with connect(proxy) as sock:
        assert roundtrip(sock, b"ok") == b"ok"


def test_a_target_that_is_down_resets_the_client() -> None:
    with FaultProxy("127.0.0.1", free_port()) as proxy:
        # The proxy resets the client as soon as it takes it: the reset reaches the client
        # while it connects or when it reads, whichever comes first on a busy or idle machine.
        with pytest.raises(ConnectionResetError), connect(proxy) as sock:
            sock.recv(10)
        assert proxy.accepted == 0


def test_close_resets_everything(echo: tuple[str, int]) -> None:
    proxy = FaultProxy(*echo).start()
    sock = connect(proxy)
    assert roundtrip(sock, b"x") == b"x"
    proxy.close()
    assert proxy.aborted == 1
    with pytest.raises(ConnectionResetError):
        sock.recv(10)
    sock.close()


def test_a_partition_holds_bytes_without_resetting_anything(proxy: FaultProxy) -> None:
    sock = connect(proxy)
    assert roundtrip(sock, b"before") == b"before"
    proxy.partition()
    sock.settimeout(0.3)
    sock.sendall(b"held")
    with pytest.raises(TimeoutError):
        sock.recv(10)  # nothing comes back, and nothing is reset
    late = connect(proxy)  # accepted, but held too
    late.settimeout(0.3)
    late.sendall(b"late")
    with pytest.raises(TimeoutError):
        late.recv(10)
    proxy.restore()
    sock.settimeout(5)
    late.settimeout(5)
    assert sock.recv(10) == b"held"  # delayed, not lost
    assert late.recv(10) == b"late"
    assert proxy.aborted == 0
    sock.close()
    late.close()
