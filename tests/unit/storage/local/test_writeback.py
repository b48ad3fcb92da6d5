"""Writing a file out while it is written: which ranges go to the disk when, and that a
file that refuses it is still written."""

from __future__ import annotations

import ctypes
import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from reelflow.errors import StorageError
from reelflow.storage.base import FillingStream
from reelflow.storage.local import writeback
from reelflow.storage.local.atomic import write_atomically
from reelflow.storage.local.writeback import Writeback

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

KIB = 1024
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux call")


def test_each_window_is_started_and_the_one_before_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, int, int]] = []

    def record(fd: int, offset: int, count: int, flags: int) -> int:
        calls.append((offset, count, flags))
        return 0

    monkeypatch.setattr(writeback, "_sync_file_range", lambda: record)
    start = writeback._WRITE
    wait = writeback._WAIT_BEFORE | writeback._WRITE | writeback._WAIT_AFTER
    wb = Writeback(3, window=64 * KIB)
    wb.wrote(63 * KIB)
    assert calls == []
    wb.wrote(100 * KIB)
    assert calls == [(0, 64 * KIB, start)]
    assert wb.due == 128 * KIB
    calls.clear()
    wb.wrote(300 * KIB)  # several windows at once: started together, the first waited for
    assert calls == [(64 * KIB, 192 * KIB, start), (0, 64 * KIB, wait)]
    assert wb.due == 320 * KIB


@linux_only
def test_a_real_file_is_written_out_window_by_window(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    data = os.urandom(300 * KIB)
    with path.open("wb", buffering=0) as out:
        wb = Writeback(out.fileno(), window=64 * KIB)
        for offset in range(0, len(data), 50 * KIB):
            out.write(data[offset : offset + 50 * KIB])
            wb.wrote(min(offset + 50 * KIB, len(data)))
        assert wb.due == 320 * KIB  # the kernel took every call: nothing was given up
    assert path.read_bytes() == data


@linux_only
def test_a_descriptor_that_refuses_is_given_up_without_error() -> None:
    read, write = os.pipe()  # sync_file_range on a pipe: ESPIPE
    try:
        wb = Writeback(write, window=4 * KIB)
        os.write(write, b"x" * 8 * KIB)
        wb.wrote(8 * KIB)
        assert wb.due > 1 << 60
        wb.wrote(16 * KIB)  # no further calls, no error
    finally:
        os.close(read)
        os.close(write)


def test_write_atomically_writes_a_stream_of_many_windows_intact(tmp_path: Path) -> None:
    data = os.urandom(3 * writeback.WINDOW + 12345)
    size, md5 = write_atomically(
        tmp_path / "o.bin", io.BytesIO(data), lambda exc: StorageError(str(exc)), md5=False
    )
    assert size == len(data) and md5 is None
    assert (tmp_path / "o.bin").read_bytes() == data


def test_a_filling_stream_is_copied_through_one_reused_buffer(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * KIB + 5)

    class Filling(FillingStream):
        def __init__(self) -> None:
            super().__init__()
            self.source = io.BytesIO(data)
            self.buffers: set[int] = set()

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: WriteableBuffer) -> int:
            view = memoryview(buffer).cast("B")
            with view[:1] as first:  # the address of the buffer handed in
                self.buffers.add(ctypes.addressof(ctypes.c_char.from_buffer(first)))
            return self.source.readinto(view[: 300 * KIB])

        def read(self, size: int | None = -1) -> bytes:
            raise AssertionError("read allocates a chunk per call")

    stream = Filling()
    size, _ = write_atomically(
        tmp_path / "o.bin", stream, lambda exc: StorageError(str(exc)), md5=True
    )
    assert size == len(data)
    assert (tmp_path / "o.bin").read_bytes() == data
    assert len(stream.buffers) == 1
