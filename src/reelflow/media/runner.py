"""Run one FFmpeg command: progress, timeout, cancellation, and a clean end.

Building the arguments is someone else's job (pure functions returning ``list[str]``);
this module owns the child process. Every run ends with the child reaped: on success,
on failure, on timeout, on cancel, and when a progress callback raises. If this process
dies instead (SIGKILL, OOM killer), the kernel kills the child (``parentdeath``), and the
child's record (``ChildRecords``) lets the next start stop what might still be left.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from reelflow.errors import FFmpegFailed, FFmpegNotFound, FFmpegTimeout, JobCancelled
from reelflow.media.parentdeath import die_with_parent
from reelflow.media.progress import Progress, ProgressParser

_POLL = 0.05  # seconds between cancel/timeout checks: bounds how late a cancel lands
_LINE_LIMIT = 4096  # bytes; a line without newline cannot grow memory without bound
_MESSAGE_LINE_LIMIT = 300
# "[libx264 @ 0x55c9e7b6b6c0] [error] width not divisible by 2" -> context, level, text.
# The level tag exists because argv asks for "-loglevel level+info".
_LOG_LINE = re.compile(r"^(?:\[[^\]]*@ 0x[0-9a-f]+\] )*(?:\[(?P<level>[a-z]+)\] )?(?P<text>.*)$")
_ERROR_LEVELS = frozenset({"error", "fatal", "panic"})


def ffmpeg_argv(binary: Path, args: Sequence[str]) -> list[str]:
    """The full argv the runner executes: a fixed prefix, then the builder's ``args``.

    ``-loglevel level+info`` tags each stderr line with its severity so failures are
    summarised from error lines, not guessed from text; a later ``-loglevel`` in ``args``
    overrides it (the summary then falls back to the last lines).
    """
    return [
        str(binary),
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "level+info",
        "-progress",
        "pipe:1",
        *args,
    ]


class ChildRecords(Protocol):
    """Where a runner notes its running children, for whoever cleans up after this process.

    ``add`` is called right after the child started (its PID is also its process group id),
    ``discard`` once it is reaped. An ``OSError`` from ``add`` fails the run (the child is
    killed first): a child nobody could find again must not run.
    """

    def add(self, pid: int, binary: Path) -> None: ...

    def discard(self, pid: int) -> None: ...


@dataclass(frozen=True, slots=True)
class RunResult:
    """A run that exited with status 0."""

    returncode: int
    elapsed: float
    stderr_tail: str


class FFmpegRunner:
    """Runs FFmpeg commands with one binary; safe to share between threads.

    A supervisor stops a run by setting the run's ``cancel`` event: the thread inside
    :meth:`run` then kills the child's process group and reaps it. ``on_start`` hands
    out the PID for logging only; signalling it directly would race with the reaping.

    The child gets SIGKILL when the thread that started it dies (Linux), and :meth:`run`
    holds that thread until the child is reaped: a child never outlives its process.
    """

    def __init__(
        self,
        binary: Path,
        *,
        kill_grace: float = 3.0,
        stderr_lines: int = 50,
        records: ChildRecords | None = None,
    ) -> None:
        self.binary = binary
        self.kill_grace = kill_grace
        self.stderr_lines = stderr_lines
        self.records = records

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float,
        on_progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> RunResult:
        """Run ``ffmpeg <prefix> *args`` and wait for it.

        ``on_progress`` is called in the calling thread for every progress block, the
        last one with ``done=True``. ``timeout`` (seconds) bounds the whole run.

        Raises:
            FFmpegFailed: non-zero exit; the message quotes FFmpeg's error lines.
            FFmpegTimeout: still running after ``timeout``; the child was killed.
            JobCancelled: ``cancel`` was set; the child was killed.
            FFmpegNotFound: the binary cannot be executed.
        """
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                ffmpeg_argv(self.binary, args),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # own process group: one killpg reaches every helper
                # Threads are safe here: the child calls only prctl and getppid, after
                # CPython has reset its interpreter state for the fork (no lock to wait on).
                preexec_fn=die_with_parent(),  # noqa: PLW1509
            )
        except OSError as exc:
            raise FFmpegNotFound(f"cannot start FFmpeg at {self.binary}: {exc}") from exc
        stderr = _StderrTail(self.stderr_lines)
        snapshots: queue.Queue[Progress | None] = queue.Queue()
        readers = [
            _start_thread(_read_progress, proc.stdout, snapshots),
            _start_thread(stderr.consume, proc.stderr),
        ]
        try:
            if self.records is not None:
                self.records.add(proc.pid, self.binary)
            if on_start is not None:
                on_start(proc.pid)
            self._wait(
                proc,
                snapshots,
                stderr,
                timeout=timeout,
                deadline=started + timeout,
                on_progress=on_progress,
                cancel=cancel,
            )
        finally:
            if proc.poll() is None:  # an exception (callback, cancel, timeout) got us here
                self._kill_group(proc)
            for reader in readers:
                reader.join(timeout=self.kill_grace)
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
            if self.records is not None:
                self.records.discard(proc.pid)  # reaped: its PID may now be reused
        elapsed = time.monotonic() - started
        if proc.returncode != 0:
            raise FFmpegFailed(stderr.summary(proc.returncode), stderr_tail=stderr.text())
        return RunResult(returncode=0, elapsed=elapsed, stderr_tail=stderr.text())

    def _wait(
        self,
        proc: subprocess.Popen[bytes],
        snapshots: queue.Queue[Progress | None],
        stderr: _StderrTail,
        *,
        timeout: float,
        deadline: float,
        on_progress: Callable[[Progress], None] | None,
        cancel: threading.Event | None,
    ) -> None:
        stdout_open = True
        while True:
            if cancel is not None and cancel.is_set():
                self._kill_group(proc)
                raise JobCancelled("the FFmpeg run was cancelled")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if proc.poll() is None:
                    self._kill_group(proc)
                    raise FFmpegTimeout(
                        f"FFmpeg did not finish within {timeout:g} s and was stopped; "
                        f"its last output: {_untag(stderr.last_line()) or '(none)'}"
                    )
                remaining = _POLL  # it exited just in time: still collect its last output
            wait = min(remaining, _POLL)
            if not stdout_open:
                try:
                    proc.wait(timeout=wait)
                    return
                except subprocess.TimeoutExpired:
                    continue
            try:
                item = snapshots.get(timeout=wait)
            except queue.Empty:
                continue
            if item is None:
                stdout_open = False
            elif on_progress is not None:
                on_progress(item)

    def _kill_group(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM the group, SIGKILL it after ``kill_grace``, and reap the child."""
        # Signal only while the child is unreaped: until then its PID, which is also the
        # group id, cannot be reused by an unrelated process.
        if proc.poll() is not None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=self.kill_grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)  # SIGTERM may be ignored; this is not
            proc.wait()


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is already gone
        os.killpg(pgid, signum)


def _start_thread(target: Callable[..., None], *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True, name="ffmpeg-pipe")
    thread.start()
    return thread


def _read_progress(pipe: IO[bytes], out: queue.Queue[Progress | None]) -> None:
    """Parse stdout to the end (so FFmpeg never blocks on a full pipe), then post None."""
    parser = ProgressParser()
    try:
        for raw in iter(lambda: pipe.readline(_LINE_LIMIT), b""):
            snapshot = parser.feed(raw.decode("utf-8", "replace"))
            if snapshot is not None:
                out.put(snapshot)
    finally:
        out.put(None)


class _StderrTail:
    """The last lines of stderr plus the first error line, which often names the cause."""

    def __init__(self, max_lines: int) -> None:
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._first_error = ""
        self._last_error = ""
        self._lock = threading.Lock()

    def consume(self, pipe: IO[bytes]) -> None:
        for raw in iter(lambda: pipe.readline(_LINE_LIMIT), b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if not line:
                continue
            match = _LOG_LINE.match(line)
            with self._lock:
                self._lines.append(line)
                if match and match["level"] in _ERROR_LEVELS:
                    text = match["text"].strip()
                    self._first_error = self._first_error or text
                    self._last_error = text

    def text(self) -> str:
        with self._lock:
            return "\n".join(self._lines)

    def last_line(self) -> str:
        with self._lock:
            return self._lines[-1] if self._lines else ""

    def summary(self, returncode: int) -> str:
        """A one-line reason a person can act on, from FFmpeg's own error lines."""
        with self._lock:
            reasons = [self._first_error, self._last_error]
            if not self._first_error:  # untagged output: fall back to the last lines
                reasons = [_untag(line) for line in list(self._lines)[-3:]]
        unique = [_clip(r) for r in dict.fromkeys(r for r in reasons if r)]
        detail = " ... ".join(unique) or "no error output"
        return f"FFmpeg exited with code {returncode}: {detail}"


def _untag(line: str) -> str:
    match = _LOG_LINE.match(line)
    return match["text"].strip() if match else line.strip()


def _clip(text: str) -> str:
    if len(text) <= _MESSAGE_LINE_LIMIT:
        return text
    return text[: _MESSAGE_LINE_LIMIT - 3] + "..."
