"""``FaultProxy``: a TCP proxy on loopback that a test can switch into an outage.

    client --> 127.0.0.1:proxy.port --> FaultProxy --> target host:port

A process configured with the proxy's address instead of a service's reaches the service as
usual until the test calls ``cut()``: every live connection is then aborted (``SO_LINGER`` 0
then close, so both ends see a reset, not an orderly close) and the listening socket is
closed, so new connections are refused, as when a host or a failover drops everyone.
``restore()`` listens again on the same port. ``with proxy.outage(): ...`` does both.

``partition()`` is the silent kind of outage: connections stay open but no byte goes through
in either direction (new ones are accepted and held the same way), as when a network path
drops packets; peers notice only through their own timeouts and heartbeats. ``restore()``
lets the held bytes through again. ``with proxy.partitioned(): ...`` does both.

One asyncio loop in one daemon thread owns every socket, so an outage never races the
copying (the control methods hand their work to that loop and wait for it). Bytes are copied
with back-pressure (``drain``): a slow reader holds at most a few hundred KiB here.

Counters, for assertions: ``accepted`` (connections accepted and forwarded), ``aborted``
(connections reset by an outage), ``live`` (open now). No such server is in the package
registries this project may use, hence this small module.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CONTROL_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0
CHUNK = 64 * 1024
# Linger on, zero seconds: close() discards unsent data and sends RST.
_LINGER_RESET = struct.pack("ii", 1, 0)


class FaultProxy:
    """``FaultProxy(target_host, target_port)``: start with ``with`` (or ``start``/``close``).

    ``port`` is fixed at start and kept across outages; ``address`` is ``host:port``.
    """

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = 0
        self.accepted = 0
        self.aborted = 0
        self._down = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._pairs: set[_Pair] = set()
        self._flowing: asyncio.Event | None = None  # cleared during a partition
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        if self._thread is not None:
            raise RuntimeError("the proxy is already started")
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()
            loop.close()

        if not self.port:
            self.port = _stable_port(self.host)
        self._loop = loop
        self._thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        self._thread.start()
        ready.wait(CONTROL_TIMEOUT)
        self._call(self._listen())
        return self

    def close(self) -> None:
        """Abort every connection and stop listening for good."""
        if self._loop is None or self._thread is None:
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CONTROL_TIMEOUT)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- faults ---------------------------------------------------------------------------

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def live(self) -> int:
        return len(self._pairs)

    @property
    def down(self) -> bool:
        return self._down

    def cut(self) -> int:
        """Start an outage: reset every live connection, refuse new ones. Returns how many
        connections were reset."""
        return self._call(self._cut())

    def restore(self) -> None:
        """End the outage or partition: accept and forward connections again."""
        self._call(self._listen())

    def partition(self) -> None:
        """Start a silent outage: hold every byte, reset nothing, refuse nothing."""
        self._call(self._partition())

    @contextmanager
    def partitioned(self) -> Iterator[FaultProxy]:
        """``partition()`` on entry, ``restore()`` on exit."""
        self.partition()
        try:
            yield self
        finally:
            self.restore()

    @contextmanager
    def outage(self) -> Iterator[FaultProxy]:
        """``cut()`` on entry, ``restore()`` on exit (also when the body raises)."""
        self.cut()
        try:
            yield self
        finally:
            self.restore()

    # -- the loop's side ------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coro.close()
            raise RuntimeError("the proxy is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CONTROL_TIMEOUT)

    def _gate(self) -> asyncio.Event:
        if self._flowing is None:
            self._flowing = asyncio.Event()
            self._flowing.set()
        return self._flowing

    async def _partition(self) -> None:
        self._gate().clear()

    async def _listen(self) -> None:
        self._down = False
        self._gate().set()
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True
        )
        sockets = self._server.sockets
        self.port = sockets[0].getsockname()[1]

    async def _cut(self) -> int:
        self._down = True
        if self._server is not None:
            self._server.close()  # closes the listening socket: new connections are refused
            self._server = None
        pairs = list(self._pairs)
        for pair in pairs:
            pair.abort()
        self.aborted += len(pairs)
        self._pairs.clear()
        return len(pairs)

    async def _shutdown(self) -> None:
        await self._cut()
        # The aborted connections' copies end on the next turns of the loop; let them.
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=CONTROL_TIMEOUT / 2)
            for task in pending:
                task.cancel()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._forward(reader, writer)
        finally:
            self._tasks.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:  # accepted just before the cut: reset it like the others
            _reset(writer)
            return
        await self._gate().wait()  # a partition holds new connections too
        if self._down:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.target), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError):
            _reset(writer)  # the target is down: the client sees a reset, as it would
            return
        if self._down:
            _reset(writer)
            _reset(up_writer)
            return
        self.accepted += 1
        pair = _Pair(writer, up_writer)
        self._pairs.add(pair)
        try:
            gate = self._gate()
            await asyncio.gather(_pipe(reader, up_writer, gate), _pipe(up_reader, writer, gate))
        finally:
            self._pairs.discard(pair)
            pair.close()


def _stable_port(host: str) -> int:
    """A free port below the ephemeral range: while the proxy is down, no outgoing
    connection can be given its port, so ``restore`` can always listen on it again."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port below the ephemeral range")


class _Pair:
    """The client's and the target's side of one proxied connection."""

    def __init__(self, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream = upstream

    def abort(self) -> None:
        _reset(self.client)
        _reset(self.upstream)

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            if not writer.transport.is_closing():
                writer.close()


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, gate: asyncio.Event
) -> None:
    """Copy ``reader`` to ``writer`` until EOF, then half-close ``writer``; stops quietly
    when either side is reset (the other direction's copy ends the same way). While
    ``gate`` is clear, bytes read are held (and reading stops), not dropped."""
    try:
        while data := await reader.read(CHUNK):
            await gate.wait()
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof() and not writer.transport.is_closing():
            writer.write_eof()
    except (OSError, RuntimeError):
        # Reset by a peer or by an outage (RuntimeError: write on a closed transport).
        _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close ``writer``'s socket so that the peer gets RST, not FIN."""
    transport = writer.transport
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    transport.abort()
