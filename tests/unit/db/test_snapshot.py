"""A new SQLite database is made from the schema snapshot: exactly what the migrations make."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from alembic import command

from reelflow.db.session import alembic_config, migrate
from reelflow.db.snapshot import SCHEMA, dump, migrated_dump


def master(database: Path) -> list[tuple[object, ...]]:
    """Every row of ``sqlite_master`` (automatic indexes too), in creation order, without
    ``rootpage``: where a table's pages start is storage, not schema (a migration that drops
    an index frees pages that the next objects reuse; a new database has no such gap)."""
    connection = sqlite3.connect(database)
    try:
        query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid"
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def test_the_snapshot_is_the_migrations_result() -> None:
    assert SCHEMA.read_text() == migrated_dump(), (
        "the migrations changed: write the snapshot again with `python -m reelflow.db.snapshot`"
    )


def test_a_new_database_equals_a_migrated_one(tmp_path: Path) -> None:
    migrated, loaded = tmp_path / "migrated.db", tmp_path / "loaded.db"
    command.upgrade(alembic_config(f"sqlite:///{migrated}"), "head")
    migrate(f"sqlite:///{loaded}")
    assert master(loaded) == master(migrated)
    # the same rows too (alembic_version's head, sqlite_sequence's custom template start)
    assert dump(loaded) == dump(migrated)
    assert 'INSERT INTO "sqlite_sequence"' in dump(loaded)


def test_an_older_database_is_migrated(tmp_path: Path) -> None:
    migrated, upgraded = tmp_path / "migrated.db", tmp_path / "upgraded.db"
    command.upgrade(alembic_config(f"sqlite:///{migrated}"), "head")
    migrate(f"sqlite:///{upgraded}", "0001")
    migrate(f"sqlite:///{upgraded}")
    assert dump(upgraded) == dump(migrated)


def test_a_new_database_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code = (
        "import sys\n"
        "from reelflow.db.session import migrate\n"
        f"migrate({url!r})\n"
        "print('alembic' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout.strip() == "False"
