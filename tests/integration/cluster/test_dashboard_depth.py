"""The dashboard's finished tasks per hour, counted by the database (issue 21: views at
depth), on SQLite and PostgreSQL: each task in the clock hour it finished in, by state, only
the account's own, only the window's hours."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine

from reelflow.catalog.accounts import Accounts
from reelflow.catalog.buckets import Buckets
from reelflow.config import Settings
from reelflow.console.stats import throughput
from reelflow.db.session import create_db_engine, migrate, session_factory
from reelflow.engine.service import Engine
from reelflow.engine.stats import TaskStats
from reelflow.specs.requests import TaskSource
from reelflow.specs.states import TaskState
from tests.unit.engine.fakes import FakeClock, FakePlanner, make_request

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DbEngine]:
    url = f"sqlite:///{tmp_path / 'reelflow.db'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
    engine = create_db_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_finished_tasks_are_counted_per_clock_hour_and_state(db: DbEngine, tmp_path: Path) -> None:
    sessions = session_factory(db)
    accounts, buckets = Accounts(sessions), Buckets(sessions)
    alice, bob = accounts.create_account("alice"), accounts.create_account("bob")
    buckets.ensure("alice-in", alice.id)
    buckets.ensure("bob-in", bob.id)
    clock = FakeClock()  # 12:00 UTC
    settings = Settings(data_dir=tmp_path, lease_seconds=30, max_attempts=3, job_timeout=120)
    engine = Engine(sessions, FakePlanner(), settings, clock=clock)

    def cancelled_at(at: datetime, account: int, bucket: str) -> None:
        source = TaskSource(type="bucket", bucket=bucket, key="up/clip.mp4")
        request = make_request(1).model_copy(update={"source": source})
        clock.now = at
        engine.cancel(engine.submit(request, account_id=account), account_id=account)

    start = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
    for at in (
        start - timedelta(seconds=1),  # before the window
        start,  # the first second of hour 0
        start + timedelta(minutes=59, seconds=59),  # still hour 0
        start + timedelta(hours=5, minutes=30),
        start + timedelta(hours=5, minutes=31),
        start + timedelta(hours=23, minutes=59),  # the last hour
        start + timedelta(hours=24),  # after the window
    ):
        cancelled_at(at, alice.id, "alice-in")
    cancelled_at(start + timedelta(hours=5), bob.id, "bob-in")  # another account's

    counts = TaskStats(sessions).finished_by_hour(alice.id, start, 24)
    assert sorted(counts) == [
        (0, TaskState.CANCELLED, 2),
        (5, TaskState.CANCELLED, 2),
        (23, TaskState.CANCELLED, 1),
    ]
    now = start + timedelta(hours=23, minutes=1)
    bars = throughput(TaskStats(sessions), alice.id, now=now, hours=24)
    assert [bar.start for bar in bars][:2] == [start, start + timedelta(hours=1)]
    assert [(bar.succeeded, bar.failed) for bar in bars if bar.failed] == [(0, 2), (0, 2), (0, 1)]
