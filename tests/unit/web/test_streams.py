"""The bridge from an async body to blocking storage code, and back."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import AsyncIterator
from typing import BinaryIO

import anyio
import pytest

from reelflow.web import streams
from reelflow.web.errors import RequestTimeout
from reelflow.web.streams import PIPE_LIMIT, aiter_stream, store_body


async def _chunks(*parts: bytes, fail: BaseException | None = None) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    if fail is not None:
        raise fail


def test_reads_return_up_to_the_size_asked_until_the_end() -> None:
    async def main() -> list[bytes]:
        body = _chunks(b"ab", b"", b"cdefg", b"h")
        return await store_body(body, lambda r: [r.read(3) for _ in range(6)])

    # A chunk that fits comes whole; a longer one is cut; b"" marks the end, for good.
    assert anyio.run(main) == [b"ab", b"cde", b"fg", b"h", b"", b""]


def test_read_all_and_readinto() -> None:
    async def main() -> tuple[bytes, bytes]:
        whole = await store_body(_chunks(b"x" * 5000, b"y" * 3), lambda r: r.read())

        def into(reader: BinaryIO) -> bytes:
            buffer = bytearray(4)
            got = reader.readinto(buffer)  # type: ignore[attr-defined]
            return bytes(buffer[:got])

        first = await store_body(_chunks(b"abcdef"), into)
        return whole, first

    assert anyio.run(main) == (b"x" * 5000 + b"yyy", b"abcd")


def test_an_error_of_the_body_reaches_the_reader_and_is_raised() -> None:
    seen: list[BaseException] = []

    def store(reader: BinaryIO) -> bytes:
        try:
            return reader.read()
        except BaseException as exc:
            seen.append(exc)
            raise

    async def main() -> None:
        await store_body(_chunks(b"abc", fail=ConnectionError("gone")), store)

    with pytest.raises(ConnectionError, match="gone"):
        anyio.run(main)
    assert len(seen) == 1 and str(seen[0]) == "gone"


def test_an_error_of_the_store_stops_reading_the_body() -> None:
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield b"z" * 1024
            await anyio.sleep(0)

    def store(reader: BinaryIO) -> None:
        reader.read(10)
        raise OSError("disk full")

    async def main() -> None:
        await store_body(endless(), store)

    with pytest.raises(OSError, match="disk full"):
        anyio.run(main)
    # Reading stopped: at most what the pipe lets be in flight had been pulled when the
    # store failed (how much of it depends on thread timing, never more), not the endless rest.
    assert pulled <= PIPE_LIMIT // 1024 + 1


def test_the_loop_waits_while_too_much_is_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "PIPE_LIMIT", 4096)
    reading = threading.Event()
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(64):
            pulled += 1
            yield b"q" * 1024

    def store(reader: BinaryIO) -> int:
        reading.wait(10)
        return len(reader.read())

    async def main() -> tuple[int, int]:
        async with anyio.create_task_group() as group:
            result: list[int] = []

            async def run() -> None:
                result.append(await store_body(body(), store))

            group.start_soon(run)
            await anyio.sleep(0.2)
            held = pulled  # the reader has not read yet: the feed must be held back
            reading.set()
        return held, result[0]

    held, size = anyio.run(main)
    assert held <= 6  # 4 KiB in flight, plus the chunk that crossed the limit
    assert size == 64 * 1024


def test_uploads_beyond_the_slots_wait_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "UPLOAD_SLOTS", 1)
    release = threading.Event()
    pulled: list[str] = []

    async def body(name: str) -> AsyncIterator[bytes]:
        pulled.append(name)
        yield name.encode()

    def slow(reader: BinaryIO) -> bytes:
        release.wait(10)
        return reader.read()

    async def main() -> list[bytes]:
        results: list[bytes] = []

        async def upload(name: str, store: object) -> None:
            results.append(await store_body(body(name), store))  # type: ignore[arg-type]

        async with anyio.create_task_group() as group:
            group.start_soon(upload, "first", slow)
            await anyio.sleep(0.1)
            group.start_soon(upload, "second", lambda r: r.read())
            await anyio.sleep(0.2)
            assert pulled == ["first"]  # the second waits for the slot, its body unread
            release.set()
        return results

    assert anyio.run(main) == [b"first", b"second"]


def test_a_body_that_stops_arriving_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "IDLE_TIMEOUT", 0.2)
    seen: list[BaseException] = []

    async def stalls() -> AsyncIterator[bytes]:
        yield b"first"
        await anyio.sleep(30)
        yield b"never"

    def store(reader: BinaryIO) -> bytes:
        try:
            return reader.read()
        except BaseException as exc:
            seen.append(exc)
            raise

    async def main() -> float:
        start = anyio.current_time()
        with pytest.raises(RequestTimeout) as caught:
            await store_body(stalls(), store)
        assert caught.value.status_code == 408
        return anyio.current_time() - start

    assert anyio.run(main) < 5
    assert len(seen) == 1 and isinstance(seen[0], RequestTimeout)


def test_waiting_for_slow_storage_is_no_client_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "IDLE_TIMEOUT", 0.2)
    monkeypatch.setattr(streams, "PIPE_LIMIT", 1024)

    async def steady() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"k" * 1024

    def slow(reader: BinaryIO) -> int:
        time.sleep(0.7)  # the pipe is full long before: the feed waits on storage
        return len(reader.read())

    async def main() -> int:
        return await store_body(steady(), slow)

    assert anyio.run(main) == 10 * 1024


def test_aiter_stream_yields_chunks_and_closes() -> None:
    stream = io.BytesIO(b"0123456789")

    async def main() -> list[bytes]:
        return [chunk async for chunk in aiter_stream(stream, chunk_size=4)]

    assert anyio.run(main) == [b"0123", b"4567", b"89"]
    assert stream.closed
