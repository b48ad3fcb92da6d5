"""Bridges between the event loop's async byte streams and blocking storage code.

Storage is blocking (``Storage.put_upload`` reads a file-like object; ``open_read``
returns one), the request body is an async iterator. :func:`store_body` therefore runs the
storage call in a worker thread that reads from a :class:`ChunkPipe`, and feeds the pipe
from the event loop as the body arrives. The loop hands chunks over without waiting for
the thread (no round trip per chunk), and waits only when ``limit`` bytes are in flight:
memory stays flat whatever the size of the upload, and the server's flow control holds
the client back while storage is busy.

An upload holds its thread for as long as its client keeps sending, so uploads have their
own threads: at most ``UPLOAD_SLOTS`` are stored at once, and those beyond wait, unread,
for a slot. Neither slow clients nor many of them can take the threads that the API's other
routes run on (anyio's default limiter); a client that sends nothing for ``IDLE_TIMEOUT``
seconds loses its upload (``RequestTimeout``, 408), so stalled clients cannot keep the
slots either.
"""

from __future__ import annotations

import asyncio
import io
import queue
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, BinaryIO, TypeVar, cast
from weakref import WeakKeyDictionary

from anyio import CancelScope, CapacityLimiter, to_thread

from reelflow.web.errors import RequestTimeout
from reelflow.web.socket_body import BodySocket

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

READ_CHUNK = 256 * 1024
PIPE_LIMIT = 4 * 1024 * 1024
UPLOAD_SLOTS = 32
IDLE_TIMEOUT = 60.0

T = TypeVar("T")


class _End:
    """Queued after the last chunk."""


class _Failed:
    """Queued when the body failed: the reader raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class ChunkPipe(io.RawIOBase):
    """Chunks put by the event loop, read as a file by one worker thread.

    ``read(n)`` returns up to ``n`` bytes (a whole chunk, uncopied, when it fits) and
    ``b""`` at the end; it raises what the body raised, so the storage call aborts and
    leaves nothing behind. Once the reader has stopped (:meth:`reader_done`), puts are
    dropped and never wait.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int = PIPE_LIMIT) -> None:
        super().__init__()
        self._loop = loop
        self._limit = limit
        self._queue: queue.SimpleQueue[bytes | _End | _Failed] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._waiter: asyncio.Future[None] | None = None
        self._reader_gone = False
        self._rest = memoryview(b"")
        self._ended: _End | _Failed | None = None

    # -- the event loop's side ------------------------------------------------------------

    async def put(self, chunk: bytes) -> None:
        """Hand ``chunk`` to the reader; wait while more than ``limit`` bytes are queued."""
        if not chunk:
            return
        with self._lock:
            if self._reader_gone:
                return
            self._in_flight += len(chunk)
            waiter = None
            if self._in_flight > self._limit:
                waiter = self._waiter = self._loop.create_future()
        self._queue.put(chunk)
        if waiter is not None:
            await waiter

    def end(self) -> None:
        self._queue.put(_End())

    def fail(self, error: BaseException) -> None:
        self._queue.put(_Failed(error))

    # -- the worker thread's side ---------------------------------------------------------

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1 << 30), b""))
        if size == 0:
            return b""
        if not self._rest:
            item = self._next()
            if item is None:
                return b""
            if len(item) <= size:
                self._consumed(len(item))
                return item
            self._rest = memoryview(item)
        piece = bytes(self._rest[:size])
        self._rest = self._rest[size:]
        self._consumed(len(piece))
        return piece

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        piece = self.read(len(view))
        view[: len(piece)] = piece
        return len(piece)

    def reader_done(self) -> None:
        """The reader stops (finished or failed): release the loop if it is waiting."""
        with self._lock:
            self._reader_gone = True
            self._wake()

    def _next(self) -> bytes | None:
        if self._ended is None:
            item = self._queue.get()
            if isinstance(item, bytes):
                return item
            self._ended = item
        if isinstance(self._ended, _Failed):
            raise self._ended.error
        return None

    def _consumed(self, count: int) -> None:
        with self._lock:
            self._in_flight -= count
            if self._in_flight <= self._limit // 2:
                self._wake()

    def _wake(self) -> None:
        # Called with the lock held.
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self._loop.call_soon_threadsafe(_resolve, waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _Slots:
    """One event loop's upload slots, and the threads that go with them."""

    def __init__(self) -> None:
        self.uploads = CapacityLimiter(UPLOAD_SLOTS)
        # As many as slots, so a thread is always free for an upload that has a slot.
        self.threads = CapacityLimiter(UPLOAD_SLOTS)


_slots: WeakKeyDictionary[asyncio.AbstractEventLoop, _Slots] = WeakKeyDictionary()


def _slots_of(loop: asyncio.AbstractEventLoop) -> _Slots:
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = _Slots()
    return slots


async def store_body(
    chunks: AsyncIterator[bytes],
    store: Callable[[BinaryIO], T],
    body_socket: BodySocket | None = None,
) -> T:
    """Run ``store(reader)`` in a worker thread while feeding ``reader`` with ``chunks``,
    once an upload slot is free (the body is not read before). With ``body_socket`` (the
    request's offer, see ``reelflow.web.socket_body``) the thread reads the body from the
    connection itself instead, when it can still be taken; ``chunks`` is then never read.

    An error of the body (client gone, body too large, ``RequestTimeout`` after
    ``IDLE_TIMEOUT`` s without data) reaches the reader, so ``store`` aborts; it is then
    raised here. An error of ``store`` is raised here too, and the rest of the body is not
    read.
    """
    slots = _slots_of(asyncio.get_running_loop())
    async with slots.uploads:
        body = None if body_socket is None else body_socket.take(IDLE_TIMEOUT)
        if body is not None:
            with body:
                return await to_thread.run_sync(store, cast(BinaryIO, body), limiter=slots.threads)
        return await _store(chunks, store, slots.threads, IDLE_TIMEOUT)


class _IdleWatch:
    """Cancels ``scope`` once the client was waited for ``seconds`` without a chunk.

    One timer per upload, not one per chunk: it fires at most every ``seconds`` and looks
    at when the wait began. Waiting for storage (a full pipe) never counts.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float, scope: CancelScope):
        self._loop = loop
        self._seconds = seconds
        self._scope = scope
        self._since = loop.time()
        self._waiting = False
        self.expired = False
        self._timer: asyncio.TimerHandle | None = loop.call_later(seconds, self._check)

    def wait_for_client(self, waiting: bool) -> None:
        self._waiting = waiting
        if waiting:
            self._since = self._loop.time()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        idle = self._loop.time() - self._since
        if self._waiting and idle >= self._seconds:
            self.expired = True
            self._timer = None
            self._scope.cancel()
            return
        delay = self._seconds - idle if self._waiting else self._seconds
        self._timer = self._loop.call_later(delay, self._check)


async def _store(
    chunks: AsyncIterator[bytes],
    store: Callable[[BinaryIO], T],
    threads: CapacityLimiter,
    idle_seconds: float,
) -> T:
    loop = asyncio.get_running_loop()
    pipe = ChunkPipe(loop, PIPE_LIMIT)

    def run() -> T:
        try:
            return store(cast(BinaryIO, pipe))
        finally:
            pipe.reader_done()

    worker = asyncio.ensure_future(to_thread.run_sync(run, limiter=threads))
    try:
        with CancelScope() as scope:
            idle = _IdleWatch(loop, idle_seconds, scope)
            try:
                iterator = aiter(chunks)
                while True:
                    idle.wait_for_client(True)
                    chunk = await anext(iterator, None)
                    idle.wait_for_client(False)
                    if chunk is None or worker.done():
                        break  # the end; or the store failed early: its error is below
                    await pipe.put(chunk)
            finally:
                idle.stop()
        if idle.expired:
            raise RequestTimeout(idle_seconds)
        pipe.end()
    except BaseException as exc:
        pipe.fail(exc)
        await asyncio.wait([worker])
        if not worker.cancelled():
            worker.exception()  # retrieved: the body's error is the one to report
        raise
    return await worker


async def aiter_stream(stream: BinaryIO, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
    """Yield ``stream`` in chunks read in worker threads; close it at the end, on error and
    when the client goes away (the response's task is cancelled at an ``await``)."""
    try:
        while chunk := await to_thread.run_sync(stream.read, chunk_size):
            yield chunk
    finally:
        stream.close()
