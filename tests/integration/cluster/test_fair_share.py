"""Fair share with two schedulers on one database, SQLite and PostgreSQL (issue 21): behind
one account's backlog, another account's new task is the next job to start, and no job is
ever claimed twice.

Each scheduler has its own engine and connection pool, as two ``serve`` processes would,
and runs its jobs inline (the scripted runner: no FFmpeg), one tick at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.catalog.accounts import Accounts
from reelflow.catalog.buckets import Buckets
from reelflow.config import Settings
from reelflow.db.session import create_db_engine, migrate, session_factory
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.service import Engine
from reelflow.executors.inline import InlineExecutor
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.states import TaskState
from tests.unit.engine.fakes import FakePlanner, ScriptedRunner, make_request

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'reelflow.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def pools(db_url: str) -> Iterator[list[DbEngine]]:
    """Two connection pools on one migrated database."""
    made = [create_db_engine(db_url) for _ in range(2)]
    migrate(made[0])
    yield made
    for pool in made:
        pool.dispose()


def request_in(bucket: str) -> TaskRequest:
    source = TaskSource(type="bucket", bucket=bucket, key="up/clip.mp4")
    return make_request(1).model_copy(update={"source": source})


def test_a_new_task_of_another_account_starts_next_behind_a_backlog(
    pools: list[DbEngine], tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, lease_seconds=30, max_attempts=3, job_timeout=120)
    sessions = session_factory(pools[0])
    accounts, buckets = Accounts(sessions), Buckets(sessions)
    alice, bob = accounts.create_account("alice"), accounts.create_account("bob")
    buckets.ensure("alice-in", alice.id)
    buckets.ensure("bob-in", bob.id)

    engines = [Engine(session_factory(pool), FakePlanner(), settings) for pool in pools]
    executors = [InlineExecutor(ScriptedRunner(), slots=2) for _ in engines]
    schedulers = [
        Scheduler(engine, executor, settings, owner=f"s{n}")
        for n, (engine, executor) in enumerate(zip(engines, executors, strict=True))
    ]
    backlog = [engines[0].submit(request_in("alice-in"), account_id=alice.id) for _ in range(30)]
    try:
        for _ in range(3):
            for scheduler in schedulers:
                assert scheduler.tick() == 2
        newcomer = engines[1].submit(request_in("bob-in"), account_id=bob.id)
        assert schedulers[1].tick() == 2
        started = [job.task_id for job in executors[1].submitted[-2:]]
        assert started[0] == newcomer  # the very next job, though Alice has 50 jobs queued
        assert started[1] in backlog
        # Bob's task goes on getting its turns: its media job is the next job of his.
        for _ in range(2):
            for scheduler in schedulers:
                scheduler.tick()
        assert engines[0].task_view(newcomer).state is TaskState.SUCCEEDED
        assert engines[0].task_view(backlog[-1]).state is TaskState.QUEUED
    finally:
        for scheduler in schedulers:
            scheduler.stop()
    claims = Counter((job.job_id, job.attempt) for ex in executors for job in ex.submitted)
    assert set(claims.values()) == {1}
    assert {job.attempt for ex in executors for job in ex.submitted} == {1}
