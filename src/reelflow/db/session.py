"""Database engines, sessions, transactions and migrations.

SQLite is set up for several threads and processes sharing one file: WAL journal (readers
never block the writer), a busy timeout (writers queue instead of failing), foreign keys on.
Write transactions start with ``BEGIN IMMEDIATE`` so that two writers never both read and
then both try to upgrade to a write lock (SQLite would fail one with "database is locked"
without waiting); on other databases the same option is ignored.

Within one process, SQLite writers also queue on a lock of the engine before ``BEGIN
IMMEDIATE``: SQLite's busy handler polls with sleeps that grow to 100 ms, so under load a
waiting writer kept sleeping long after the lock was free (16 concurrent submissions spent
more time asleep there than working). A released lock wakes the next writer at once; the
busy timeout still orders writers of different processes.

Errors meaning "the database is not there now" leave ``transaction`` as
``reelflow.errors.DatabaseUnavailable`` (a connection refused or dropped, the pool
exhausted, SQLite busy past its timeout), and a full disk under the SQLite file as
``reelflow.errors.DiskFull``: callers decide by type (the API answers 503, loops back off)
and never see a driver's exception. Other database errors (a bug) pass through unchanged.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from reelflow.db.snapshot import load_if_empty
from reelflow.errors import DatabaseUnavailable, DiskFull

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The PostgreSQL advisory lock key that serializes migrations ("reelflow" in ASCII, 8 bytes).
MIGRATION_LOCK = 0x7265656C666C6F77

# Execution option read by the SQLite "begin" listener: how to open the transaction.
SQLITE_BEGIN = "reelflow_sqlite_begin"
_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})

# SQLite primary result codes (the low byte of ``sqlite3.Error.sqlite_errorcode``).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN = 5, 6, 10, 13, 14
_SQLITE_UNAVAILABLE = frozenset({_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_CANTOPEN})
# PostgreSQL SQLSTATE classes of an unreachable server: connection exception (08) and
# operator intervention (57P: shutting down, restarting, cannot connect now).
_PG_UNAVAILABLE = ("08", "57P")


class _WriterLock:
    """The in-process writer queue of one SQLite engine.

    Waits at most the busy timeout, then lets the writer go on to SQLite's own wait, so a
    writer that can never get the lock still fails with "database is locked" as it would
    without this queue, instead of hanging. Reentrant for the same reason.
    """

    def __init__(self, timeout: float) -> None:
        self._lock = threading.RLock()
        self._timeout = timeout

    @contextmanager
    def held(self) -> Iterator[None]:
        acquired = self._lock.acquire(timeout=self._timeout)
        try:
            yield
        finally:
            if acquired:
                self._lock.release()


_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, _WriterLock] = weakref.WeakKeyDictionary()


def create_db_engine(url: str | URL, *, busy_timeout_ms: int = 15_000) -> Engine:
    """An engine for ``url``; for a SQLite file, its folder is created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or parsed.query.get("mode") == "memory"
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        # Every connection to ":memory:" is a new empty database: share one connection.
        options["poolclass"] = StaticPool
    elif not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **options)
    event.listen(engine, "connect", _sqlite_connect_hook(busy_timeout_ms, wal=not in_memory))
    event.listen(engine, "begin", _sqlite_begin)
    _WRITER_LOCKS[engine] = _WriterLock(busy_timeout_ms / 1000)
    return engine


def _sqlite_connect_hook(busy_timeout_ms: int, *, wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy: pysqlite's own implicit BEGIN cannot be
        # made IMMEDIATE and would defer every write lock (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                # In WAL mode NORMAL is safe against process crashes (what the engine must
                # survive); only an OS crash may lose the last commits.
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    return on_connect


def _sqlite_begin(connection: Connection) -> None:
    mode = str(connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")).upper()
    if mode not in _BEGIN_MODES:
        raise ValueError(f"{SQLITE_BEGIN} must be one of {sorted(_BEGIN_MODES)}, got {mode!r}")
    connection.exec_driver_sql(f"BEGIN {mode}")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session], *, write: bool) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises.

    ``write=True`` takes SQLite's write lock at the start (``BEGIN IMMEDIATE``, after this
    process's writer lock); use it for every transaction that may write, so read-then-write
    never deadlocks.
    """
    queued = _writer_lock(sessions) if write else nullcontext()
    try:
        with queued, sessions() as session, session.begin():
            if write:
                session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
            yield session
    except sa_exc.SQLAlchemyError as exc:
        translated = translate_error(exc)
        if translated is None:
            raise
        raise translated from exc


def translate_error(exc: BaseException) -> DatabaseUnavailable | DiskFull | None:
    """The reelflow error a database error means, or ``None`` for any other error (a bug).

    Decided by type and driver code, never by message text: SQLAlchemy's pool timeout and
    invalidated connections, the DBAPI's ``InterfaceError``, an ``OperationalError`` with
    no SQLSTATE (a failed connect) or a connection SQLSTATE, SQLite's busy, I/O and
    cannot-open codes; SQLite's "database or disk is full" is ``DiskFull``.
    """
    if isinstance(exc, sa_exc.TimeoutError):
        return DatabaseUnavailable(f"the database connection pool is exhausted: {exc}")
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    orig = exc.orig
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        primary = sqlite_code & 0xFF
        if primary == _SQLITE_FULL:
            return DiskFull(f"the database file's disk is full: {orig}")
        if primary in _SQLITE_UNAVAILABLE:
            return DatabaseUnavailable(f"the database is unavailable: {orig}")
        return None
    unavailable = exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError)
    if isinstance(exc, sa_exc.OperationalError):
        sqlstate = getattr(orig, "sqlstate", None)
        unavailable = unavailable or not sqlstate or str(sqlstate).startswith(_PG_UNAVAILABLE)
    if not unavailable:
        return None
    reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return DatabaseUnavailable(f"the database is unreachable: {reason}")


def ping(engine: Engine) -> str | None:
    """Whether the database answers a ``SELECT 1``: ``None`` if it does, else the type name
    of the SQLAlchemy error it failed with (the health check logs just that)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except sa_exc.SQLAlchemyError as exc:
        return type(exc).__name__
    return None


def _writer_lock(sessions: sessionmaker[Session]) -> AbstractContextManager[None]:
    bind = sessions.kw.get("bind")
    lock = _WRITER_LOCKS.get(bind) if isinstance(bind, Engine) else None
    return lock.held() if lock is not None else nullcontext()


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration built in code: no ``alembic.ini`` is needed at run time."""
    from alembic.config import Config  # Alembic only where migrations run (not for a new SQLite)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # ConfigParser interpolates "%": escape it (passwords may contain one).
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(target: Engine | str, revision: str = "head") -> None:
    """Upgrade the database at ``target`` (an engine or a URL) to ``revision``.

    A new SQLite database (no table at all) is brought to ``head`` by loading the snapshot
    of the migrations' result (``reelflow.db.snapshot``), the same schema and rows without
    running them.

    A database that cannot be reached raises ``DatabaseUnavailable`` (see
    :func:`translate_error`); ``reelflow.db.outage.until_reachable`` waits it out."""
    engine = create_db_engine(target) if isinstance(target, str) else target
    try:
        _migrate(engine, revision)
    except sa_exc.SQLAlchemyError as exc:
        translated = translate_error(exc)
        if translated is None:
            raise
        raise translated from exc
    finally:
        if isinstance(target, str):
            engine.dispose()


def _migrate(engine: Engine, revision: str) -> None:
    # IMMEDIATE: two processes starting together migrate one after the other.
    immediate = {SQLITE_BEGIN: "IMMEDIATE"}
    with engine.connect().execution_options(**immediate) as connection, connection.begin():
        if revision == "head" and load_if_empty(connection):
            return
        from alembic import command

        config = alembic_config()
        if connection.dialect.name == "postgresql":
            # PostgreSQL has no database-wide write lock: without this, processes
            # starting together (several servers and workers) all create the same
            # tables and all but one fail. Released when the transaction ends.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
