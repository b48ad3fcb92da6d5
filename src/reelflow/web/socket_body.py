"""A large upload's body read straight from its socket by the thread that stores it.

Through ASGI every piece of a body costs the event loop a turn: a ``recv`` into a new
buffer, a copy by the HTTP parser, two more by uvicorn, a pause and a resume of reading,
and a hand-over to the storing thread. For a 1 GiB upload that is 4000-16000 turns and
most of the server's time. :class:`UploadHttpProtocol` (uvicorn's httptools protocol,
given to ``uvicorn.Config(http=...)``) therefore offers each request that declares a
``Content-Length`` of at least ``MIN_LENGTH`` bytes a :class:`BodySocket` in
``scope["extensions"]``. An upload route may :meth:`~BodySocket.take` it before reading
anything: the loop stops reading the connection, and the storing thread receives the rest
of the body from the socket itself into its own buffer (:class:`SocketBody`).

What a taken body keeps from the ASGI path: exactly ``Content-Length`` bytes are read (the
limit middleware has refused a larger declared length already); a client gone before the
end raises ``ClientDisconnect``, one that sends nothing for ``idle`` seconds
``RequestTimeout`` (408), and waiting for storage never counts as idleness; memory is the
reader's buffer. What changes: the HTTP parser never sees the rest of the body, so the
connection is closed after the response (``Connection: close``); a client sends its next
request on a new connection. Bodies sent chunked, over TLS, or under ``MIN_LENGTH`` take
the ASGI path.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from starlette.requests import ClientDisconnect
from starlette.types import Scope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from reelflow.storage.base import FillingStream
from reelflow.web.errors import RequestTimeout

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

EXTENSION = "reelflow.body_socket"
MIN_LENGTH = 1024 * 1024


class SocketBody(FillingStream):
    """The rest of a request body: what the parser had already received (``head``), then
    ``remaining`` bytes from ``sock``. Read by one thread, best with ``readinto`` (local
    buckets do: no allocation per read); :meth:`close` closes ``sock`` (a duplicate of the
    connection's descriptor: the connection itself stays open)."""

    def __init__(self, head: bytes, sock: socket.socket, remaining: int, idle: float) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._sock = sock
        self._remaining = remaining
        self._idle = idle

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        if self._head:
            piece = bytes(self._head[:size])
            self._head = self._head[len(piece) :]
            return piece
        if size == 0 or self._remaining == 0:
            return b""
        with self._receiving():
            piece = self._sock.recv(min(size, self._remaining))
        self._got(len(piece))
        return piece

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            count = min(len(view), len(self._head))
            view[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        if not view or self._remaining == 0:
            return 0
        with self._receiving():
            count = self._sock.recv_into(view[: self._remaining])
        self._got(count)
        return count

    @contextmanager
    def _receiving(self) -> Iterator[None]:
        try:
            yield
        except TimeoutError:
            raise RequestTimeout(self._idle) from None
        except OSError as exc:  # reset by the peer, or the like
            raise ClientDisconnect() from exc

    def _got(self, count: int) -> None:
        if not count:
            raise ClientDisconnect()  # the client closed the connection before the end
        self._remaining -= count

    def close(self) -> None:
        if not self.closed:
            self._sock.close()
        super().close()


class BodySocket:
    """A request's offer to read the rest of its body from the socket (see the module)."""

    def __init__(self, protocol: UploadHttpProtocol, length: int) -> None:
        self._protocol = protocol
        self._cycle = protocol.cycle
        self._length = length

    def take(self, idle: float) -> SocketBody | None:
        """The rest of the body, to be read in one worker thread; or None when the body
        can no longer be taken (already read in part, complete, or the client gone), and
        is read the ASGI way. Call it on the event loop, before anything reads the body;
        once it returned a body nothing may call the request's ``receive`` again."""
        protocol, cycle = self._protocol, self._cycle
        if (
            protocol.cycle is not cycle
            or not cycle.more_body
            or cycle.disconnected
            or cycle.response_started
            or protocol.transport.is_closing()
            or protocol.body_received != len(cycle.body)  # someone read part of it
            or protocol.body_received >= self._length
        ):
            return None
        transport_socket = protocol.transport.get_extra_info("socket")
        if transport_socket is None:
            return None
        try:
            sock = socket.socket(fileno=os.dup(transport_socket.fileno()))
        except OSError:
            return None  # out of descriptors, say: the ASGI way still works
        # A timeout keeps the descriptor non-blocking (as the transport needs it) and
        # makes every receive wait at most `idle` seconds for the client.
        sock.settimeout(idle)
        if cycle.waiting_for_100_continue:
            protocol.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            cycle.waiting_for_100_continue = False
        protocol.flow.pause_reading()  # the loop no longer reads this connection
        head = bytes(cycle.body)
        cycle.body = bytearray()
        # The parser never sees the rest of the body, so it cannot find the next request.
        cycle.keep_alive = False
        return SocketBody(head, sock, self._length - len(head), idle)


class UploadHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, offering a large declared body a :class:`BodySocket`."""

    body_received = 0

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self.body_received = 0
        length = _declared_length(self.headers)
        if length is None or length < MIN_LENGTH or self.scheme != "http":
            return
        if self.cycle is None or self.cycle.scope is not self.scope:
            return  # an upgrade, or nothing started
        extensions = self.scope.setdefault("extensions", {})
        extensions[EXTENSION] = {"offer": BodySocket(self, length)}

    def on_body(self, body: bytes) -> None:
        self.body_received += len(body)
        super().on_body(body)


def body_socket(scope: Scope) -> BodySocket | None:
    """The request's :class:`BodySocket`, if its server offers one."""
    offer = scope.get("extensions", {}).get(EXTENSION)
    return None if offer is None else offer.get("offer")


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    length = None
    for name, value in headers:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            if length is not None or not value.isdigit():
                return None
            length = int(value)
    return length
