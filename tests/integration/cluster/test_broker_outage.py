"""The broker blinks for 15 s while tasks run: nothing fails, nothing stays unfinished. An
outage longer than the outage budget (20 s here) fails the tasks it kept from being sent,
with ``ResourceUnavailable.Broker``, and leaves nothing unfinished.

Every process reaches the broker through a ``FaultProxy`` (tests/faults.py); during the
outage the proxy resets every connection and refuses new ones, as a broker failover does.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from reelflow.executors.celery.executor import PAUSE_CAP
from reelflow.executors.celery.health import EXIT_CONSUMER_DEAD, EXIT_GRACE
from tests.clips import ClipCache
from tests.faults import FaultProxy
from tests.integration.cluster.conftest import MakeCluster
from tests.integration.cluster.processes import Supervisor, WorkerProcess
from tests.integration.cluster.services import BROKERS, require_broker
from tests.integration.server.media import RAW_180P, submit, upload
from tests.integration.server.process import wait_finished, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TASKS = 8
OUTAGE = 15.0
# Longer than the consumer's reconnect backoff (RECONNECT_MAX) plus a connect.
STALL = "10"
BUDGET = "20"  # seconds: issue 22's figure
# Messages wait again once the server sends again (its pause after failed sends is
# PAUSE_CAP at most); a dead consumer is found within the stall plus a check or two after
# that, and the process is gone at most EXIT_GRACE later (docs/deploy.md); 10 s more for a
# busy machine.
REPLACED_WITHIN = PAUSE_CAP + float(STALL) + 2 * 10 / 6 + EXIT_GRACE + 10


def through(proxy: FaultProxy, url: str) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@{proxy.address}" if auth else proxy.address
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture(params=sorted(BROKERS))
def proxied_broker(request: pytest.FixtureRequest) -> Iterator[tuple[FaultProxy, str]]:
    """(proxy, broker URL through it) for each broker in turn."""
    url = BROKERS[request.param]
    require_broker(url)
    parts = urlsplit(url)
    with FaultProxy(parts.hostname or "127.0.0.1", parts.port or 0) as proxy:
        yield proxy, through(proxy, url)


def body(key: str) -> dict[str, Any]:
    return {
        "input": {"bucket": "media", "key": key},
        "media_process_task": {"transcode_task_set": [RAW_180P]},
    }


def check(worker: WorkerProcess) -> subprocess.CompletedProcess[str]:
    """``reelflow worker --check`` on ``worker``'s data dir."""
    argv = [sys.executable, "-m", "reelflow.cli.main", "worker", "--check",
            "--data-dir", str(worker.data_dir)]  # fmt: skip
    return subprocess.run(
        argv, env=worker.env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("kind", ["reset", "partition"])
def test_a_broker_outage_ends_with_every_task_succeeded(
    proxied_broker: tuple[FaultProxy, str], make_cluster: MakeCluster, clips: ClipCache, kind: str
) -> None:
    proxy, url = proxied_broker
    cluster = make_cluster(url, lease_seconds="3", cluster_slots="4", worker_stall_seconds=STALL)
    server = cluster.serve()
    workers = [cluster.worker(), cluster.worker()]
    with server.client() as client, Supervisor(workers) as supervisor:
        upload(client, "in/clip.mp4", clips(duration=2.0, width=640, height=360))
        task_ids = [submit(client, body("in/clip.mp4")) for _ in range(TASKS)]

        def media_running() -> int:
            rows = cluster.rows(
                "SELECT count(*) AS n FROM jobs WHERE state = 'running' AND kind = 'media' "
                "AND lease_owner LIKE 'worker:%%'"
            )
            return int(rows[0].n)

        wait_for(media_running, 60, "a worker to run FFmpeg")
        with proxy.outage() if kind == "reset" else proxy.partitioned():
            time.sleep(OUTAGE)
        restored = time.monotonic()
        # Within 2 minutes of the restore, every task is over.
        docs = [wait_finished(client, t, timeout=120) for t in task_ids]
        took = time.monotonic() - restored
        # And every worker consumes (again): its liveness probe says so. One that kept a
        # dead consumer is replaced (stale messages of handed-back jobs still wait for it).
        for worker in workers:
            wait_for(lambda w=worker: check(w).returncode == 0, REPLACED_WITHIN, "--check")
    print(
        f"\n{url.split(':')[0]} {kind}: all {TASKS} tasks finished {took:.1f} s after the restore; "
        f"proxy accepted {proxy.accepted}, reset {proxy.aborted}; worker exits "
        f"{supervisor.exits} at {[round(at - restored, 1) for at in supervisor.exited_at]} s"
    )
    if kind == "reset":
        assert proxy.aborted > 0  # the outage did cut live connections
    assert [d["phase"] for d in docs] == ["succeeded"] * TASKS, cluster.logs()
    # The outage used up no attempt: jobs handed back (grown budget) do not count.
    jobs = cluster.rows("SELECT id, attempt, max_attempts FROM jobs")
    assert all(job.attempt == job.max_attempts - 2 for job in jobs), jobs
    # A worker either kept consuming or exited to be restarted, never anything else.
    assert {status for _, status in supervisor.exits} <= {EXIT_CONSUMER_DEAD}, cluster.logs()
    delays = [at - restored for at in supervisor.exited_at]
    assert all(0 <= delay <= REPLACED_WITHIN for delay in delays), f"{delays}\n{cluster.logs()}"
    if url.startswith("amqp"):
        # Celery's AMQP consumer reconnects by itself: no worker needed a restart.
        assert supervisor.exits == [], cluster.logs()


def metric(client: httpx.Client, name: str) -> float:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    for line in response.text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


def test_a_queue_nobody_reads_is_not_fed_until_a_worker_is_back(
    make_cluster: MakeCluster, broker: str, clips: ClipCache
) -> None:
    # No worker at all: every job sent waits in the broker, unadopted.
    cluster = make_cluster(broker, dispatch_stall_seconds="3", cluster_slots="4")
    server = cluster.serve()
    with server.client() as client:
        upload(client, "in/clip.mp4", clips(duration=1.0, width=320, height=240))
        task_ids = [submit(client, body("in/clip.mp4")) for _ in range(6)]
        wait_for(lambda: metric(client, "reelflow_dispatch_paused") == 1, 60, "dispatch paused")
        # A probe sent while paused, unadopted and handed back in turn (each hand-back
        # grows the job's attempt budget by one): the pause is still reported only once.
        wait_for(
            lambda: cluster.rows("SELECT max(max_attempts) AS m FROM jobs")[0].m >= 5,
            60,
            "a probe handed back",
        )
        paused_log = server.log_path.read_text(errors="replace")
        cluster.worker()
        docs = [wait_finished(client, t, timeout=90) for t in task_ids]
        wait_for(lambda: metric(client, "reelflow_dispatch_paused") == 0, 30, "dispatch resumed")
    assert [d["phase"] for d in docs] == ["succeeded"] * len(task_ids), cluster.logs()
    assert paused_log.count("no worker reads it") == 1, paused_log
    log = server.log_path.read_text(errors="replace")
    assert "is read again after" in log
    # The claims handed back used no attempt: each job's only counted attempt succeeded.
    jobs = cluster.rows("SELECT state, attempt, max_attempts FROM jobs")
    assert {job.state for job in jobs} == {"succeeded"}
    assert all(job.attempt == job.max_attempts - 2 for job in jobs), jobs


def test_a_broker_outage_longer_than_the_budget_fails_the_tasks_naming_the_broker(
    proxied_broker: tuple[FaultProxy, str], make_cluster: MakeCluster, clips: ClipCache
) -> None:
    proxy, url = proxied_broker
    cluster = make_cluster(url, outage_budget_seconds=BUDGET, worker_stall_seconds=STALL)
    server = cluster.serve()
    with server.client() as client, Supervisor([cluster.worker()]):
        upload(client, "in/clip.mp4", clips(duration=1.0, width=320, height=240))
        with proxy.outage():
            # Sent to no broker: handed back for 20 s, then failed.
            task_ids = [submit(client, body("in/clip.mp4")) for _ in range(3)]
            docs = [wait_finished(client, t, timeout=120) for t in task_ids]
        # The broker is back: a new task succeeds and nothing is left unfinished.
        after = wait_finished(client, submit(client, body("in/clip.mp4")), timeout=120)
        unfinished = cluster.rows("SELECT id, state FROM jobs WHERE state IN ('queued', 'running')")
        log = server.log_path.read_text(errors="replace")
    assert [d["phase"] for d in docs] == ["failed"] * len(task_ids), cluster.logs()
    for doc in docs:
        [subtask] = doc["subtasks"]
        assert subtask["err_code"] == "ResourceUnavailable.Broker", doc
        assert f"longer than the outage budget of {BUDGET} s" in subtask["message"], doc
    assert after["phase"] == "succeeded", cluster.logs()
    assert unfinished == []
    assert "Traceback" not in log
