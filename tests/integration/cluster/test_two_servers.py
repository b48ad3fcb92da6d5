"""Two ``reelflow serve`` processes on one PostgreSQL database never run a job twice.

Both schedulers claim from the same job table at once (``FOR UPDATE SKIP LOCKED``). With
the local executor each server runs what it claims; with Celery both dispatch to the same
workers. Every job must be claimed exactly once (``attempt`` 1: it counts claims), every
task must finish once (one event), and both servers must have taken part.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from tests.clips import ClipCache
from tests.integration.cluster.conftest import MakeCluster
from tests.integration.cluster.flows import job_runs
from tests.integration.server.media import RAW_180P, submit, upload
from tests.integration.server.process import wait_finished

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TASKS = 16
BODY: dict[str, Any] = {
    "input": {"bucket": "media", "key": "in/clip.mp4"},
    "media_process_task": {
        "transcode_task_set": [RAW_180P],
        "snapshot_by_time_offset_task_set": [{"definition": 10, "ext_time_offset_set": ["1s"]}],
    },
    "notify": {"type": "queue", "name": "two-servers"},
}


@pytest.mark.parametrize("executor", ["local", "celery"])
def test_two_servers_on_one_database_never_run_a_job_twice(
    make_cluster: MakeCluster, redis_broker: str, clips: ClipCache, executor: str
) -> None:
    cluster = make_cluster(redis_broker, executor=executor, workers="2")
    servers = [cluster.serve(), cluster.serve()]
    workers = [cluster.worker(), cluster.worker()] if executor == "celery" else []
    owners: set[str] = set()
    done = threading.Event()

    def watch_owners() -> None:
        # The lease owner of a running job names the server that claimed it (local pool).
        while not done.wait(0.05):
            rows = cluster.rows("SELECT DISTINCT lease_owner FROM jobs WHERE state = 'running'")
            owners.update(row.lease_owner for row in rows if row.lease_owner)

    watcher = threading.Thread(target=watch_owners)
    watcher.start()
    try:
        clients = [server.client() for server in servers]
        upload(clients[0], "in/clip.mp4", clips(duration=2.0, width=320, height=180))
        task_ids = [submit(clients[i % 2], BODY) for i in range(TASKS)]
        docs = [wait_finished(clients[i % 2], t, timeout=240) for i, t in enumerate(task_ids)]
    finally:
        done.set()
        watcher.join()
        for client in clients:
            client.close()

    assert [doc["phase"] for doc in docs] == ["succeeded"] * TASKS, cluster.logs()
    jobs = cluster.rows("SELECT id, kind, state, attempt FROM jobs")
    # A probe and one fused media job per task, on one machine and in a cluster alike.
    assert Counter(job.kind for job in jobs) == {"probe": TASKS, "media": TASKS}
    assert {(job.state, job.attempt) for job in jobs} == {("succeeded", 1)}
    events = cluster.rows("SELECT task_id, count(*) AS n FROM notify_events GROUP BY task_id")
    assert {row.task_id: row.n for row in events} == dict.fromkeys(task_ids, 1)
    pids = {str(server.proc.pid) for server in servers if server.proc is not None}
    if executor == "celery":
        runs = job_runs(workers)
        assert Counter((run.job_id, run.attempt) for run in runs) == {
            (str(job.id), 1): 1 for job in jobs
        }
        owners = {run.dispatcher for run in runs}
    dispatchers = {owner.split(":")[1] for owner in owners if not owner.startswith("worker:")}
    assert dispatchers == pids, owners
