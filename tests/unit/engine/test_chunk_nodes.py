"""Chunked groups through the engine (real planner, scripted runner): which outputs are
chunked, split -> chunks + audio -> join as job rows, the output's progress as the weighted
sum of its parts, a chunk failing for good, and a lost chunk re-run alone. The source is
``MEDIA_INFO`` with an audio stream: 10 s, so 2 s chunks make five."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import Engine as DbEngine
from sqlalchemy import select
from sqlalchemy.orm import Session

from reelflow.config import Settings
from reelflow.db.models import ChunkLeftover
from reelflow.db.session import session_factory
from reelflow.db.triggers import OwnOutput
from reelflow.engine.chunk_nodes import longest_first
from reelflow.engine.chunking import AUDIO_SHARE, chunk_groups
from reelflow.engine.service import Engine
from reelflow.executors.base import JobContext
from reelflow.media.chunks import output_frame_times, plan_chunks
from reelflow.planner.plan import DefaultPlanner
from reelflow.planner.resolve import resolve_request
from reelflow.presets.lookup import PresetLookup
from reelflow.specs.chunks import ChunkedJob, ChunkRole
from reelflow.specs.jobs import (
    JobEvent,
    JobEventType,
    JobKind,
    JobPayload,
    JobResult,
    SubTaskOutcome,
)
from reelflow.specs.media import AudioStreamInfo
from reelflow.specs.requests import TaskRequest
from reelflow.specs.states import JobState, SubTaskState, TaskState
from tests.unit.engine.fakes import MEDIA_INFO, FakeClock, NoCancel, drive, finished, job_rows
from tests.unit.engine.test_stages import result

WITH_AUDIO = dataclasses.replace(
    MEDIA_INFO,
    audio=(
        AudioStreamInfo(
            index=1, codec="aac", sample_rate=44100, channels=2, bitrate=128000, duration=10.0
        ),
    ),
)


class ChunkRunner:
    """Probes answer ``MEDIA_INFO`` (10 s); a split plans 2 s chunks; parts succeed unless
    their chunk index is in ``failing``; a join commits every work."""

    def __init__(self, scenes: tuple[float, ...] = ()) -> None:
        self.calls: list[JobPayload] = []
        self.failing: set[int] = set()
        self.scenes = scenes
        self.difficulty: dict[int, float] = {}  # a PROBE's answer by chunk (else 1000)
        self.cost: dict[int, float] = {}  # the seconds a PROBE ran, by chunk (else 1)

    def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
        self.calls.append(job)
        if job.kind is JobKind.PROBE:
            return JobResult(job_id=job.job_id, ok=True, media_info=WITH_AUDIO)
        part = job.chunked
        if job.kind is JobKind.MEDIA or part is None or part.role is ChunkRole.JOIN:
            outcomes = [SubTaskOutcome(index=w.index, ok=True, output=result(w)) for w in job.works]
            return JobResult(job_id=job.job_id, ok=True, subtasks=outcomes)
        if part.role is ChunkRole.SPLIT:
            plan = plan_chunks(
                output_frame_times(10.0, 25), 10.0, part.chunk_seconds, scenes=self.scenes
            )
            return JobResult(job_id=job.job_id, ok=True, chunk_plan=plan)
        if part.chunk is not None and part.chunk.index in self.failing:
            return JobResult(job_id=job.job_id, ok=False, error_code="FFmpegFailed", message="x")
        if part.role is ChunkRole.PROBE and part.chunk is not None:
            found = self.difficulty.get(part.chunk.index, 1000.0)
            cost = self.cost.get(part.chunk.index, 1.0)
            return JobResult(job_id=job.job_id, ok=True, difficulty=found, cost=cost)
        return JobResult(job_id=job.job_id, ok=True)

    def roles(self) -> list[str]:
        return [job.chunked.role.value if job.chunked else job.kind.value for job in self.calls]


def request() -> TaskRequest:
    return TaskRequest.model_validate(
        {
            "source": {"type": "bucket", "bucket": "in", "key": "up/clip.mp4"},
            "media_process_task": {
                "transcode_task_set": [{"definition": 100010}, {"definition": 100020}],
                "snapshot_by_time_offset_task_set": [
                    {"definition": 10, "ext_time_offset_set": ["50%"]}
                ],
            },
        }
    )


def make_engine(db: DbEngine, tmp_path: Path, clock: FakeClock, **values: object) -> Engine:
    # The renditions are at a bitrate (VBR): the tests of the parts' order, progress and
    # failures leave the difficulty probes out unless they ask for them (chunk_rates).
    values.setdefault("chunk_rates", False)
    settings = Settings(data_dir=tmp_path, max_attempts=2, chunk_seconds=2.0, **values)  # type: ignore[arg-type]
    return Engine(session_factory(db), DefaultPlanner(), settings, clock=clock)


def test_one_worker_or_no_chunk_length_means_no_chunks(tmp_path: Path) -> None:
    planner = DefaultPlanner()
    [planned] = planner.plan(resolve_request(request(), PresetLookup()), MEDIA_INFO, "a").jobs
    for settings, groups in [
        (Settings(data_dir=tmp_path, workers=1, chunk_seconds=2.0), 0),
        (Settings(data_dir=tmp_path, workers=2, chunk_seconds=0.0), 0),
        (Settings(data_dir=tmp_path, workers=2, chunk_seconds=5.0), 0),  # 10 s: not > 2 x 5
        (Settings(data_dir=tmp_path, workers=2, chunk_seconds=2.0), 1),
        (Settings(data_dir=tmp_path, executor="celery", chunk_seconds=2.0), 1),
    ]:
        split = chunk_groups(planned.works, MEDIA_INFO, settings)
        assert len(split.groups) == groups, settings
        assert len(split.rest) == len(planned.works) - (2 if groups else 0)


def test_split_then_chunks_and_audio_then_join(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(db, tmp_path, clock, workers=2)
    runner = ChunkRunner()
    task_id = engine.submit(request())
    drive(engine, runner)
    view = engine.task_view(task_id)
    assert view.state is TaskState.SUCCEEDED
    # The two renditions (same rate) are one group; the snapshot runs as a MEDIA job.
    roles = runner.roles()
    # The audio is planned with the split (it needs no chunk): it runs beside it.
    assert roles[:4] == ["probe", "split", "audio", "media"]
    # Equal chunks in the plan's order, then the join.
    assert roles[4:] == ["video"] * 5 + ["join"]
    [split] = [job for job in runner.calls if job.chunked and job.chunked.role is ChunkRole.SPLIT]
    assert sorted(w.index for w in split.works) == [0, 1]
    videos = [job for job in runner.calls if job.chunked and job.chunked.role is ChunkRole.VIDEO]
    assert all(sorted(w.index for w in job.works) == [0, 1] for job in videos)  # fused
    [join] = [job for job in runner.calls if job.kind is JobKind.JOIN]
    assert join.chunked is not None and join.chunked.plan is not None
    assert [c.start for c in join.chunked.plan.chunks] == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert all(row.state is JobState.SUCCEEDED for row in job_rows(db, task_id))


def test_a_group_at_a_bitrate_probes_its_chunks_then_shares_the_rate_out(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(db, tmp_path, clock, workers=2, chunk_rates=True)
    runner = ChunkRunner()
    runner.difficulty = {0: 100.0, 1: 100.0, 2: 1600.0, 3: 100.0, 4: 25.0}  # bits per second
    task_id = engine.submit(request())
    drive(engine, runner)
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    assert runner.roles()[4:] == ["probe"] * 5 + ["video"] * 5 + ["join"]
    probes = [job for job in runner.calls if job.chunked and job.chunked.role is ChunkRole.PROBE]
    assert all(sorted(w.index for w in job.works) == [0, 1] for job in probes)
    videos = [
        job.chunked for job in runner.calls if job.chunked and job.chunked.role is ChunkRole.VIDEO
    ]
    factors = {p.chunk.index: p.rate_factor for p in videos if p is not None and p.chunk}
    # Shared by the square root of the difficulty: chunk 2 (4x the others' root) is capped
    # at the VBR peak (1.5x); the rest shared so that the five average the template's rate.
    assert factors == {0: 1.0, 1: 1.0, 2: 1.5, 3: 1.0, 4: 0.5}
    # The probes' share of the progress (5 %) came out of the chunks'.
    assert sum(p.weight for p in videos if p is not None) == pytest.approx(0.85)
    assert all(row.state is JobState.SUCCEEDED for row in job_rows(db, task_id))


def test_chunks_are_queued_and_weighed_by_what_their_probes_cost(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    # Equal chunks of 2 s, equal difficulty (one rate), but chunk 2's probe ran 4 times as
    # long as chunk 0's: its encode goes first and weighs 4 times as much in the progress.
    engine = make_engine(db, tmp_path, clock, workers=2, chunk_rates=True)
    runner = ChunkRunner()
    runner.cost = {0: 1.0, 1: 1.0, 2: 4.0, 3: 2.0, 4: 0.5}
    task_id = engine.submit(request())
    drive(engine, runner)
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    videos = [
        job.chunked for job in runner.calls if job.chunked and job.chunked.role is ChunkRole.VIDEO
    ]
    assert [p.chunk.index for p in videos if p is not None and p.chunk] == [2, 3, 0, 1, 4]
    weights = {p.chunk.index: p.weight for p in videos if p is not None and p.chunk}
    assert weights == pytest.approx({0: 0.1, 1: 0.1, 2: 0.4, 3: 0.2, 4: 0.05})  # 0.85 in all
    assert {p.rate_factor for p in videos if p is not None} == {1.0}
    # The console still draws the chunks along the output's timeline: a fifth each.
    marks = engine.chunk_marks(task_id)[0]
    assert [round(m.share, 3) for m in marks] == [0.2] * 5


def test_a_probe_failing_for_good_fails_the_output_naming_its_chunk(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(db, tmp_path, clock, workers=2, chunk_rates=True)
    runner = ChunkRunner()
    runner.failing = {3}
    task_id = engine.submit(request())
    drive(engine, runner)
    view = engine.task_view(task_id)
    assert view.state is TaskState.FAILED
    assert view.subtasks[0].err_code == "FailedOperation.ChunkFailed"
    assert view.subtasks[0].message.startswith(
        "the difficulty probe of chunk 3 of 5 (6.00-8.00 s) failed after 1 attempt(s)"
    )
    assert "video" not in runner.roles()  # no chunk was encoded
    states = {row.state for row in job_rows(db, task_id)}
    assert JobState.QUEUED not in states and JobState.RUNNING not in states


def test_the_parts_run_longest_first(db: DbEngine, tmp_path: Path, clock: FakeClock) -> None:
    # Scene cuts move two borders (4 -> 3.6 s, 8 -> 8.4 s): chunks of 2, 1.6, 2.4, 2.4,
    # 1.6 s; one worker slot, so the jobs run in the order they were queued.
    engine = make_engine(db, tmp_path, clock, workers=2)
    runner = ChunkRunner(scenes=(3.6, 8.4))
    task_id = engine.submit(request())
    drive(engine, runner)
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    parts = [job.chunked for job in runner.calls if job.kind is JobKind.CHUNK]
    ran = [
        (p.role.value, p.chunk.index if p.chunk else None, p.chunk.duration if p.chunk else None)
        for p in parts
        if p is not None and p.role in (ChunkRole.VIDEO, ChunkRole.AUDIO)
    ]
    assert [(role, index) for role, index, _ in ran] == [
        ("audio", None), ("video", 2), ("video", 3), ("video", 0), ("video", 1), ("video", 4)
    ]  # fmt: skip
    durations = [round(d, 3) for _, _, d in ran if d is not None]
    assert durations == [2.4, 2.4, 2.0, 1.6, 1.6]
    [join] = [job for job in runner.calls if job.kind is JobKind.JOIN]
    assert join.chunked is not None and join.chunked.plan is not None
    assert [c.index for c in join.chunked.plan.chunks] == [0, 1, 2, 3, 4]  # joined in order


def test_progress_is_the_weighted_sum_of_the_parts(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(db, tmp_path, clock, workers=2)
    runner = ChunkRunner()
    task_id = engine.submit(request())
    [probe] = engine.claim("w1", 1)
    engine.handle(finished(probe, runner(probe, JobContext(print, NoCancel()))), owner="w1")
    # The split, the audio (planned with it) and the snapshot's MEDIA job.
    claimed = engine.claim("w1", 10)
    assert [p.chunked.role for p in claimed if p.chunked] == [ChunkRole.SPLIT, ChunkRole.AUDIO]
    for job in claimed:
        engine.handle(finished(job, runner(job, JobContext(print, NoCancel()))), owner="w1")
    parts = engine.claim("w1", 10)
    assert [p.chunked.role for p in parts if p.chunked] == [ChunkRole.VIDEO] * 5
    first, second = parts[0], parts[1]
    engine.handle(
        JobEvent(job_id=first.job_id, type=JobEventType.PROGRESS, progress=50.0), owner="w1"
    )
    engine.handle(
        JobEvent(job_id=second.job_id, type=JobEventType.PROGRESS, progress=100.0), owner="w1"
    )
    # The audio's 5 % + half of chunk 0's 18 % + all of chunk 1's 18 % = 32 %.
    subs = engine.task_view(task_id).subtasks
    assert [round(s.progress, 2) for s in subs[:2]] == [32.0, 32.0]
    assert [s.state for s in subs[:2]] == [SubTaskState.RUNNING] * 2
    # What the console draws along each output's bar: its five chunks, a fifth each.
    marks = engine.chunk_marks(task_id)
    assert sorted(marks) == [0, 1]
    assert [(m.index, m.state, m.progress) for m in marks[0][:3]] == [
        (0, JobState.RUNNING, 50.0),
        (1, JobState.RUNNING, 100.0),
        (2, JobState.RUNNING, 0.0),
    ]
    assert [round(m.share, 3) for m in marks[0]] == [0.2] * 5


def test_a_chunk_failing_for_good_fails_the_output_naming_it(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(db, tmp_path, clock, workers=2)
    runner = ChunkRunner()
    runner.failing = {2}
    task_id = engine.submit(request())
    drive(engine, runner)
    view = engine.task_view(task_id)
    assert view.state is TaskState.FAILED
    rendition = view.subtasks[0]
    assert rendition.err_code == "FailedOperation.ChunkFailed"
    assert rendition.message.startswith("chunk 2 of 5 (4.00-6.00 s) failed after 1 attempt(s)")
    assert view.subtasks[2].state is SubTaskState.SUCCEEDED  # the snapshot, not chunked
    assert JobKind.JOIN not in [row.kind for row in job_rows(db, task_id)]
    states = {row.state for row in job_rows(db, task_id)}
    assert JobState.QUEUED not in states and JobState.RUNNING not in states
    # A retry splits again (a new generation of parts) and joins once every part is done.
    runner.failing = set()
    assert engine.retry_failed(task_id) == [0, 1]
    drive(engine, runner)
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    assert runner.roles().count("split") == 2 and runner.roles().count("join") == 1


def test_a_lost_chunk_runs_again_alone(db: DbEngine, tmp_path: Path, clock: FakeClock) -> None:
    engine = make_engine(db, tmp_path, clock, workers=2, lease_seconds=30.0)
    runner = ChunkRunner()
    task_id = engine.submit(request())
    for _ in range(2):  # the probe, then the snapshot and the split
        for job in engine.claim("w1", 10):
            engine.handle(finished(job, runner(job, JobContext(print, NoCancel()))), owner="w1")
    parts = engine.claim("dead", 10)
    lost = parts[3]
    for job in parts:
        if job is not lost:
            engine.handle(finished(job, runner(job, JobContext(print, NoCancel()))), owner="dead")
    clock.advance(31)
    assert engine.requeue_expired() == 1
    clock.advance(10)  # its retry delay
    assert drive(engine, runner, owner="w2") == 2  # the lost chunk, then the join
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    attempts = {row.id: row.attempt for row in job_rows(db, task_id) if row.kind is JobKind.CHUNK}
    assert [job_id for job_id, n in attempts.items() if n > 1] == [int(lost.job_id)]


def test_a_split_that_finds_the_source_short_runs_it_whole(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(db, tmp_path, clock, workers=2)

    class Short(ChunkRunner):
        def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
            if job.chunked is not None and job.chunked.role is ChunkRole.SPLIT:
                self.calls.append(job)
                return JobResult(job_id=job.job_id, ok=True, chunk_plan=None)
            return super().__call__(job, ctx)

    runner = Short()
    task_id = engine.submit(request())
    drive(engine, runner)
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    # The audio planned with the split ran beside it; the output was then encoded whole,
    # so that audio's part is not wanted: its generation is removed later.
    assert runner.roles() == ["probe", "split", "audio", "media", "media"]
    [prefix] = prefixes(db, task_id)
    assert [(row.prefix, row.task_id) for row in leftover_rows(db)] == [(prefix, task_id)]
    [audio] = [
        r for r in job_rows(db, task_id) if (r.payload.get("chunked") or {}).get("role") == "audio"
    ]
    assert audio.state is JobState.CANCELLED


def test_a_clusters_parts_are_known_as_the_tasks_own_keys(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(db, tmp_path, clock, executor="celery")
    runner = ChunkRunner()
    task_id = engine.submit(request())
    drive(engine, runner)
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    with Session(db) as session:
        keys = session.scalars(select(OwnOutput.key).where(OwnOutput.task_id == task_id)).all()
    parts = sorted(k for k in keys if k.startswith(".reelflow-chunks/"))
    # Triggers on the output bucket never take a chunk for a new upload.
    assert len(parts) == 2 * (5 + 1)  # two renditions: five chunks and the audio each
    [split] = [row for row in job_rows(db, task_id) if row.kind is JobKind.CHUNK][:1]
    # Under the group's generation: the split job's id.
    assert parts[0] == f".reelflow-chunks/{task_id}/g0/s{split.id}/audio-w0.m4a"
    assert len({k.rsplit("/", 1)[0] for k in parts}) == 1


class Remover:
    """Records the leftovers it is asked to remove; fails while ``down``."""

    def __init__(self) -> None:
        self.removed: list[tuple[str, str]] = []
        self.down = False

    def __call__(self, bucket: str, prefix: str) -> None:
        if self.down:
            raise OSError("the bucket is away")
        self.removed.append((bucket, prefix))


def leftover_rows(db: DbEngine) -> list[ChunkLeftover]:
    with Session(db, expire_on_commit=False) as session:
        return list(session.scalars(select(ChunkLeftover).order_by(ChunkLeftover.id)))


def prefixes(db: DbEngine, task_id: str) -> list[str]:
    """The part prefix of each split generation of the task, in order."""
    found = []
    for row in job_rows(db, task_id):
        raw = row.payload.get("chunked") or {}
        if row.kind is JobKind.CHUNK and raw.get("role") == "audio":
            found.append(raw["prefix"])
    return found


def test_a_failed_groups_parts_are_removed_later_and_a_retry_keeps_its_own(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(db, tmp_path, clock, workers=2, lease_seconds=30.0)
    runner = ChunkRunner()
    runner.failing = {2}
    task_id = engine.submit(request())
    drive(engine, runner)
    assert engine.task_view(task_id).state is TaskState.FAILED
    # Recorded with the failure: this generation's prefix (the scratch root: bucket "").
    [first] = prefixes(db, task_id)
    assert first.startswith(f"{task_id}-g0-s")
    [row] = leftover_rows(db)
    assert (row.task_id, row.bucket, row.prefix) == (task_id, "", first)
    remover = Remover()
    # Not before a lease has passed (a cancelled part's worker may still store its file).
    assert engine.remove_leftovers(remover) == 0 and remover.removed == []
    clock.advance(31)
    remover.down = True  # a failed removal is kept and tried again later
    assert engine.remove_leftovers(remover) == 0
    assert len(leftover_rows(db)) == 1
    remover.down = False
    assert engine.remove_leftovers(remover) == 0  # backing off
    clock.advance(31)
    assert engine.remove_leftovers(remover) == 1
    assert remover.removed == [("", first)] and leftover_rows(db) == []
    # The retry splits again under its own prefix and joins: nothing left to remove.
    runner.failing = set()
    engine.retry_failed(task_id)
    drive(engine, runner)
    assert engine.task_view(task_id).state is TaskState.SUCCEEDED
    first_again, second = prefixes(db, task_id)
    assert first_again == first and second != first
    assert leftover_rows(db) == []


def test_a_cancelled_groups_parts_are_recorded_once(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(db, tmp_path, clock, executor="celery")
    runner = ChunkRunner()
    task_id = engine.submit(request())
    for _ in range(2):  # the probe, then the snapshot and the split: the parts are queued
        for job in engine.claim("w1", 10):
            engine.handle(finished(job, runner(job, JobContext(print, NoCancel()))), owner="w1")
    engine.claim("w1", 3)  # some running, some queued
    engine.cancel(task_id)
    [prefix] = prefixes(db, task_id)
    [row] = leftover_rows(db)
    assert row.bucket == "in"  # the output bucket (the source's, none named)
    assert (row.prefix, row.task_id) == (prefix, task_id)
    assert prefix.startswith(f".reelflow-chunks/{task_id}/g0/s") and prefix.endswith("/")


def test_a_cancel_before_the_split_ran_removes_the_audio_generation_only(
    db: DbEngine, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(db, tmp_path, clock, workers=2)
    runner = ChunkRunner()
    task_id = engine.submit(request())
    for job in engine.claim("w1", 10):  # the probe
        engine.handle(finished(job, runner(job, JobContext(print, NoCancel()))), owner="w1")
    # The split still queued, and the audio planned with it (which may have stored its part).
    engine.cancel(task_id)
    [prefix] = prefixes(db, task_id)
    assert [row.prefix for row in leftover_rows(db)] == [prefix]


def test_with_many_chunks_the_audio_runs_first() -> None:
    # 30 chunks of a 90 % video share: 3 % each, less than the audio's 5 %.
    base = ChunkedJob(role=ChunkRole.VIDEO, group=0, chunk_seconds=60.0, prefix="p/")
    chunks = [base.model_copy(update={"weight": 0.9 / 30, "first_boundary": n}) for n in range(30)]
    audio = base.model_copy(update={"role": ChunkRole.AUDIO, "weight": AUDIO_SHARE})
    ordered = longest_first([*chunks, audio])
    assert ordered[0].role is ChunkRole.AUDIO
    assert [p.first_boundary for p in ordered[1:]] == list(range(30))  # ties: plan order
