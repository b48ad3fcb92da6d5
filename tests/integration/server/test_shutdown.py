"""SIGTERM while FFmpeg runs: the server stops FFmpeg, hands the job back and exits fast;
the next server finishes the task.

The server is stopped once (``terminated``) and each test checks one promise of that stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clips import ClipCache
from tests.integration.server.media import LONG_CLIP, SLOW_360P, submit, upload
from tests.integration.server.process import (
    Servers,
    ffmpeg_processes,
    query,
    wait_finished,
    wait_running,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass(frozen=True)
class Terminated:
    data_dir: Path
    task_id: str
    exit_code: int
    seconds: float
    ffmpeg_left: list[int]  # FFmpeg processes of this data dir alive once the server exited
    job: sqlite3.Row
    subtask: sqlite3.Row
    log: str


@pytest.fixture(scope="module")
def terminated(tmp_path_factory: pytest.TempPathFactory, clips: ClipCache) -> Iterator[Terminated]:
    """A server SIGTERMed while its only job runs FFmpeg, as it left things."""
    data_dir = tmp_path_factory.mktemp("sigterm") / "data"
    marker = str(data_dir.resolve())
    servers = Servers()
    try:
        server = servers.start(data_dir)
        with server.client() as client:
            upload(client, "term/long.mp4", clips(**LONG_CLIP))
            body = {
                "input": {"bucket": "media", "key": "term/long.mp4"},
                "media_process_task": {"transcode_task_set": [SLOW_360P]},
            }
            task_id = submit(client, body)
            wait_running(client, task_id)
        assert len(ffmpeg_processes(marker)) == 1  # the check below would see it

        started = time.monotonic()
        code = server.terminate(timeout=10)
        seconds = time.monotonic() - started
        left = ffmpeg_processes(marker)
        for pid in left:  # an orphan of our server: stopped by its pid, not left running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        [job] = query(data_dir, "SELECT * FROM jobs WHERE kind = 'media'")
        [sub] = query(data_dir, "SELECT * FROM subtasks WHERE task_id = ?", task_id)
        yield Terminated(data_dir, task_id, code, seconds, left, job, sub, server.log_tail())
    finally:
        servers.close()


def test_sigterm_exits_promptly_and_hands_the_job_back(terminated: Terminated) -> None:
    assert terminated.exit_code in (0, -signal.SIGTERM), terminated.log
    assert terminated.seconds < 5
    job = terminated.job
    # Back in the queue at once; the interrupted run does not use up an attempt.
    assert (job["state"], job["attempt"], job["lease_owner"]) == ("queued", 1, None)
    assert job["max_attempts"] == 4
    assert (terminated.subtask["state"], terminated.subtask["progress"]) == ("pending", 0.0)
    assert "handed 1 running job(s) back to the queue" in terminated.log


def test_sigterm_leaves_no_ffmpeg_running(terminated: Terminated) -> None:
    assert terminated.ffmpeg_left == []


def test_restart_after_sigterm_finishes_the_task(terminated: Terminated, servers: Servers) -> None:
    server = servers.start(terminated.data_dir)
    with server.client() as client:
        doc = wait_finished(client, terminated.task_id)

    assert (doc["state"], doc["phase"]) == ("FINISH", "succeeded"), doc
    assert [(s["status"], s["attempts"]) for s in doc["subtasks"]] == [("SUCCESS", 2)]
    [job] = query(terminated.data_dir, "SELECT state, attempt FROM jobs WHERE kind = 'media'")
    assert (job["state"], job["attempt"]) == ("succeeded", 2)
