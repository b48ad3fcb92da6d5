"""The embedded default on a full disk: the job fails with ``StorageError.DiskFull``, the
server keeps answering, the SQLite file stays sound, and work resumes once space is freed.

Each test mounts a small tmpfs of its own (as root; skipped with the reason printed where a
tmpfs cannot be mounted) and fills it with a file, which it then deletes to free the space.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clips import ClipCache
from tests.integration.server.media import RAW_180P, upload
from tests.integration.server.process import Servers, query, wait_finished

pytestmark = [pytest.mark.integration]

DISK_FULL = "StorageError.DiskFull"


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``path`` for the block (unmounted after)."""
    path.mkdir(parents=True, exist_ok=True)
    reason = ""
    if os.geteuid() != 0:
        reason = "mounting a tmpfs needs root"
    else:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if mounted.returncode != 0:
            reason = f"cannot mount a tmpfs: {mounted.stderr.strip() or mounted.returncode}"
    if reason:
        print(f"skipped: {reason}")
        pytest.skip(reason)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


def fill(folder: Path) -> Path:
    """A file that takes every free byte of ``folder``'s file system."""
    filler = folder / ".filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    assert os.statvfs(folder).f_bavail == 0
    return filler


def transcode(key: str) -> dict[str, Any]:
    return {
        "input": {"bucket": "media", "key": key},
        "media_process_task": {"transcode_task_set": [RAW_180P]},
    }


def test_a_full_scratch_disk_fails_the_job_with_disk_full_then_work_resumes(
    tmp_path: Path, clips: ClipCache
) -> None:
    data_dir = tmp_path / "data"
    servers = Servers()
    with tmpfs(data_dir / "scratch", "8m") as scratch:
        try:
            server = servers.start(data_dir)
            with server.client() as client:
                upload(client, "in/a.mp4", clips(duration=4.0, width=640, height=360))
                filler = fill(scratch)
                response = client.post("/v1/tasks", json=transcode("in/a.mp4"))
                assert response.status_code == 201, response.text
                failed = wait_finished(client, response.json()["task_id"], timeout=60)
                assert client.get("/healthz").status_code == 200  # still answering

                filler.unlink()
                response = client.post("/v1/tasks", json=transcode("in/a.mp4"))
                assert response.status_code == 201, response.text
                again = wait_finished(client, response.json()["task_id"], timeout=60)
            log = server.log_path.read_text(errors="replace")
        finally:
            servers.close()

    assert failed["phase"] == "failed", failed
    [subtask] = failed["subtasks"]
    assert subtask["err_code"] == DISK_FULL, subtask
    assert "no space left" in subtask["message"]
    assert again["phase"] == "succeeded", again
    assert "Traceback" not in log


def test_a_full_disk_under_the_database_answers_503_and_corrupts_nothing(
    tmp_path: Path, clips: ClipCache
) -> None:
    data_dir = tmp_path / "data"
    servers = Servers()
    with tmpfs(data_dir, "48m"):
        try:
            server = servers.start(data_dir)
            with server.client() as client:
                upload(client, "in/a.mp4", clips(duration=2.0, width=320, height=240))
                response = client.post("/v1/tasks", json=transcode("in/a.mp4"))
                assert response.status_code == 201, response.text
                before = response.json()["task_id"]
                assert wait_finished(client, before, timeout=60)["phase"] == "succeeded"

                filler = fill(data_dir)
                refused = client.post("/v1/tasks", json=transcode("in/a.mp4"))
                read = client.get(f"/v1/tasks/{before}")
                health = client.get("/healthz")

                filler.unlink()
                response = client.post("/v1/tasks", json=transcode("in/a.mp4"))
                assert response.status_code == 201, response.text
                after = wait_finished(client, response.json()["task_id"], timeout=60)
            log = server.log_path.read_text(errors="replace")
            [check] = query(data_dir, "PRAGMA integrity_check")
        finally:
            servers.close()

    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == DISK_FULL
    assert int(refused.headers["Retry-After"]) > 0
    assert (read.status_code, health.status_code) == (200, 200)  # reads still answer
    assert after["phase"] == "succeeded", after
    assert check[0] == "ok"
    assert "Traceback" not in log
