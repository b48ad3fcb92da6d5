"""The database step: an engine on the settings' URL, migrated, and its session factory."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass

from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from reelflow.config import Settings
from reelflow.db.outage import Outage, until_reachable
from reelflow.db.session import create_db_engine, migrate, session_factory


@dataclass(frozen=True)
class Database:
    db: DbEngine
    sessions: sessionmaker[Session]


def open_database(settings: Settings, stack: ExitStack, log: logging.Logger, what: str) -> Database:
    """Migrate (a no-op once done) and open the database; disposed when ``stack`` closes.

    A database still starting (or failing over) is waited for, saying so once in ``log``
    (``what``: "start-up", "worker start-up"), not a crash with a traceback."""
    db = create_db_engine(settings.resolved_database_url())
    stack.callback(db.dispose)
    until_reachable(lambda: migrate(db), Outage(what, log))
    return Database(db, session_factory(db))
