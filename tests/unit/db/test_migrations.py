"""The hand-written migration creates exactly what the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from reelflow.db.models import Base
from reelflow.db.session import create_db_engine, migrate


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
    assert tables == {"alembic_version", "tasks", "subtasks", "jobs"}


def test_the_comparison_does_see_a_difference(tmp_path: Path) -> None:
    # Guards the test above against passing vacuously.
    url = f"sqlite:///{tmp_path / 'reelflow.db'}"
    migrate(url)
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP INDEX ix_jobs_state_priority_created_at")
    finally:
        engine.dispose()
    changes = diff(url)
    assert len(changes) == 1
    assert "ix_jobs_state_priority_created_at" in str(changes[0])


def test_migrate_twice_is_a_no_op(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'reelflow.db'}")
    try:
        migrate(engine)
        migrate(engine)
        with engine.connect() as connection:
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert versions.all() == [("0001",)]
    finally:
        engine.dispose()
