"""The split in parallel through the engine (real planner, scripted runner): a group's
boundaries are scanned by several SPLIT jobs, each a range; the chunks are planned once
the last of them succeeds, exactly as one split job plans them; a split job lost runs again
alone, one failing for good fails the output naming its range and cancels the others.
The source is ``WITH_AUDIO`` (10 s), 2 s chunks: boundaries 1-4; at most one per split
job here (``chunk_split_boundaries`` 1): four split jobs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine as DbEngine

from reelflow.executors.base import JobContext
from reelflow.media.chunks import find_boundaries, output_frame_times, plan_chunks
from reelflow.specs.chunks import ChunkRole
from reelflow.specs.jobs import JobKind, JobPayload, JobResult
from reelflow.specs.states import JobState, SubTaskState, TaskState
from tests.unit.engine.fakes import FakeClock, NoCancel, drive, finished, job_rows
from tests.unit.engine.test_chunk_nodes import ChunkRunner, make_engine, request

SCENES = [2.3, 7.6]  # within a quarter chunk (0.5 s) of the targets 2 and 8


class RangeRunner(ChunkRunner):
    """Split jobs find their range's boundaries over a ``scanned``-second scan (as the
    executor does: ``find_boundaries``), unless their first boundary is in ``failing_splits``."""

    def __init__(self, scanned: float = 10.0) -> None:
        super().__init__()
        self.scanned = scanned
        self.failing_splits: set[int] = set()

    def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
        part = job.chunked
        if part is None or part.role is not ChunkRole.SPLIT:
            return super().__call__(job, ctx)
        self.calls.append(job)
        if part.first_boundary in self.failing_splits:
            return JobResult(job_id=job.job_id, ok=False, error_code="InvalidMedia", message="y")
        frames = output_frame_times(self.scanned, 25)
        found = find_boundaries(
            frames, self.scanned, part.chunk_seconds, scenes=SCENES,
            first=part.first_boundary, last=part.last_boundary,
        )  # fmt: skip
        return JobResult(job_id=job.job_id, ok=True, split_found=found)


def splits(runner: ChunkRunner) -> list[tuple[int, int]]:
    return [
        (job.chunked.first_boundary, job.chunked.last_boundary)
        for job in runner.calls
        if job.chunked is not None and job.chunked.role is ChunkRole.SPLIT
    ]


def join_plan(runner: ChunkRunner) -> list[tuple[float, float, int]]:
    [join] = [job for job in runner.calls if job.kind is JobKind.JOIN]
    assert join.chunked is not None and join.chunked.plan is not None
    return [(c.start, c.cut_start, c.frames) for c in join.chunked.plan.chunks]


def test_several_split_jobs_plan_exactly_what_one_does(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    plans = {}
    for per_split in (1, 0):  # four split jobs, then one
        engine = make_engine(db, tmp_path, clock, workers=2, chunk_split_boundaries=per_split)
        runner = RangeRunner()
        task_id = engine.submit(request())
        drive(engine, runner)
        assert engine.task_view(task_id).state is TaskState.SUCCEEDED
        plans[per_split] = join_plan(runner)
        rows = [r for r in job_rows(db, task_id) if r.kind is JobKind.CHUNK]
        split_rows = [r for r in rows if r.payload["chunked"]["role"] == "split"]
        assert all((r.state, r.attempt) == (JobState.SUCCEEDED, 1) for r in split_rows)
        # What each found stays in its row; the parts name the first split's generation.
        assert all(r.payload["chunked"]["found"]["count"] == 5 for r in split_rows)
        lead = split_rows[0].id
        others = [r for r in rows if r.payload["chunked"]["role"] != "split"]
        assert {r.payload["chunked"]["split"] for r in others} == {lead}
        assert all(r.payload["chunked"]["found"] is None for r in others)
        assert all(r.payload["chunked"]["prefix"].endswith(f"-s{lead}") for r in others)
        if per_split:
            assert splits(runner) == [(1, 1), (2, 2), (3, 3), (4, 0)]
            roles = runner.roles()
            # Every split ran (once) before any chunk was planned.
            assert roles[:1] == ["probe"] and roles.index("audio") > roles.index("split") + 3
            assert roles.count("split") == 4 and roles.count("video") == 5
        else:
            assert splits(runner) == [(1, 0)]
    assert plans[1] == plans[0]
    one = plan_chunks(output_frame_times(10.0, 25), 10.0, 2.0, scenes=SCENES)
    assert one is not None
    assert plans[1] == [(c.start, c.cut_start, c.frames) for c in one.chunks]
    starts = [start for start, _, _ in plans[1]]
    assert starts[2:4] == [4.0, 6.0] and 2.28 <= starts[1] <= 2.32 and 7.56 <= starts[4] <= 7.6


def test_the_chunks_wait_for_the_last_split_and_a_lost_one_runs_again_alone(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(
        db, tmp_path, clock, workers=2, chunk_split_boundaries=2, lease_seconds=30.0
    )
    runner = RangeRunner(scanned=14.0)  # the scan finds 14 s where the probe said 10
    task_id = engine.submit(request())
    for job in engine.claim("w1", 10):  # the probe
        engine.handle(finished(job, runner(job, JobContext(print, NoCancel()))), owner="w1")
    claimed = engine.claim("dead", 10)
    split_jobs = [j for j in claimed if j.chunked and j.chunked.role is ChunkRole.SPLIT]
    assert [(j.chunked.first_boundary, j.chunked.last_boundary) for j in split_jobs] == [
        (1, 2),
        (3, 0),
    ]
    lost = split_jobs[1]
    for job in claimed:
        if job is not lost:
            engine.handle(finished(job, runner(job, JobContext(print, NoCancel()))), owner="dead")
    assert engine.claim("w2", 10) == []  # no chunk before the last split succeeded
    clock.advance(31)
    assert engine.requeue_expired() == 1
    clock.advance(10)
    drive(engine, runner, owner="w2")
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    attempts = {r.id: r.attempt for r in job_rows(db, task_id) if r.kind is JobKind.CHUNK}
    assert [job_id for job_id, n in attempts.items() if n > 1] == [int(lost.job_id)]
    # Seven chunks of the 14 s scan: the last range took the boundaries 3-6.
    one = plan_chunks(output_frame_times(14.0, 25), 14.0, 2.0, scenes=SCENES)
    assert one is not None and len(one.chunks) == 7
    assert join_plan(runner) == [(c.start, c.cut_start, c.frames) for c in one.chunks]


def test_a_split_failing_for_good_fails_the_output_naming_its_range(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(db, tmp_path, clock, workers=2, chunk_split_boundaries=2)
    runner = RangeRunner()
    runner.failing_splits = {3}
    task_id = engine.submit(request())
    for job in engine.claim("w1", 10):  # the probe
        engine.handle(finished(job, runner(job, JobContext(print, NoCancel()))), owner="w1")
    claimed = engine.claim("w1", 10)  # both split jobs and the snapshot
    [other] = [
        j
        for j in claimed
        if j.chunked and j.chunked.role is ChunkRole.SPLIT and j.chunked.first_boundary == 1
    ]
    for job in claimed:
        if job is not other:  # it is still running when the other fails
            engine.handle(finished(job, runner(job, JobContext(print, NoCancel()))), owner="w1")
    view = engine.task_view(task_id)
    assert view.state is TaskState.FAILED
    rendition = view.subtasks[0]
    assert rendition.state is SubTaskState.FAILED
    assert rendition.err_code == "InvalidMedia"
    assert rendition.message.startswith("the split step (boundaries 3-the last) failed after 1")
    rows = [r for r in job_rows(db, task_id) if r.kind is JobKind.CHUNK]
    # The other split job and the audio (planned with the splits; both still running)
    # were cancelled; no chunk was planned.
    assert sorted(r.state for r in rows) == [JobState.CANCELLED] * 2 + [JobState.FAILED]
    assert JobKind.JOIN not in [r.kind for r in job_rows(db, task_id)]
    assert view.subtasks[2].state is SubTaskState.SUCCEEDED  # the snapshot, not chunked


def test_cancel_stops_every_split_job(db: DbEngine, tmp_path: Path, clock: FakeClock) -> None:
    engine = make_engine(db, tmp_path, clock, workers=2, chunk_split_boundaries=1)
    runner = RangeRunner()
    task_id = engine.submit(request())
    for job in engine.claim("w1", 10):  # the probe
        engine.handle(finished(job, runner(job, JobContext(print, NoCancel()))), owner="w1")
    engine.claim("w1", 2)  # two running, the rest queued
    engine.cancel(task_id)
    rows = [r for r in job_rows(db, task_id) if r.kind is JobKind.CHUNK]
    assert len(rows) == 5 and {r.state for r in rows} == {JobState.CANCELLED}  # 4 splits, audio
