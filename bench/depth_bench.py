"""``make bench-depth``: the scheduler at depth, on SQLite and PostgreSQL (issue 21).

The engine alone: jobs are run by a test executor that completes each job at once (no
FFmpeg, no storage), with the unit tests' scripted runner and fake planner (a task is a
probe job, then one media job). Backlogs are bulk-inserted with SQL, as copies of one task
submitted through the engine, so that 100,000 queued tasks and 1,000,000 finished jobs take
seconds to set up. Each measurement gets a fresh SQLite file or a fresh PostgreSQL schema.

1. claim p50: ``Engine.claim`` of one job with N tasks queued, with and without a mass of
   finished jobs in the table (PostgreSQL is ANALYZEd after each bulk insert, as autovacuum
   would be; SQLite is not, as reelflow never runs ANALYZE);
2. drain: jobs per second through the real ``Scheduler`` from a 10,000-task backlog, with
   the SQL statements per job; on PostgreSQL also 4 schedulers (processes, each with its
   own connection pool) on one database, with the share of claims that came back empty;
3. fairness: account 1 has a 10,000-task backlog being drained; account 2 submits one task:
   how long until it starts, and how many jobs ran before it.

4. lists: p50 of the reads behind the task lists and the figures with 100,000 tasks of one
   account in the database (90% finished): the REST list's first and third page, the
   compatible ``DescribeTasks`` (its page and its ``TotalCount``, exact and capped as served),
   the dashboard's counts by state and its finished tasks per hour (the 90,000 finished
   tasks all finished within the hour: the worst case) and the ``/metrics`` snapshot.

``--quick``: 100 and 10,000 queued, 100,000 finished, 8 s drains (a shared machine).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import Engine as DbEngine
from sqlalchemy import create_engine, event, inspect, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the unit tests' fakes: tests/unit/engine/fakes.py

from tests.unit.engine.fakes import FakePlanner, NoCancel, ScriptedRunner, make_request  # noqa: E402

from reelflow.api.mps.actions.tasks import TOTAL_COUNT_CAP  # noqa: E402
from reelflow.config import Settings  # noqa: E402
from reelflow.console.stats import throughput  # noqa: E402
from reelflow.db.session import create_db_engine, migrate, session_factory  # noqa: E402
from reelflow.engine.ports import Reporter  # noqa: E402
from reelflow.engine.scheduler import Scheduler  # noqa: E402
from reelflow.engine.service import Engine  # noqa: E402
from reelflow.engine.stats import TaskStats  # noqa: E402
from reelflow.specs.jobs import JobEvent, JobEventType, JobPayload  # noqa: E402
from reelflow.specs.states import TaskState  # noqa: E402

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SLOTS = 16
CLAIMS = 30  # claims timed per depth


# -- databases ---------------------------------------------------------------------------


@contextmanager
def sqlite_db() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="reelflow-depth-") as folder:
        yield f"sqlite:///{folder}/bench.db"


@contextmanager
def postgres_db() -> Iterator[str]:
    admin = create_engine(POSTGRES_URL, pool_size=1)
    schema = f"rf_depth_{uuid.uuid4().hex[:10]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


DATABASES: dict[str, Callable[[], Any]] = {"sqlite": sqlite_db, "postgresql": postgres_db}


class Backlog:
    """Bulk rows copied from one template task submitted through the engine."""

    def __init__(self, db: DbEngine, engine: Engine) -> None:
        self.db = db
        self.pg = db.dialect.name == "postgresql"
        self.template = engine.submit(make_request(1))
        with db.connect() as c:
            self.template_job = c.execute(
                text("SELECT id FROM jobs WHERE task_id = :t"), {"t": self.template}
            ).scalar_one()
        job_columns = {c["name"] for c in inspect(db).get_columns("jobs")}
        self.job_account = "account_id" in job_columns  # added by issue 21's migration
        self.batches = 0

    def _numbers(self, count: int) -> str:
        if self.pg:
            return f"SELECT generate_series(1, {count}) AS n"
        return (
            f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count})"
            " SELECT n FROM s"
        )

    def add(
        self,
        count: int,
        *,
        account: int = 1,
        finished: bool = False,
        per_task: int = 1,
        analyze: bool = True,
    ) -> None:
        """``count`` queued tasks of ``account`` (each with its queued probe job), or with
        ``finished`` ``count`` succeeded jobs (``per_task`` of them to a succeeded task)."""
        if count <= 0:
            return
        self.batches += 1
        prefix = f"rf-b{self.batches}-"
        tasks = -(-count // per_task)
        state = "succeeded" if finished else "queued"
        job_state = "succeeded" if finished else "queued"
        concat = "||"
        with self.db.begin() as c:
            c.execute(
                text(
                    "INSERT INTO tasks (id, account_id, state, priority, workflow_id, session_id,"
                    " session_context, request, source, media_info, err_code, message,"
                    " created_at, started_at, finished_at, updated_at)"
                    f" SELECT :prefix {concat} CAST(x.n AS TEXT), :account, :state, t.priority,"
                    " t.workflow_id, '', '', t.request, t.source, t.media_info, '', '',"
                    f" t.created_at, NULL, {'t.created_at' if finished else 'NULL'}, t.updated_at"
                    f" FROM tasks t, ({self._numbers(tasks)}) x WHERE t.id = :template"
                ),
                {"prefix": prefix, "account": account, "state": state, "template": self.template},
            )
            if not finished:
                c.execute(
                    text(
                        'INSERT INTO subtasks (task_id, "index", kind, state, progress, err_code,'
                        " message, spec, output, job_id, attempts, started_at, finished_at)"
                        f' SELECT :prefix {concat} CAST(x.n AS TEXT), s."index", s.kind,'
                        " s.state, 0, '', '', s.spec, NULL, NULL, 0, NULL, NULL"
                        f" FROM subtasks s, ({self._numbers(tasks)}) x WHERE s.task_id = :template"
                    ),
                    {"prefix": prefix, "template": self.template},
                )
            # The write lock before reading the last id: a running scheduler inserts jobs too.
            if self.pg:
                c.execute(text("LOCK TABLE jobs IN EXCLUSIVE MODE"))
            else:
                c.execute(text("UPDATE jobs SET id = id WHERE 0 = 1"))
            base = c.execute(text("SELECT COALESCE(MAX(id), 0) FROM jobs")).scalar_one()
            if finished:
                payload = "'{}'"
            elif self.pg:
                payload = (
                    "jsonb_set(jsonb_set(j.payload::jsonb, '{job_id}', to_jsonb(CAST(:base + x.n"
                    " AS TEXT))), '{task_id}', to_jsonb(:prefix || CAST(x.n AS TEXT)))::json"
                )
            else:
                payload = (
                    "json_set(j.payload, '$.job_id', CAST(:base + x.n AS TEXT), '$.task_id',"
                    " :prefix || CAST(x.n AS TEXT))"
                )
            task_of = f"((x.n - 1) / {per_task} + 1)"
            account_column, account_value = ("", "")
            if self.job_account:
                account_column, account_value = (", account_id", ", :account")
            c.execute(
                text(
                    f"INSERT INTO jobs (id{account_column}, task_id, kind, state, priority,"
                    " payload, subtasks, attempt, max_attempts, lease_owner, lease_expires_at,"
                    " not_before, outage_since, progress, err_code, message, created_at,"
                    " started_at, finished_at)"
                    f" SELECT :base + x.n{account_value}, :prefix || CAST({task_of} AS TEXT),"
                    f" j.kind, :state, j.priority, {payload}, j.subtasks, 0, j.max_attempts,"
                    " NULL, NULL, j.not_before, NULL, 0, '', '', j.created_at, NULL, NULL"
                    f" FROM jobs j, ({self._numbers(count)}) x WHERE j.id = :template_job"
                ),
                {
                    "prefix": prefix,
                    "account": account,
                    "state": job_state,
                    "template_job": self.template_job,
                    "base": base,
                },
            )
            if self.pg:
                c.execute(
                    text("SELECT setval(pg_get_serial_sequence('jobs', 'id'), MAX(id)) FROM jobs")
                )
        if self.pg and analyze:
            with self.db.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("ANALYZE"))

    def queued(self) -> int:
        with self.db.connect() as c:
            return int(
                c.execute(text("SELECT COUNT(*) FROM jobs WHERE state = 'queued'")).scalar_one()
            )


# -- the test executor -------------------------------------------------------------------


class InstantExecutor:
    """Completes each job at once: the scripted runner's result is reported inside
    ``submit`` (the scheduler registers a claim before submitting it)."""

    reports_to_engine: ClassVar[bool] = False

    def __init__(self, on_finished: Callable[[JobPayload], None] | None = None) -> None:
        self.runner = ScriptedRunner()
        self.report: Reporter | None = None
        self.done = 0
        self.on_finished = on_finished

    def start(self, report: Reporter) -> None:
        self.report = report

    def submit(self, job: JobPayload) -> None:
        from reelflow.executors.base import JobContext

        result = self.runner(job, JobContext(progress=lambda _: None, cancel=NoCancel()))
        self.runner.calls.clear()
        assert self.report is not None
        self.report(JobEvent(job_id=job.job_id, type=JobEventType.FINISHED, result=result))
        self.done += 1
        if self.on_finished is not None:
            self.on_finished(job)

    def free_slots(self) -> int:
        return SLOTS

    def cancel(self, job_id: str) -> None:
        pass

    def close(self, *, wait: bool = True) -> None:
        pass

    def forget(self, job_id: str) -> None:
        pass


class CountingEngine(Engine):
    """Counts claims, and claims that came back empty."""

    claim_calls = 0
    empty_claims = 0

    def claim(
        self, owner: str, limit: int, *, lease_seconds: float | None = None
    ) -> list[JobPayload]:
        claimed = super().claim(owner, limit, lease_seconds=lease_seconds)
        self.claim_calls += 1
        self.empty_claims += not claimed
        return claimed


@dataclass
class Statements:
    count: int = 0
    engines: list[DbEngine] = field(default_factory=list)

    def watch(self, db: DbEngine) -> None:
        def counted(*_: Any) -> None:
            self.count += 1

        event.listen(db, "before_cursor_execute", counted)


def settings() -> Settings:
    return Settings(lease_seconds=60, max_attempts=3, job_timeout=120)


# -- measurements ------------------------------------------------------------------------


def claim_p50(db_kind: str, depths: Sequence[int], finished: int) -> list[float]:
    """p50 ms of ``claim(owner, 1)`` at each queued depth, ``finished`` jobs in the table."""
    result: list[float] = []
    with DATABASES[db_kind]() as url:
        db = create_db_engine(url)
        migrate(db)
        engine = Engine(session_factory(db), FakePlanner(), settings())
        backlog = Backlog(db, engine)
        backlog.add(finished, finished=True, per_task=1000)
        for depth in depths:
            backlog.add(depth - backlog.queued())
            times = []
            for _ in range(CLAIMS):
                started = time.perf_counter()
                claimed = engine.claim("bench", 1)
                times.append((time.perf_counter() - started) * 1000)
                assert len(claimed) == 1
            result.append(statistics.median(times))
        db.dispose()
    return result


LIST_REPEATS = 20
FINISH = (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)


def list_p50(db_kind: str, tasks: int) -> dict[str, float]:
    """p50 ms of each list and figure read with ``tasks`` tasks of account 1 (10% queued)."""
    result: dict[str, float] = {}
    with DATABASES[db_kind]() as url:
        db = create_db_engine(url)
        migrate(db)
        sessions = session_factory(db)
        engine = Engine(sessions, FakePlanner(), settings())
        backlog = Backlog(db, engine)
        backlog.add(tasks - tasks // 10, finished=True)
        backlog.add(tasks // 10 - 1)
        if backlog.pg:
            # Autovacuum's visibility map, which index-only counts rely on (a bulk insert
            # this size triggers autovacuum within a minute on a live server).
            with db.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE tasks"))
        stats = TaskStats(sessions)
        window = datetime.now(UTC) - timedelta(days=7)

        def third_page() -> object:
            _, cursor = engine.list_tasks(limit=50, account_id=1)
            _, cursor = engine.list_tasks(limit=50, cursor=cursor, account_id=1)
            return engine.list_tasks(limit=50, cursor=cursor, account_id=1)

        reads: dict[str, Callable[[], object]] = {
            "REST list, first page (50)": lambda: engine.list_tasks(limit=50, account_id=1),
            "REST list, three pages (keyset)": third_page,
            "DescribeTasks FINISH page (10)": lambda: engine.list_tasks(
                FINISH, limit=10, created_after=window, account_id=1
            ),
            "DescribeTasks FINISH TotalCount (exact)": lambda: engine.count_tasks(
                FINISH, created_after=window, account_id=1
            ),
            "DescribeTasks FINISH TotalCount (capped, as served)": lambda: engine.count_tasks(
                FINISH, created_after=window, account_id=1, at_most=TOTAL_COUNT_CAP
            ),
            "dashboard: tasks by state": lambda: stats.tasks_by_state(1),
            "dashboard: finished per hour (all in the last hour)": lambda: throughput(stats, 1),
            "/metrics snapshot": stats.snapshot,
        }
        for name, read in reads.items():
            times = []
            for _ in range(LIST_REPEATS):
                started = time.perf_counter()
                read()
                times.append((time.perf_counter() - started) * 1000)
            result[name] = statistics.median(times)
        db.dispose()
    return result


@dataclass
class Drain:
    jobs_per_s: float
    statements_per_job: float
    claims: int
    empty: int
    cpu_ms_per_job: float  # the scheduler processes' own CPU (not the database server's)
    server_ms_per_job: float  # PostgreSQL: the CPU of the schedulers' backends (0: SQLite)


class Backends:
    """The CPU seconds of the PostgreSQL backends serving one pool (``/proc``: the server
    runs on this machine), so that a drain's cost can be told from the machine's load."""

    def __init__(self, db: DbEngine) -> None:
        self.pids: set[int] = set()
        if db.dialect.name == "postgresql":
            event.listen(db, "connect", self._connected)

    def _connected(self, dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.pids.add(int(cursor.fetchone()[0]))
        dbapi_connection.commit()

    def cpu(self) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return total


def run_scheduler(url: str, number: int, seconds: float, results: Any) -> None:
    """One scheduler process: after a second of warm-up, count ``seconds`` of work."""
    db = create_db_engine(url)
    statements = Statements()
    statements.watch(db)
    backends = Backends(db)
    engine = CountingEngine(session_factory(db), FakePlanner(), settings())
    executor = InstantExecutor()
    scheduler = Scheduler(engine, executor, settings(), owner=f"bench-{number}")
    engine.on_jobs_added = scheduler.wake
    scheduler.start(poll=0.05)
    time.sleep(1.0)
    before = (executor.done, statements.count, engine.claim_calls, engine.empty_claims)
    cpu, server = time.process_time(), backends.cpu()
    time.sleep(seconds)
    after = (executor.done, statements.count, engine.claim_calls, engine.empty_claims)
    cpu, server = time.process_time() - cpu, backends.cpu() - server
    scheduler.stop()
    db.dispose()
    results.put((*(b - a for a, b in zip(before, after, strict=True)), cpu, server))


def drain(db_kind: str, backlog_tasks: int, seconds: float, schedulers: int = 1) -> Drain:
    """Each scheduler is a process of its own (as ``serve`` processes are), started together."""
    with DATABASES[db_kind]() as url:
        setup = create_db_engine(url)
        migrate(setup)
        backlog = Backlog(setup, Engine(session_factory(setup), FakePlanner(), settings()))
        backlog.add(backlog_tasks)
        setup.dispose()
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        processes = [
            context.Process(target=run_scheduler, args=(url, number, seconds, results))
            for number in range(schedulers)
        ]
        for process in processes:
            process.start()
        counts = [results.get(timeout=seconds + 120) for _ in processes]
        for process in processes:
            process.join()
    done, count, claims, empty, cpu, server = (sum(c) for c in zip(*counts, strict=True))
    per_job = 1000 / max(done, 1)
    return Drain(
        done / seconds, count * per_job / 1000, claims, empty, cpu * per_job, server * per_job
    )


def fair_wait(db_kind: str, backlog_tasks: int, limit: float) -> tuple[float | None, int]:
    """Seconds until account 2's new task starts behind account 1's backlog (``None``: not
    within ``limit``), and the jobs run between its submission and its start."""
    with DATABASES[db_kind]() as url:
        db = create_db_engine(url)
        migrate(db)
        engine = Engine(session_factory(db), FakePlanner(), settings())
        backlog = Backlog(db, engine)
        backlog.add(backlog_tasks, account=1)
        executor = InstantExecutor()
        scheduler = Scheduler(engine, executor, settings(), owner="bench")
        engine.on_jobs_added = scheduler.wake
        scheduler.start(poll=0.05)
        time.sleep(1.0)
        prefix = f"rf-b{backlog.batches + 1}-"
        backlog.add(1, account=2, analyze=False)
        # From the commit that queued it: a scheduler cannot see the task any earlier.
        started_at = time.perf_counter()
        before = executor.done
        waited: float | None = None
        while time.perf_counter() - started_at < limit:
            with db.connect() as c:
                state = c.execute(
                    text("SELECT state FROM tasks WHERE id = :id"), {"id": prefix + "1"}
                ).scalar_one()
            if state != "queued":
                waited = time.perf_counter() - started_at
                break
            time.sleep(0.02)
        ran = executor.done - before
        scheduler.stop()
        db.dispose()
    return waited, ran


def server_cpu(result: Drain) -> str:
    """PostgreSQL's CPU per job, and the rate one core could give if the scheduler's and the
    backend's CPU were all a job cost (a single scheduler runs its statements one after
    another, so this is its ceiling on an idle machine: a bound, not a measure)."""
    if not result.server_ms_per_job:
        return ""
    both = result.cpu_ms_per_job + result.server_ms_per_job
    return (
        f", {result.server_ms_per_job:.1f} ms of PostgreSQL backend CPU per job"
        f" (CPU ceiling on one core: {1000 / both:.0f} jobs/s)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (shared machine)")
    parser.add_argument("--db", choices=sorted(DATABASES), action="append", help="default: both")
    parser.add_argument(
        "--only",
        choices=["claims", "drain", "wait", "lists"],
        action="append",
        help="default: all four",
    )
    args = parser.parse_args(argv)
    depths = [100, 10_000] if args.quick else [100, 10_000, 100_000]
    finished = 100_000 if args.quick else 1_000_000
    seconds = 8.0 if args.quick else 20.0
    backlog = 10_000
    kinds = args.db or ["sqlite", "postgresql"]
    print("Engine alone: a test executor completes each job at once (no FFmpeg, no storage).")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    parts = args.only or ["claims", "drain", "wait", "lists"]
    if "claims" in parts:
        print(f"claim p50 (ms) of one job, {CLAIMS} claims per depth")
        print(f"| queued | finished jobs | {' | '.join(kinds)} |")
        print(f"|---|---|{'---|' * len(kinds)}")
        table: dict[tuple[str, int], list[float]] = {}
        for kind in kinds:
            for done in (0, finished):
                table[kind, done] = claim_p50(kind, depths, done)
        for done in (0, finished):
            for i, depth in enumerate(depths):
                cells = " | ".join(f"{table[kind, done][i]:.2f}" for kind in kinds)
                print(f"| {depth:,} | {done:,} | {cells} |", flush=True)
    if "drain" in parts:
        print(f"\ndrain from a {backlog:,}-task backlog ({SLOTS} slots, {seconds:.0f} s window)")
        for kind in kinds:
            result = drain(kind, backlog, seconds)
            print(
                f"{kind}, 1 scheduler: {result.jobs_per_s:.0f} jobs/s,"
                f" {result.statements_per_job:.1f} SQL statements per job,"
                f" {result.cpu_ms_per_job:.1f} ms of scheduler CPU per job" + server_cpu(result),
                flush=True,
            )
        if "postgresql" in kinds:
            result = drain("postgresql", backlog, seconds, schedulers=4)
            share = 100 * result.empty / max(result.claims, 1)
            print(
                f"postgresql, 4 schedulers: {result.jobs_per_s:.0f} jobs/s,"
                f" {result.statements_per_job:.1f} SQL statements per job,"
                f" {result.cpu_ms_per_job:.1f} ms of scheduler CPU per job"
                + server_cpu(result)
                + f", empty claims {result.empty}/{result.claims} ({share:.1f}%)",
                flush=True,
            )
    if "wait" in parts:
        limit = 30.0 if args.quick else 120.0
        print(f"\nwait of account 2's new task behind account 1's {backlog:,}-task backlog")
        for kind in kinds:
            waited, ran = fair_wait(kind, backlog, limit)
            shown = (
                f"{waited * 1000:.0f} ms"
                if waited is not None
                else f"> {limit:.0f} s (not started)"
            )
            print(f"{kind}: {shown}, {ran} jobs ran before it", flush=True)
    if "lists" in parts:
        tasks = 10_000 if args.quick else 100_000
        print(f"\nlist and figure reads, p50 ms of {LIST_REPEATS}, {tasks:,} tasks of one account")
        lists = {kind: list_p50(kind, tasks) for kind in kinds}
        print(f"| read | {' | '.join(kinds)} |")
        print(f"|---|{'---|' * len(kinds)}")
        for name in lists[kinds[0]]:
            cells = " | ".join(f"{lists[kind][name]:.1f}" for kind in kinds)
            print(f"| {name} | {cells} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
