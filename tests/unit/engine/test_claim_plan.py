"""A claim reads the head of the queue by index, never sorting the queue (issue 21): the
queries of ``engine.claims`` as SQLite plans them (PostgreSQL's plans are checked by hand
with ``EXPLAIN ANALYZE`` at depth: bench/README.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine as DbEngine
from sqlalchemy import text

from reelflow.engine.claims import READY_ACCOUNTS_SQL, head_of
from reelflow.engine.jobs import SWEEP_BATCH, expired


def plan(db: DbEngine, sql: str) -> str:
    with db.connect() as connection:
        rows = connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_the_head_of_an_account_is_read_in_index_order(db: DbEngine) -> None:
    query = head_of(7, 16, datetime(2025, 3, 1, tzinfo=UTC))
    shown = plan(db, str(query.compile(db, compile_kwargs={"literal_binds": True})))
    assert "USING INDEX ix_jobs_claim (state=? AND account_id=?)" in shown
    assert "TEMP B-TREE" not in shown and "SCAN jobs" not in shown


def test_the_accounts_with_ready_jobs_are_found_by_skipping_along_the_index(
    db: DbEngine,
) -> None:
    sql = READY_ACCOUNTS_SQL.replace(":queued", "'queued'").replace(":now", "'2025-03-01'")
    shown = plan(db, sql)
    assert "SEARCH j USING INDEX ix_jobs_claim (state=? AND account_id>?)" in shown
    assert "TEMP B-TREE" not in shown and "SCAN jobs" not in shown


def test_the_lease_sweep_reads_one_range_of_its_index(db: DbEngine) -> None:
    query = expired(datetime(2025, 3, 1, tzinfo=UTC)).limit(SWEEP_BATCH)
    shown = plan(db, str(query.compile(db, compile_kwargs={"literal_binds": True})))
    assert "USING COVERING INDEX ix_jobs_state_lease_expires_at (state=? AND" in shown
    assert "SCAN jobs" not in shown


def test_the_dashboard_hours_come_from_the_index_alone(db: DbEngine) -> None:
    """``TaskStats.finished_by_hour``'s range: covering, so no task row is read."""
    shown = plan(
        db,
        "SELECT substr(finished_at, 1, 13), state, count(*) FROM tasks WHERE account_id = 1"
        " AND finished_at >= '2025-03-01' AND finished_at < '2025-03-02'"
        " GROUP BY 1, 2",
    )
    assert "USING COVERING INDEX ix_tasks_account_id_finished_at_state" in shown
