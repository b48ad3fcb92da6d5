"""S3 outages while tasks read their sources and write their outputs (real FFmpeg, moto's S3
server behind a TCP proxy that aborts every live connection and refuses new ones).

An outage of 15 s, inside the budget, ends with every task succeeded and its outputs in the
bucket, although ``max_attempts`` is 1: the outage retries used no attempt. An outage longer
than the budget (20 s) fails the tasks with ``StorageError.Unavailable`` naming the bucket,
and leaves nothing unfinished (issue 22's figures). The proxy is the suite's
(``tests/faults.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from reelflow.config import Settings
from reelflow.db.models import Job
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.states import JobState, TaskState
from reelflow.specs.tasks import (
    CosStorage,
    MediaProcessTask,
    OutputStorage,
    SnapshotByTimeOffsetTaskInput,
    TranscodeTaskInput,
)
from reelflow.storage.registry import StorageRegistry
from reelflow.wiring.server import ServerServices, build_server
from tests.clips import ClipCache
from tests.faults import FaultProxy
from tests.s3server import MotoServer

pytestmark = pytest.mark.integration

TASKS = 4
OUTAGE = 15.0  # seconds
BUDGET = 20.0  # seconds, for the outage that outlasts it


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    parts = urlsplit(moto.endpoint)
    assert parts.hostname is not None and parts.port is not None
    with FaultProxy(parts.hostname, parts.port) as running:
        yield running


def request() -> TaskRequest:
    """Read the source from S3, write a transcode and two snapshots to S3."""
    out = OutputStorage(cos_output_storage=CosStorage(bucket="fout"))
    return TaskRequest(
        source=TaskSource(type="bucket", bucket="fin", key="in/clip.mp4"),
        media_process_task=MediaProcessTask(
            transcode_task_set=[TranscodeTaskInput(definition=100010, output_storage=out)],
            snapshot_by_time_offset_task_set=[
                SnapshotByTimeOffsetTaskInput(
                    definition=10, ext_time_offset_set=["0.5s", "1s"], output_storage=out
                )
            ],
        ),
    )


def start_cluster(
    tmp_path: Path, moto: MotoServer, proxy: FaultProxy, clips: ClipCache, budget: float
) -> tuple[ServerServices, str]:
    """A runtime whose buckets ``fin`` and ``fout`` are S3 buckets reached through the
    proxy; the source is uploaded directly. Returns it and the output S3 bucket's name."""
    from reelflow.storage.s3.backend import S3Storage

    source_bucket, output_bucket = moto.create_bucket("fin"), moto.create_bucket("fout")
    moto.client().upload_file(str(clips(duration=2.0)), source_bucket, "in/clip.mp4")
    through = f"http://127.0.0.1:{proxy.port}"
    storages = StorageRegistry(
        [
            S3Storage("fin", replace(moto.options(source_bucket), endpoint=through)),
            S3Storage("fout", replace(moto.options(output_bucket), endpoint=through)),
        ]
    )
    settings = Settings(
        data_dir=tmp_path / "data",
        video_preset="ultrafast",
        workers=2,
        max_attempts=1,  # any retry seen here is the outage budget's
        outage_budget_seconds=budget,
    )
    return build_server(settings, storages=storages), output_bucket


def jobs(runtime: ServerServices) -> list[Job]:
    with Session(runtime.db) as session:
        return list(session.scalars(select(Job)))


def outage_when_running(runtime: ServerServices, proxy: FaultProxy, seconds: float | None) -> None:
    """Cut S3 once a media job runs (sources read, outputs about to be written), for
    ``seconds`` (``None``: until the test restores it)."""

    def run() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(j.kind == "media" and j.state is JobState.RUNNING for j in jobs(runtime)):
                break
            time.sleep(0.05)
        proxy.cut()
        if seconds is not None:
            time.sleep(seconds)  # the outage's length, the test's parameter
            proxy.restore()

    threading.Thread(target=run, daemon=True).start()


def run_all(runtime: ServerServices, task_ids: list[str]) -> None:
    done = runtime.scheduler.run_until(
        lambda: all(runtime.engine.task_view(t).state.is_terminal for t in task_ids), timeout=120
    )
    assert done, "tasks left unfinished"


def test_an_outage_within_the_budget_ends_with_every_task_succeeded(
    tmp_path: Path, moto: MotoServer, proxy: FaultProxy, clips: ClipCache
) -> None:
    # Budget 30 s: jobs wait 3 s inside an attempt (a tenth), so a 15 s outage makes them
    # give attempts back to the engine.
    runtime, output_bucket = start_cluster(tmp_path, moto, proxy, clips, budget=30)
    with runtime:
        owner = runtime.admin_account.id
        task_ids = [runtime.engine.submit(request(), account_id=owner) for _ in range(TASKS)]
        outage_when_running(runtime, proxy, seconds=OUTAGE)
        run_all(runtime, task_ids)
        views = [runtime.engine.task_view(t) for t in task_ids]
        rows = jobs(runtime)

    assert [v.state for v in views] == [TaskState.SUCCEEDED] * TASKS, [
        (s.err_code, s.message) for v in views for s in v.subtasks
    ]
    # The outage was met and ridden out by the budget: some job was tried again although
    # max_attempts is 1, its extra tries not counted.
    retried = [j for j in rows if j.max_attempts > 1]
    assert retried, "the outage hit no job: the test did not test anything"
    assert all(j.attempt <= j.max_attempts for j in rows)
    stored = moto.client().list_objects_v2(Bucket=output_bucket).get("Contents", [])
    keys = {item["Key"] for item in stored}
    for view in views:
        transcode, snapshots = view.subtasks
        assert transcode.output is not None and snapshots.output is not None
        assert transcode.output["Path"].lstrip("/") in keys
        assert {p["Path"].lstrip("/") for p in snapshots.output["PicInfoSet"]} <= keys


def test_an_outage_longer_than_the_budget_fails_the_tasks_naming_the_bucket(
    tmp_path: Path, moto: MotoServer, proxy: FaultProxy, clips: ClipCache
) -> None:
    runtime, _ = start_cluster(tmp_path, moto, proxy, clips, budget=BUDGET)
    with runtime:
        owner = runtime.admin_account.id
        task_ids = [runtime.engine.submit(request(), account_id=owner) for _ in range(TASKS)]
        outage_when_running(runtime, proxy, seconds=None)
        run_all(runtime, task_ids)
        views = [runtime.engine.task_view(t) for t in task_ids]
        unfinished = [j for j in jobs(runtime) if j.state in (JobState.QUEUED, JobState.RUNNING)]
        proxy.restore()
        # Once S3 is back, a new task succeeds.
        after = runtime.engine.submit(request(), account_id=owner)
        run_all(runtime, [after])
        after_view = runtime.engine.task_view(after)

    assert unfinished == []
    failed = [v for v in views if v.state is TaskState.FAILED]
    assert failed, "the outage failed no task"
    for view in failed:
        errors = [(s.err_code, s.message) for s in view.subtasks if s.err_code] + [
            (view.err_code, view.message)
        ]
        codes = {code for code, _ in errors if code}
        assert codes == {"StorageError.Unavailable"}, errors
        for code, message in errors:
            if code:
                assert "bucket 'f" in message  # 'fin' (source) or 'fout' (outputs)
                assert f"outage budget of {BUDGET:.0f} s" in message
    assert after_view.state is TaskState.SUCCEEDED
