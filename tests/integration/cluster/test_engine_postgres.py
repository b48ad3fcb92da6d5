"""The engine on PostgreSQL: every migration, claim order, concurrent claimers with SKIP
LOCKED, lease expiry and fencing, claims handed to cluster workers, and heartbeats that do
not wait on locked rows.

Each engine here has its own connection pool, as separate processes would: the locking is
PostgreSQL's, not Python's.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine as DbEngine
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from reelflow.config import Settings
from reelflow.db.models import Base, Job, Task
from reelflow.db.session import create_db_engine, migrate, session_factory
from reelflow.engine.events import Report
from reelflow.engine.service import Engine
from reelflow.executors.base import JobContext
from reelflow.specs.jobs import JobPayload, JobResult
from reelflow.specs.states import JobState, TaskState
from tests.unit.engine.fakes import (
    MEDIA_INFO,
    FakeClock,
    FakePlanner,
    NoCancel,
    ScriptedRunner,
    finished,
    make_request,
    run,
)

pytestmark = pytest.mark.integration

LEASE = 30.0


@pytest.fixture
def settings() -> Settings:
    return Settings(lease_seconds=LEASE, max_attempts=3, job_timeout=120)


@pytest.fixture
def engines(pg_url: str, pg: DbEngine, settings: Settings) -> Iterator[list[Engine]]:
    """Two engines over the same schema, each with its own connection pool."""
    pools = [create_db_engine(pg_url) for _ in range(2)]
    yield [Engine(session_factory(pool), FakePlanner(), settings) for pool in pools]
    for pool in pools:
        pool.dispose()


def jobs(db: DbEngine) -> list[Job]:
    with Session(db, expire_on_commit=False) as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


# -- schema -------------------------------------------------------------------------------


def test_every_migration_runs_and_matches_the_models(pg: DbEngine) -> None:
    with pg.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert list(compare_metadata(context, Base.metadata)) == []
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert {"tasks", "jobs", "notify_events", "triggered_objects"} <= set(
        inspect(pg).get_table_names()
    )
    migrate(pg)  # again: nothing to do
    with pg.connect() as connection:
        again = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert again == version


def test_processes_starting_together_migrate_one_after_the_other(pg_url: str) -> None:
    code = f"from reelflow.db.session import migrate; migrate({pg_url!r})"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], errors


# -- claiming -----------------------------------------------------------------------------


def test_claim_order_is_priority_then_oldest(pg: DbEngine, settings: Settings) -> None:
    clock = FakeClock()
    engine = Engine(session_factory(pg), FakePlanner(), settings, clock=clock)
    names = {}
    for name, priority in [("low-a", 0), ("high-a", 5), ("low-b", 0), ("urgent", 10)]:
        names[engine.submit(make_request(1, priority=priority))] = name
        clock.advance(1)
    order = [names[job.task_id] for _ in range(4) for job in engine.claim("w", 1)]
    assert order == ["urgent", "high-a", "low-a", "low-b"]


def test_two_engines_claiming_at_once_never_take_the_same_job(
    engines: list[Engine], pg: DbEngine
) -> None:
    submitted = [engines[0].submit(make_request(1)) for _ in range(60)]
    claimed: list[JobPayload] = []
    lock = threading.Lock()

    def claimer(engine: Engine, name: str) -> None:
        while True:
            got = engine.claim(name, 3)
            if not got:
                if all(job.state is not JobState.QUEUED for job in jobs(pg)):
                    return
                continue
            with lock:
                claimed.extend(got)

    threads = [
        threading.Thread(target=claimer, args=(engine, f"s{i}-{n}"))
        for i, engine in enumerate(engines)
        for n in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    counts = Counter(job.job_id for job in claimed)
    assert len(counts) == 60 and set(counts.values()) == {1}, counts.most_common(3)
    assert sorted({job.task_id for job in claimed}) == sorted(submitted)
    rows = jobs(pg)
    assert {(row.state, row.attempt) for row in rows} == {(JobState.RUNNING, 1)}
    owners = {job.job_id: job.owner for job in claimed}
    assert {str(row.id): row.lease_owner for row in rows} == owners
    assert len(set(owners.values())) > 1  # both engines did take part


def test_a_locked_task_is_skipped_not_waited_for(engines: list[Engine], pg: DbEngine) -> None:
    first = engines[0].submit(make_request(1))
    second = engines[0].submit(make_request(1))
    with Session(pg) as other, other.begin():
        # Another process is busy with the first task (its row locked, as a result being
        # applied holds it).
        other.execute(select(Task).where(Task.id == first).with_for_update())
        started = time.monotonic()
        [job] = engines[1].claim("s2", 5)
        assert time.monotonic() - started < 2.0
        assert job.task_id == second
    [again] = engines[1].claim("s2", 5)
    assert again.task_id == first


# -- leases and fencing ---------------------------------------------------------------------


def test_an_expired_lease_is_taken_back_once_and_the_late_result_is_ignored(
    pg_url: str, pg: DbEngine, settings: Settings
) -> None:
    clock = FakeClock()
    pools = [create_db_engine(pg_url) for _ in range(2)]
    try:
        crashed, survivor = (
            Engine(session_factory(pool), FakePlanner(), settings, clock=clock) for pool in pools
        )
        task_id = survivor.submit(make_request(1))
        [probe] = crashed.claim("crashed", 1)
        clock.advance(LEASE + 1)
        swept: list[int] = []  # list.append is atomic; ``total += n`` across threads is not
        barrier = threading.Barrier(2)

        def sweep(engine: Engine) -> None:
            barrier.wait()
            swept.append(engine.requeue_expired())

        threads = [threading.Thread(target=sweep, args=(e,)) for e in (crashed, survivor)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(swept) == [0, 1]  # one sweeper takes it back, the other finds nothing
        [row] = jobs(pg)
        assert (row.state, row.attempt, row.lease_owner) == (JobState.QUEUED, 1, None)

        clock.advance(60)  # past the retry backoff
        [retry] = survivor.claim("survivor", 1)
        assert (retry.job_id, retry.attempt) == (probe.job_id, 2)
        # The first worker was only slow: its result and heartbeat arrive now, too late.
        late = JobResult(job_id=probe.job_id, ok=True, media_info=MEDIA_INFO)
        assert not crashed.handle(finished(probe, late), attempt=1, owner="crashed")
        assert crashed.heartbeat("crashed", [probe.job_id]) == [probe.job_id]
        assert run(survivor, ScriptedRunner(), retry, owner="survivor")
        assert survivor.task_view(task_id).state is not TaskState.QUEUED
        [row] = [r for r in jobs(pg) if r.kind.value == "probe"]
        assert (row.state, row.attempt) == (JobState.SUCCEEDED, 2)
    finally:
        for pool in pools:
            pool.dispose()


def test_a_dispatched_claim_is_adopted_by_exactly_one_worker(
    engines: list[Engine], pg: DbEngine
) -> None:
    scheduler, worker_side = engines
    scheduler.submit(make_request(1))
    [job] = scheduler.claim("sched", 1, lease_seconds=300)
    assert job.owner == "sched"
    # The message is delivered twice (a broker redelivery) to two workers at once.
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def adopt(worker: str) -> None:
        barrier.wait()
        results.append(worker_side.adopt(job.job_id, job.attempt, job.owner, worker))

    threads = [threading.Thread(target=adopt, args=(w,)) for w in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]
    [row] = jobs(pg)
    winner = row.lease_owner
    assert winner in ("w1", "w2")
    loser = "w2" if winner == "w1" else "w1"
    assert worker_side.heartbeat(loser, [job.job_id]) == [job.job_id]
    assert worker_side.heartbeat(winner, [job.job_id]) == []
    result = JobResult(job_id=job.job_id, ok=True, media_info=MEDIA_INFO)
    assert not worker_side.handle(finished(job, result), attempt=1, owner=loser)
    assert worker_side.handle(finished(job, result), attempt=1, owner=winner)
    assert scheduler.claims_ended({job.job_id: 1}) == {job.job_id: True}
    assert not worker_side.adopt(job.job_id, job.attempt, job.owner, "w3")  # finished


def test_an_unadopted_claim_expires_after_its_dispatch_lease(
    pg: DbEngine, settings: Settings
) -> None:
    clock = FakeClock()
    engine = Engine(session_factory(pg), FakePlanner(), settings, clock=clock)
    engine.submit(make_request(1))
    [job] = engine.claim("sched", 1, lease_seconds=300)
    clock.advance(LEASE + 1)
    assert engine.requeue_expired() == 0  # a dispatch lease, not the workers' 30 s
    assert engine.claims_ended({job.job_id: job.attempt}) == {}
    clock.advance(300)
    assert engine.requeue_expired() == 1  # the message was lost: the job comes back
    assert engine.claims_ended({job.job_id: job.attempt}) == {job.job_id: False}
    assert not engine.adopt(job.job_id, job.attempt, job.owner, "late-worker")


def test_claims_handed_back_do_not_use_up_an_attempt(engines: list[Engine], pg: DbEngine) -> None:
    engine = engines[0]
    for _ in range(3):
        engine.submit(make_request(1))
    claimed = engine.claim("sched", 3)
    back = [claimed[1].job_id, claimed[2].job_id]
    assert engine.requeue_owner("sched", back) == 2
    rows = {str(row.id): row for row in jobs(pg)}
    assert rows[claimed[0].job_id].state is JobState.RUNNING
    assert [(rows[i].state, rows[i].attempt, rows[i].max_attempts) for i in back] == [
        (JobState.QUEUED, 1, 4),
        (JobState.QUEUED, 1, 4),
    ]


def test_a_heartbeat_skips_rows_locked_by_a_cancel_instead_of_waiting(
    pg: DbEngine, engines: list[Engine], settings: Settings
) -> None:
    planner = FakePlanner()
    planner.split = True  # two media jobs for one task, as a cluster plans them
    engine = Engine(session_factory(pg), planner, settings)
    other = engines[1]
    task_id = engine.submit(make_request(2))
    [probe] = engine.claim("w", 1)
    assert run(engine, ScriptedRunner(), probe, owner="w")
    first, second = sorted(engine.claim("w", 2), key=lambda job: int(job.job_id))
    lost: list[list[str]] = []
    with Session(pg) as session, session.begin():
        # A cancel in progress: it holds the task row, then the second job's row...
        session.execute(select(Task).where(Task.id == task_id).with_for_update())
        session.execute(select(Job).where(Job.id == int(second.job_id)).with_for_update())
        beat = threading.Thread(
            target=lambda: lost.append(other.heartbeat("w", [first.job_id, second.job_id]))
        )
        beat.start()
        beat.join(timeout=5)
        # ...and a heartbeat that waited for that row while holding the first job's would
        # close a cycle with the cancel's next lock: PostgreSQL would abort one of them.
        assert not beat.is_alive(), "the heartbeat waited on a locked row"
        session.execute(select(Job).where(Job.id == int(first.job_id)).with_for_update(nowait=True))
    beat.join(timeout=30)
    assert lost == [[]]  # the locked one is not reported lost: it is renewed next time
    other.cancel(task_id)
    assert sorted(other.heartbeat("w", [first.job_id, second.job_id])) == sorted(
        [first.job_id, second.job_id]
    )


def test_a_result_that_waited_for_its_task_sees_what_was_committed_meanwhile(
    pg_url: str, pg: DbEngine, settings: Settings
) -> None:
    """Two media jobs of one task end at once (two cluster workers): the second result waits
    for the task row, and must then see the first's sub-task as it was committed, else the
    task is never finished (a lock statement that joined the sub-tasks would return them
    from its snapshot taken before the wait)."""
    planner = FakePlanner()
    planner.split = True  # one media job per sub-task
    pool = create_db_engine(pg_url)
    try:
        engine = Engine(session_factory(pool), planner, settings)
        task_id = engine.submit(make_request(2))
        runner = ScriptedRunner()
        [probe] = engine.claim("w1", 1)
        assert run(engine, runner, probe)
        first, second = engine.claim("w1", 2)
        waited = threading.Event()
        outcome: list[bool] = []

        def second_result() -> None:
            outcome.append(run(engine, runner, second))
            waited.set()

        with Session(pg) as other, other.begin():
            # The first job's result, being applied by another process: task row locked.
            other.execute(select(Task).where(Task.id == task_id).with_for_update())
            thread = threading.Thread(target=second_result)
            thread.start()
            assert not waited.wait(1.0)  # the second result waits for the task row
            index = first.works[0].index
            other.execute(
                text(
                    "UPDATE subtasks SET state = 'succeeded' WHERE task_id = :t AND \"index\" = :i"
                ),
                {"t": task_id, "i": index},
            )
            other.execute(
                text("UPDATE jobs SET state = 'succeeded' WHERE id = :j"), {"j": int(first.job_id)}
            )
        thread.join(30)
        assert outcome == [True]
        assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    finally:
        pool.dispose()


def test_batches_of_results_crossing_the_same_tasks_never_deadlock(
    pg_url: str, pg: DbEngine, settings: Settings
) -> None:
    """Two engines record, at once and many times, batches holding results of the same
    tasks in opposite orders: each batch locks its tasks in one order, so neither waits
    for the other for ever (PostgreSQL would abort one with a deadlock error)."""
    pools = [create_db_engine(pg_url) for _ in range(2)]
    planners = [FakePlanner(), FakePlanner()]
    for planner in planners:
        planner.split = True  # one media job per sub-task: two per task
    pair = [Engine(session_factory(p), pl, settings) for p, pl in zip(pools, planners, strict=True)]
    runner = ScriptedRunner()
    tasks = [pair[0].submit(make_request(2)) for _ in range(12)]
    for probe in pair[0].claim("w0", 100):
        run(pair[0], runner, probe, "w0")
    media = [pair[i % 2].claim(f"w{i % 2}", 1)[0] for i in range(24)]
    batches: list[list[Report]] = [[], []]
    for i, job in enumerate(media):
        result = runner(job, JobContext(progress=lambda _: None, cancel=NoCancel()))
        batches[i % 2].append(Report(finished(job, result), job.attempt, f"w{i % 2}"))
    batches[1].reverse()  # the same tasks, the other way round
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def record(engine: Engine, batch: list[Report]) -> None:
        start.wait()
        try:
            assert engine.finish_many(batch) == [True] * len(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(pair[i], batches[i])) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert {pair[0].task_view(t).state for t in tasks} == {TaskState.SUCCEEDED}
    for pool in pools:
        pool.dispose()
