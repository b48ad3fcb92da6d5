"""The hand-written migration creates exactly what the models describe."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from reelflow.db.models import Base, SubTask, Task
from reelflow.db.session import create_db_engine, migrate
from reelflow.presets.catalog import CUSTOM_ID_START
from reelflow.specs.states import SubTaskState, TaskState
from reelflow.specs.subtasks import SubTaskKind


def diff(url: str) -> list[object]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_migrated_database_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reelflow.db'}"
    migrate(url)
    assert diff(url) == []
    engine = create_db_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == {
        "alembic_version",
        "tasks",
        "subtasks",
        "jobs",
        "accounts",
        "api_keys",
        "buckets",
        "templates",
        "workflows",
        "schedules",
        "notify_events",
        "notify_deliveries",
        "notify_attempts",
        "queue_messages",
        "triggered_objects",
        "own_outputs",
        "trigger_checkpoints",
        "deferred_triggers",
        "chunk_leftovers",
    }


def test_the_comparison_does_see_a_difference(tmp_path: Path) -> None:
    # Guards the test above against passing vacuously.
    url = f"sqlite:///{tmp_path / 'reelflow.db'}"
    migrate(url)
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP INDEX ix_jobs_state_lease_expires_at")
    finally:
        engine.dispose()
    changes = diff(url)
    assert len(changes) == 1
    assert "ix_jobs_state_lease_expires_at" in str(changes[0])


def test_migrate_twice_is_a_no_op(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'reelflow.db'}")
    try:
        migrate(engine)
        migrate(engine)
        with engine.connect() as connection:
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert versions.all() == [("0012",)]
    finally:
        engine.dispose()


def test_0001_to_0002_keeps_existing_tasks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reelflow.db'}"
    engine = create_db_engine(url)
    try:
        migrate(engine, "0001")
        now = datetime(2025, 1, 2, tzinfo=UTC)
        # Only 0001's columns exist yet: insert with Core, naming them.
        with engine.begin() as connection:
            connection.execute(
                insert(Task).values(
                    id="rf-old", state=TaskState.FAILED, priority=3, session_id="s-1",
                    session_context="", request={"kept": True},
                    source={"type": "bucket", "bucket": "media", "key": "a.mp4"},
                    err_code="", message="", created_at=now, updated_at=now,
                )
            )  # fmt: skip
            connection.execute(
                insert(SubTask).values(
                    task_id="rf-old", index=0, kind=SubTaskKind.TRANSCODE,
                    state=SubTaskState.FAILED, progress=0.0, err_code="", message="",
                    spec={"index": 0}, attempts=0,
                )
            )  # fmt: skip
        migrate(engine)
        with Session(engine) as session:
            old = session.get(Task, "rf-old")
            assert old is not None
            assert old.account_id is None
            assert old.priority == 3 and old.request == {"kept": True}
            assert [sub.index for sub in old.subtasks] == [0]
    finally:
        engine.dispose()
    assert diff(url) == []


def test_custom_template_numbers_start_at_one_million(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reelflow.db'}"
    migrate(url)
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO accounts (name, is_admin, created_at) VALUES ('a', 1, '2025-01-01')"
            )
            insert = (
                "INSERT INTO templates (kind, account_id, name, comment, body, created_at, "
                "updated_at) VALUES ('Transcode', 1, '', '', '{}', '2025-01-01', '2025-01-01')"
            )
            connection.exec_driver_sql(insert)
            connection.exec_driver_sql("DELETE FROM templates")
            connection.exec_driver_sql(insert)
            numbers = connection.exec_driver_sql("SELECT definition FROM templates").all()
    finally:
        engine.dispose()
    # The first is 1,000,000 and a deleted number is never handed out again.
    assert numbers == [(CUSTOM_ID_START + 1,)]


def test_0004_to_0005_indexes_the_waiting_events_of_a_queue(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reelflow.db'}"
    engine = create_db_engine(url)
    try:
        migrate(engine, "0004")
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO queue_messages (account_id, queue, event_id, body, created_at, "
                "visible_at, receive_count) VALUES (1, 'events', 'ev-1', '{}', '2025-01-01', "
                "'2025-01-01', 0)"
            )
        migrate(engine)
        found = inspect(engine).get_indexes("queue_messages")
        indexes = {ix["name"]: ix["column_names"] for ix in found}
        with engine.connect() as connection:
            kept = connection.exec_driver_sql("SELECT event_id FROM queue_messages").all()
    finally:
        engine.dispose()
    assert indexes["ix_queue_messages_account_id_queue_event_id"] == [
        "account_id",
        "queue",
        "event_id",
    ]
    assert kept == [("ev-1",)]
    assert diff(url) == []


def test_0005_to_0006_keeps_jobs_and_gives_them_no_outage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reelflow.db'}"
    engine = create_db_engine(url)
    try:
        migrate(engine, "0005")
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO tasks (id, state, priority, session_id, session_context, request, "
                "source, err_code, message, created_at, updated_at) VALUES ('rf-old', 'running',"
                " 0, '', '', '{}', '{}', '', '', '2025-01-01', '2025-01-01')"
            )
            connection.exec_driver_sql(
                "INSERT INTO jobs (task_id, kind, state, priority, payload, subtasks, attempt, "
                "max_attempts, not_before, progress, err_code, message, created_at) VALUES "
                "('rf-old', 'media', 'queued', 0, '{}', '[0]', 2, 3, '2025-01-01', 0, "
                "'StorageError', 'timeout', '2025-01-01')"
            )
        migrate(engine)
        with engine.connect() as connection:
            kept = connection.exec_driver_sql(
                "SELECT task_id, attempt, err_code, outage_since FROM jobs"
            ).all()
    finally:
        engine.dispose()
    assert kept == [("rf-old", 2, "StorageError", None)]
    assert diff(url) == []
