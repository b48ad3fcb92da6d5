"""SQLite set-up, UTC times, and write transactions that take the lock up front."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, StatementError

from reelflow.db.models import Job, Task
from reelflow.db.session import create_db_engine, migrate, session_factory, transaction
from reelflow.errors import DatabaseUnavailable
from reelflow.specs.jobs import JobKind
from reelflow.specs.states import JobState, TaskState


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'reelflow.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def make_task(created: datetime) -> Task:
    return Task(
        id="rf-1",
        state=TaskState.QUEUED,
        priority=0,
        session_id="",
        session_context="",
        request={},
        source={"type": "file", "path": "/a.mp4"},
        err_code="",
        message="",
        created_at=created,
        updated_at=created,
    )


def test_sqlite_file_is_created_with_wal_foreign_keys_and_busy_timeout(
    db: Engine, tmp_path: Path
) -> None:
    assert (tmp_path / "nested" / "dir" / "reelflow.db").is_file()
    with db.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == 15000


def test_times_come_back_aware_utc_and_naive_ones_are_refused(db: Engine) -> None:
    paris = timezone(timedelta(hours=1))
    created = datetime(2025, 3, 1, 13, 0, tzinfo=paris)
    sessions = session_factory(db)
    with transaction(sessions, write=True) as session:
        session.add(make_task(created))
    with transaction(sessions, write=False) as session:
        task = session.scalars(select(Task)).one()
        assert task.created_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
        assert task.created_at.tzinfo is UTC
        assert task.state is TaskState.QUEUED
        # Comparisons happen in UTC too.
        query = select(Task.id).where(Task.created_at < datetime(2025, 3, 1, 12, 30, tzinfo=UTC))
        assert session.scalars(query).all() == ["rf-1"]

    naive = make_task(datetime(2025, 3, 1, 12, 0))
    naive.id = "rf-2"
    with (
        pytest.raises(StatementError, match="naive datetime"),
        transaction(sessions, write=True) as session,
    ):
        session.add(naive)


def test_foreign_keys_are_enforced(db: Engine) -> None:
    now = datetime.now(UTC)
    job = Job(
        task_id="rf-missing",
        kind=JobKind.PROBE,
        state=JobState.QUEUED,
        priority=0,
        payload={},
        subtasks=[],
        attempt=0,
        max_attempts=3,
        not_before=now,
        progress=0.0,
        err_code="",
        message="",
        created_at=now,
    )
    with (
        pytest.raises(IntegrityError, match="FOREIGN KEY"),
        transaction(session_factory(db), write=True) as session,
    ):
        session.add(job)


def test_write_transaction_holds_the_write_lock_from_its_start(db: Engine) -> None:
    path = db.url.database
    assert path is not None
    with transaction(session_factory(db), write=True) as session:
        session.scalars(select(Task)).all()  # only a read so far
        other = sqlite3.connect(path, timeout=0)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
    with transaction(session_factory(db), write=False) as session:
        session.scalars(select(Task)).all()
        other = sqlite3.connect(path, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # a read transaction leaves writers free
            other.execute("ROLLBACK")
        finally:
            other.close()


def test_in_memory_database_is_shared_by_sessions() -> None:
    engine = create_db_engine("sqlite://")
    try:
        migrate(engine)
        sessions = session_factory(engine)
        with transaction(sessions, write=True) as session:
            session.add(make_task(datetime.now(UTC)))
        with transaction(sessions, write=False) as session:
            assert session.scalars(select(Task.id)).all() == ["rf-1"]
    finally:
        engine.dispose()


def test_writers_of_one_process_queue_and_all_commit(tmp_path: Path) -> None:
    # Eight threads writing at once: they take turns on the engine's queue and every
    # transaction commits.
    engine = create_db_engine(f"sqlite:///{tmp_path / 'reelflow.db'}", busy_timeout_ms=2000)
    migrate(engine)
    sessions = session_factory(engine)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                with transaction(sessions, write=True) as session:
                    task = make_task(datetime.now(UTC))
                    task.id = f"rf-{n}-{i}"
                    session.add(task)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        with transaction(sessions, write=False) as session:
            assert len(session.scalars(select(Task.id)).all()) == 8 * 25
    finally:
        engine.dispose()


def test_a_failed_write_transaction_releases_the_queue(db: Engine) -> None:
    sessions = session_factory(db)
    with pytest.raises(RuntimeError), transaction(sessions, write=True):
        raise RuntimeError("boom")
    done = threading.Event()

    def writer() -> None:
        with transaction(sessions, write=True) as session:
            session.add(make_task(datetime.now(UTC)))
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    thread.join(timeout=10)
    assert done.is_set()


def test_a_nested_write_transaction_still_fails_on_the_busy_timeout(tmp_path: Path) -> None:
    # The queue is reentrant and bounded by the busy timeout: a writer that could never get
    # SQLite's lock gets SQLite's "database is locked" (as DatabaseUnavailable: the caller
    # backs off), as without the queue, never a hang.
    engine = create_db_engine(f"sqlite:///{tmp_path / 'reelflow.db'}", busy_timeout_ms=100)
    migrate(engine)
    sessions = session_factory(engine)
    try:
        with (
            transaction(sessions, write=True),
            pytest.raises(DatabaseUnavailable, match="locked"),
            transaction(sessions, write=True),
        ):
            pass
    finally:
        engine.dispose()
