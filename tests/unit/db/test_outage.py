"""Outage bookkeeping of the loops, and which database errors mean an outage."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from reelflow.db.outage import Outage, Throttled, until_reachable
from reelflow.db.session import migrate, session_factory, transaction, translate_error
from reelflow.errors import DatabaseUnavailable, DiskFull
from tests.servers import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_is_logged_once_when_it_starts_and_once_with_its_length_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    outage = Outage("loop", logging.getLogger("t"), base=0.5, cap=4.0, clock=clock, rand=lambda: 1)
    caplog.set_level(logging.INFO, logger="t")
    waits = []
    for _ in range(8):
        waits.append(outage.failed(DatabaseUnavailable("connection refused")))
        clock.now += 1.5
    assert outage.down
    assert waits == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]  # doubling, capped
    assert outage.succeeded() == pytest.approx(12.0)
    assert outage.succeeded() is None  # nothing more to say while it works
    assert not outage.down
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "unavailable (connection refused)" in messages[0]
    assert "back after 12.0 s (8 failed round(s))" in messages[1]


def test_waits_are_jittered_between_half_and_all_of_the_nominal_delay() -> None:
    outage = Outage("loop", logging.getLogger("t"), base=2.0, cap=8.0, rand=lambda: 0)
    assert outage.failed(DatabaseUnavailable("x")) == 1.0


def test_throttled_lets_one_line_through_a_minute_and_counts_the_rest() -> None:
    clock = Clock()
    throttle = Throttled(every=60, clock=clock)
    assert throttle.allow() == 0
    assert [throttle.allow() for _ in range(3)] == [None] * 3
    clock.now += 61
    assert throttle.allow() == 3


def test_an_unreachable_postgresql_is_database_unavailable() -> None:
    engine = create_engine(f"postgresql+psycopg://reelflow@127.0.0.1:{free_port()}/none")
    try:
        with (
            pytest.raises(DatabaseUnavailable, match="unreachable") as raised,
            transaction(session_factory(engine), write=False) as session,
        ):
            session.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    assert isinstance(raised.value.__cause__, OperationalError)
    assert raised.value.code == "ResourceUnavailable.Database"
    assert raised.value.retryable


def _sqlite_error(code: int, message: str) -> OperationalError:
    orig = sqlite3.OperationalError(message)
    orig.sqlite_errorcode = code
    return OperationalError("INSERT ...", {}, orig)


class PgError(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_sqlite_error(13, "database or disk is full"), DiskFull),
        (_sqlite_error(5, "database is locked"), DatabaseUnavailable),
        (_sqlite_error(10 | (3 << 8), "disk I/O error"), DatabaseUnavailable),
        (_sqlite_error(1, "no such table: jobs"), None),  # a bug, not an outage
        (OperationalError("SELECT 1", {}, PgError(None)), DatabaseUnavailable),  # connect failed
        (OperationalError("SELECT 1", {}, PgError("57P01")), DatabaseUnavailable),  # shutdown
        (OperationalError("SELECT 1", {}, PgError("08006")), DatabaseUnavailable),
        (OperationalError("SELECT 1", {}, PgError("40P01")), None),  # a deadlock
        (IntegrityError("INSERT", {}, PgError("23505")), None),
        (ProgrammingError("SELECT", {}, PgError("42P01")), None),
        (PoolTimeout("QueuePool limit of size 5 overflow 10 reached"), DatabaseUnavailable),
    ],
)
def test_which_errors_are_an_outage(error: Exception, expected: type | None) -> None:
    translated = translate_error(error)
    if expected is None:
        assert translated is None
    else:
        assert type(translated) is expected


def test_a_full_disk_under_sqlite_leaves_the_database_sound(tmp_path: Path) -> None:
    # A real SQLITE_FULL: the page limit stands in for the disk (no mount needed here).
    engine = create_engine(f"sqlite:///{tmp_path / 'small.db'}")
    sessions = session_factory(engine)
    try:
        with transaction(sessions, write=True) as session:
            session.execute(text("CREATE TABLE t (x TEXT)"))
            session.execute(text("PRAGMA max_page_count = 8"))
        with (
            pytest.raises(DiskFull, match="full"),
            transaction(sessions, write=True) as session,
        ):
            for _ in range(100):
                session.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 4000})
        with transaction(sessions, write=False) as session:
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert session.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        engine.dispose()


def test_a_start_up_step_waits_for_the_database_saying_so_once_each_way(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    outage = Outage(
        "start-up", logging.getLogger("t"), base=0.5, cap=4.0, clock=clock, rand=lambda: 1
    )
    caplog.set_level(logging.INFO, logger="t")
    tries: list[int] = []
    slept: list[float] = []

    def migrate_once_up() -> str:
        tries.append(1)
        if len(tries) < 4:
            raise DatabaseUnavailable("connection refused")
        return "migrated"

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    assert until_reachable(migrate_once_up, outage, sleep=sleep) == "migrated"
    assert len(tries) == 4 and slept == [0.5, 1.0, 2.0]
    assert [r.getMessage() for r in caplog.records] == [
        "start-up: the database is unavailable (connection refused); retrying with backoff "
        "until it is back",
        "start-up: the database is back after 3.5 s (3 failed round(s))",
    ]


def test_a_start_up_step_does_not_wait_out_a_bug() -> None:
    outage = Outage("start-up", logging.getLogger("t"))

    def broken() -> None:
        raise ValueError("not an outage")

    with pytest.raises(ValueError, match="not an outage"):
        until_reachable(broken, outage, sleep=lambda _s: None)


def test_migrating_a_database_nobody_answers_for_is_database_unavailable() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test?connect_timeout=2"
    with pytest.raises(DatabaseUnavailable):
        migrate(url)
