from __future__ import annotations

import pytest

from reelflow.config import Settings
from reelflow.errors import ConfigError, StorageError
from reelflow.executors.base import JobContext
from reelflow.executors.celery.executor import CeleryExecutor
from reelflow.executors.inline import InlineExecutor
from reelflow.executors.local import LocalExecutor
from reelflow.executors.registry import build_executor
from reelflow.specs.jobs import JobEvent, JobEventType, JobPayload, JobResult
from tests.unit.executors.test_local import payload


def ok(job: JobPayload, ctx: JobContext) -> JobResult:
    ctx.progress(40.0)
    if job.job_id == "fail":
        raise StorageError("bucket unreachable")
    return JobResult(job_id=job.job_id, ok=True)


def test_inline_executor_reports_before_submit_returns() -> None:
    events: list[JobEvent] = []
    executor = InlineExecutor(ok)
    executor.start(events.append)
    executor.submit(payload("a"))
    assert [(e.job_id, e.type, e.progress) for e in events] == [
        ("a", JobEventType.PROGRESS, 40.0),
        ("a", JobEventType.FINISHED, 100.0),
    ]
    executor.submit(payload("fail"))
    final = events[-1].result
    assert final is not None
    assert (final.ok, final.error_code, final.retryable) == (False, "StorageError", True)
    assert [job.job_id for job in executor.submitted] == ["a", "fail"]
    executor.close()
    assert executor.free_slots() == 0


def test_build_executor_local_uses_the_worker_count() -> None:
    executor = build_executor(Settings(executor="local", workers=3), ok)
    try:
        assert isinstance(executor, LocalExecutor)
        assert executor.free_slots() == 3
    finally:
        executor.close()


def test_build_executor_celery_needs_a_broker_url() -> None:
    with pytest.raises(ConfigError, match="REELFLOW_BROKER_URL"):
        build_executor(Settings(executor="celery"), ok)
    with pytest.raises(ConfigError, match="valid schemes: redis"):
        build_executor(Settings(executor="celery", broker_url="kafka://x:9092"), ok)


def test_build_executor_celery_sends_to_the_cluster() -> None:
    settings = Settings(executor="celery", broker_url="memory://", cluster_slots=5)
    executor = build_executor(settings, ok)
    try:
        assert isinstance(executor, CeleryExecutor)
        assert executor.reports_to_engine
        assert executor.free_slots() == 5
    finally:
        executor.close()


def test_build_executor_names_the_valid_choices() -> None:
    settings = Settings().model_copy(update={"executor": "threads"})
    with pytest.raises(ConfigError, match="valid choices: celery, local"):
        build_executor(settings, ok)
