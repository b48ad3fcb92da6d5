"""Bridges between the event loop's async byte streams and blocking storage code.

Storage is blocking (``Storage.put_stream`` reads a file-like object; ``open_read`` returns
one), the request body is an async iterator. An upload therefore runs ``put_stream`` in a
worker thread with a reader whose every ``read`` fetches the next body chunk *from the
event loop* (``anyio.from_thread.run``). At most one network chunk and one storage buffer
are in memory at a time, and the server's flow control holds the client back while storage
is busy: memory stays flat whatever the size of the upload.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import BinaryIO

from anyio import from_thread, to_thread

READ_CHUNK = 256 * 1024


class _AsyncChunksRaw(io.RawIOBase):
    """A raw reader over an async iterator of ``bytes``; use it from an anyio worker thread.

    An exception raised by the iterator (client gone, body too large) propagates from
    ``read``, so ``put_stream`` aborts and leaves nothing behind.
    """

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._chunk = memoryview(b"")
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._chunk and not self._eof:
            chunk = from_thread.run(self._next)
            if chunk is None:
                self._eof = True
            else:
                self._chunk = memoryview(chunk)
        size = min(len(buffer), len(self._chunk))
        buffer[:size] = self._chunk[:size]
        self._chunk = self._chunk[size:]
        return size

    async def _next(self) -> bytes | None:
        return await anext(self._chunks, None)


def blocking_reader(chunks: AsyncIterator[bytes], buffer_size: int) -> BinaryIO:
    """A buffered binary reader over ``chunks`` whose ``read(n)`` returns ``n`` bytes until
    the end (like a file), for code running in a thread started by ``anyio.to_thread``."""
    reader = io.BufferedReader(_AsyncChunksRaw(chunks), buffer_size=buffer_size)
    return reader


async def aiter_stream(stream: BinaryIO, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
    """Yield ``stream`` in chunks read in worker threads; close it at the end, on error and
    when the client goes away (the response's task is cancelled at an ``await``)."""
    try:
        while chunk := await to_thread.run_sync(stream.read, chunk_size):
            yield chunk
    finally:
        stream.close()
