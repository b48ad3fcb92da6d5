"""The broker restarted with messages in it: no task is lost.

The test's own ``redis-server`` keeps nothing on disk, so a restart loses every message it
held: the worst case. The jobs those messages carried were claimed in the database but
never adopted by a worker; their dispatch lease (6 s here) runs out, the engine takes them
back, and they are sent again once the broker is up. The job that was running meanwhile
goes on and reports to the database. Redis's consumer may die in the restart
(celery/celery#10205): the worker's watchdog then exits it and its supervisor starts a new
one, as in a deployment (docs/deploy.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from reelflow.executors.celery.health import EXIT_CONSUMER_DEAD
from tests.clips import ClipCache
from tests.integration.cluster.conftest import MakeCluster
from tests.integration.cluster.flows import receive
from tests.integration.cluster.processes import Supervisor
from tests.integration.cluster.services import PrivateRedis
from tests.integration.server.media import RAW_180P, submit, upload
from tests.integration.server.process import wait_finished, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = "broker-restart"
TASKS = 6


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_broker_restart_loses_no_task(
    make_cluster: MakeCluster, private_redis: PrivateRedis, clips: ClipCache
) -> None:
    # Three jobs in flight for one worker thread: one runs, at most one is prefetched, and
    # at least one waits in the broker, never long enough for its dispatch lease to end.
    cluster = make_cluster(
        private_redis.url, lease_seconds="3", dispatch_timeout="6", cluster_slots="3"
    )
    server = cluster.serve()
    cluster.worker()
    queue = redis.Redis.from_url(private_redis.url)
    body: dict[str, Any] = {
        "input": {"bucket": "media", "key": "in/clip.mp4"},
        "media_process_task": {"transcode_task_set": [RAW_180P]},
        "notify": {"type": "queue", "name": EVENTS},
    }
    with server.client() as client, Supervisor(cluster.workers) as supervisor:
        upload(client, "in/clip.mp4", clips(duration=3.0, width=640, height=360))
        task_ids = [submit(client, body) for _ in range(TASKS)]
        # One worker thread, several jobs sent: some messages wait in Redis.
        wait_for(lambda: queue.llen(cluster.queue) > 0, 60, "messages waiting in the broker")
        private_redis.stop()  # everything it held is gone
        private_redis.start()
        try:
            docs = [wait_finished(client, task_id, timeout=180) for task_id in task_ids]
        except AssertionError as error:
            raise AssertionError(
                f"{error}\nworker exits {supervisor.exits}\n{cluster.logs()}"
            ) from error
        events = receive(client, EVENTS, wait=10)
        while len(events) < TASKS:
            more = receive(client, EVENTS, wait=5)
            assert more, f"{len(events)} of {TASKS} events"
            events += more

    assert [doc["phase"] for doc in docs] == ["succeeded"] * TASKS, cluster.logs()
    # A worker either kept consuming or exited to be replaced, never anything else.
    assert {status for _, status in supervisor.exits} <= {EXIT_CONSUMER_DEAD}, cluster.logs()
    finished = Counter(e["body"]["WorkflowTaskEvent"]["TaskId"] for e in events)
    assert finished == dict.fromkeys(task_ids, 1)
    jobs = cluster.rows("SELECT id, state, attempt FROM jobs ORDER BY id")
    assert {job.state for job in jobs} == {"succeeded"}
    # The lost messages' jobs came back as a second attempt.
    attempts = [(job.id, job.attempt) for job in jobs]
    assert max(job.attempt for job in jobs) == 2, f"{attempts}\n{cluster.logs()}"
