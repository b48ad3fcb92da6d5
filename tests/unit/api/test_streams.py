"""The bridge from an async body to blocking storage code, and back."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import anyio
import pytest
from anyio import to_thread

from reelflow.api.streams import aiter_stream, blocking_reader


async def _chunks(*parts: bytes, fail: Exception | None = None) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    if fail is not None:
        raise fail


def test_reads_return_full_sizes_until_the_end() -> None:
    async def main() -> list[bytes]:
        reader = blocking_reader(_chunks(b"ab", b"", b"cde", b"f", b"ghij"), buffer_size=4)
        return await to_thread.run_sync(lambda: [reader.read(3) for _ in range(5)])

    assert anyio.run(main) == [b"abc", b"def", b"ghi", b"j", b""]


def test_read_all() -> None:
    async def main() -> bytes:
        reader = blocking_reader(_chunks(b"x" * 5000, b"y" * 3), buffer_size=1024)
        return await to_thread.run_sync(reader.read)

    assert anyio.run(main) == b"x" * 5000 + b"yyy"


def test_an_error_of_the_body_reaches_the_reader() -> None:
    async def main() -> None:
        reader = blocking_reader(_chunks(b"abc", fail=ConnectionError("gone")), buffer_size=2)
        await to_thread.run_sync(reader.read)

    with pytest.raises(ConnectionError, match="gone"):
        anyio.run(main)


def test_aiter_stream_yields_chunks_and_closes() -> None:
    stream = io.BytesIO(b"0123456789")

    async def main() -> list[bytes]:
        return [chunk async for chunk in aiter_stream(stream, chunk_size=4)]

    assert anyio.run(main) == [b"0123", b"4567", b"89"]
    assert stream.closed
