"""Workers that die, and workers that cannot reach storage.

- A worker SIGKILLed in the middle of an FFmpeg run: its FFmpeg dies with it, its lease
  runs out, the engine hands the job to the other worker as attempt 2, and the task
  finishes once (one event); restarted, the worker removes the killed attempt's scratch. On
  RabbitMQ the dead worker's unacknowledged message is also delivered again at once: the
  adoption check refuses it, so it never runs the job a second time.
- A worker whose S3 endpoint never answers fails the job with ``StorageError.Unavailable``
  once the outage outlasts the outage budget (10 s here), instead of hanging.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clips import ClipCache
from tests.integration.cluster.conftest import MakeCluster
from tests.integration.cluster.flows import job_runs, receive
from tests.integration.cluster.processes import s3_config
from tests.integration.server.media import LONG_CLIP, SLOW_360P, submit, upload, video_shape
from tests.integration.server.process import ffmpeg_processes, wait_finished, wait_for
from tests.s3server import MotoServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = "worker-failures"


def body(key: str, *transcodes: dict[str, Any]) -> dict[str, Any]:
    return {
        "input": {"bucket": "media", "key": key},
        "media_process_task": {"transcode_task_set": list(transcodes)},
        "notify": {"type": "queue", "name": EVENTS},
    }


def test_sigkill_a_worker_mid_job_the_other_finishes_the_task_once(
    make_cluster: MakeCluster, broker: str, moto: MotoServer, clips: ClipCache, tmp_path: Path
) -> None:
    cluster = make_cluster(broker, lease_seconds="3")
    server = cluster.serve()
    workers = [cluster.worker(), cluster.worker()]
    with server.client() as client:
        upload(client, "in/long.mp4", clips(**LONG_CLIP))
        task_id = submit(client, body("in/long.mp4", SLOW_360P))

        def running_media() -> Any:
            rows = cluster.rows(
                "SELECT lease_owner, progress FROM jobs WHERE task_id = :t AND kind = 'media' "
                "AND state = 'running' AND lease_owner LIKE 'worker:%%'",
                t=task_id,
            )
            return rows[0] if rows and rows[0].progress > 0 else None

        job = wait_for(running_media, 60, "FFmpeg to run on a worker")
        [victim] = [w for w in workers if f":{w.pid}:" in job.lease_owner]
        killed_pid = victim.pid
        assert victim.kill() == -9
        marker = str(victim.data_dir.resolve())
        wait_for(lambda: not ffmpeg_processes(marker), 2.0, "FFmpeg to die with its worker")
        [killed_folder] = [
            p for p in (victim.data_dir / "scratch").iterdir() if f"-{killed_pid}-" in p.name
        ]
        [row] = cluster.rows(
            "SELECT state, attempt FROM jobs WHERE task_id = :t AND kind = 'media'", t=task_id
        )
        assert (row.state, row.attempt) == ("running", 1)  # killed mid-job, for sure

        doc = wait_finished(client, task_id, timeout=120)
        events = receive(client, EVENTS, wait=10)
        time.sleep(1.0)  # a second finish, if there were one, would have landed by now
        again = client.get(f"/v1/tasks/{task_id}").json()
        assert receive(client, EVENTS, wait=1) == []

    assert (doc["state"], doc["phase"]) == ("FINISH", "succeeded"), cluster.logs()
    assert [(s["status"], s["attempts"]) for s in doc["subtasks"]] == [("SUCCESS", 2)]
    assert again["finished_at"] == doc["finished_at"]
    [event] = events
    assert event["body"]["WorkflowTaskEvent"]["TaskId"] == task_id
    assert (
        cluster.rows("SELECT count(*) AS n FROM notify_events WHERE task_id = :t", t=task_id)[0].n
        == 1
    )
    [media] = cluster.rows(
        "SELECT state, attempt, lease_owner FROM jobs WHERE task_id = :t AND kind = 'media'",
        t=task_id,
    )
    assert (media.state, media.attempt, media.lease_owner) == ("succeeded", 2, None)

    # Attempt 1 started on the victim and never ended; attempt 2 ran on the survivor, once.
    survivor = workers.index(next(w for w in workers if w is not victim))
    runs = [run for run in job_runs(workers) if run.task_id == task_id and run.kind == "media"]
    assert [(r.attempt, r.worker == survivor, r.outcome) for r in runs] == [
        (1, False, ""),
        (2, True, "ok"),
    ], cluster.logs()
    assert killed_folder.exists()
    victim.start()  # on the same data dir: the sweep runs before it takes any job
    assert not killed_folder.exists()

    output = doc["subtasks"][0]["outputs"]["Path"].lstrip("/")
    local = tmp_path / "out.mp4"
    moto.client().download_file(cluster.s3_buckets["media"], output, str(local))
    height, duration = video_shape(local)
    assert (height, duration) == (360, pytest.approx(20.0, abs=0.15))


class SilentEndpoint:
    """A TCP server that accepts connections and never answers (a hung S3 endpoint)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            self._held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def silent_endpoint() -> Iterator[SilentEndpoint]:
    endpoint = SilentEndpoint()
    yield endpoint
    endpoint.close()


def test_a_worker_that_cannot_reach_storage_fails_the_job_with_a_storage_error(
    make_cluster: MakeCluster,
    redis_broker: str,
    moto: MotoServer,
    clips: ClipCache,
    silent_endpoint: SilentEndpoint,
) -> None:
    cluster = make_cluster(redis_broker, max_attempts="1", outage_budget_seconds="10")
    server = cluster.serve()
    # The worker's configuration points the bucket at an endpoint that never answers.
    cut_off = s3_config(moto, cluster.s3_buckets, endpoint=silent_endpoint.url)
    cluster.worker(config=cut_off)
    with server.client() as client:
        upload(client, "in/clip.mp4", clips(duration=1.0, width=320, height=180))
        started = time.monotonic()
        task_id = submit(client, body("in/clip.mp4", SLOW_360P))
        doc = wait_finished(client, task_id, timeout=90)
    took = time.monotonic() - started
    assert (doc["state"], doc["phase"]) == ("FINISH", "failed"), doc
    assert doc["err_code"] == "StorageError.Unavailable", doc
    assert "bucket 'media'" in doc["message"] and "unreachable" in doc["message"], doc
    assert "outage budget of 10 s" in doc["message"], doc
    [probe] = cluster.rows("SELECT state, err_code FROM jobs WHERE task_id = :t", t=task_id)
    assert (probe.state, probe.err_code) == ("failed", doc["err_code"])
    assert took < 60, f"the storage failure took {took:.1f} s to surface"


def test_sigterm_hands_a_running_job_back_without_using_an_attempt(
    make_cluster: MakeCluster, redis_broker: str, clips: ClipCache
) -> None:
    cluster = make_cluster(redis_broker)
    server = cluster.serve()
    first = cluster.worker()
    with server.client() as client:
        upload(client, "in/long.mp4", clips(**LONG_CLIP))
        task_id = submit(client, body("in/long.mp4", SLOW_360P))
        wait_for(
            lambda: cluster.rows(
                "SELECT id FROM jobs WHERE task_id = :t AND kind = 'media' AND progress > 0 "
                "AND state = 'running'",
                t=task_id,
            ),
            60,
            "FFmpeg to run",
        )
        first.stop()  # SIGTERM: a warm shutdown that does not wait for the job
        assert first.proc is not None and first.proc.returncode == 0, first.log_tail()
        [job] = cluster.rows(
            "SELECT state, attempt, max_attempts FROM jobs WHERE task_id = :t AND kind = 'media'",
            t=task_id,
        )
        # Back in the queue at once, the interrupted attempt not counted (and maybe already
        # claimed again, waiting in the broker for a worker).
        assert job.max_attempts == 4
        assert (job.state, job.attempt) in {("queued", 1), ("running", 2)}
        cluster.worker()
        doc = wait_finished(client, task_id, timeout=120)
    assert (doc["state"], doc["phase"]) == ("FINISH", "succeeded"), cluster.logs()
    [media] = cluster.rows(
        "SELECT state, attempt, max_attempts FROM jobs WHERE task_id = :t AND kind = 'media'",
        t=task_id,
    )
    assert (media.state, media.attempt, media.max_attempts) == ("succeeded", 2, 4)
    assert "handed 1 running job(s) back" in first.log_path.read_text()
