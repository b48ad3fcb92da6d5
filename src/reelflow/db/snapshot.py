"""A new SQLite database made from a snapshot of the migrations' result, not by running them.

``schema.sql`` holds what upgrading an empty SQLite database to the head migration leaves:
every ``CREATE`` statement of ``sqlite_master`` in the order the migrations made them
(columns added by a later migration stay where ``ALTER TABLE`` put them) and every row the
migrations wrote (``alembic_version``'s head, ``sqlite_sequence``'s start for custom
template ids). Loading it gives the same ``sqlite_master`` and the same rows, without
importing Alembic or reading the migration scripts: a one-file ``reelflow process`` (and
every other new SQLite database) starts that much sooner. tests/unit/db/test_snapshot.py
migrates a database and compares; after adding a migration, write the file again with
``python -m reelflow.db.snapshot``.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

from sqlalchemy import Connection

SCHEMA = Path(__file__).with_name("schema.sql")


def load_if_empty(connection: Connection) -> bool:
    """Create the head schema on the SQLite database of ``connection`` (inside its open
    transaction) if it has no table at all; tell whether it did."""
    if connection.dialect.name != "sqlite":
        return False
    if connection.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar():
        return False
    for statement in statements(SCHEMA.read_text()):
        connection.exec_driver_sql(statement)
    return True


def statements(script: str) -> list[str]:
    """The complete SQL statements of ``script``, one per item, without the ``;``."""
    found: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        if not pending and line.startswith("--"):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip().removesuffix(";"))
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in the schema snapshot: {pending!r}")
    return found


def dump(database: Path) -> str:
    """The snapshot of the SQLite file ``database``: its schema in creation order, then its
    rows (tables of the migrations' own bookkeeping)."""
    connection = sqlite3.connect(database)
    try:
        lines = ["-- The head migration's SQLite schema, by `python -m reelflow.db.snapshot`."]
        tables = []
        for kind, name, sql in connection.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
        ):
            if kind == "table":
                tables.append(name)
            if not name.startswith("sqlite_"):  # SQLite makes sqlite_sequence itself
                lines.append(f"{sql};")
        for table in tables:
            columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
            names = ", ".join(f'"{c}"' for c in columns)
            quoted = ", ".join(f'quote("{c}")' for c in columns)
            for row in connection.execute(f'SELECT {quoted} FROM "{table}" ORDER BY rowid'):
                lines.append(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(row)});')
        return "\n".join(lines) + "\n"
    finally:
        connection.close()


def migrated_dump() -> str:
    """The snapshot of a new SQLite database upgraded by the migrations themselves."""
    from alembic import command

    from reelflow.db.session import alembic_config  # it loads this module: not at the top

    with tempfile.TemporaryDirectory(prefix="reelflow-schema-") as folder:
        database = Path(folder) / "reelflow.db"
        command.upgrade(alembic_config(f"sqlite:///{database}"), "head")
        return dump(database)


if __name__ == "__main__":
    SCHEMA.write_text(migrated_dump())
    sys.stdout.write(f"wrote {SCHEMA}\n")
