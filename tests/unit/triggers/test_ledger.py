"""The engine's trigger ledger: planned output keys, their patterns, checkpoints, and that
planning records outputs before any media job can run."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from reelflow.catalog.triggered import (
    Checkpoint,
    TriggerKey,
    TriggerLedger,
    output_patterns,
    planned_keys,
)
from reelflow.config import Settings
from reelflow.db.session import create_db_engine, migrate, session_factory
from reelflow.engine.service import Engine
from reelflow.planner.base import Plan, PlannedJob
from reelflow.specs.media import MediaInfo
from reelflow.specs.subtasks import SubTaskSpec
from tests.unit.engine.fakes import FakePlanner, ScriptedRunner, drive, make_request, run
from tests.unit.triggers.works import animated, samples, sprite, transcode


def test_output_patterns_replace_one_digit_run_at_a_time() -> None:
    assert output_patterns("up/v2/a7_12.ts") == [
        "up/v2/a7_12.ts",
        "up/v2/a%d_12.ts",
        "up/v2/a7_%d.ts",
    ]
    assert output_patterns("plain.mov") == ["plain.mov"]


def test_planned_keys_of_every_work_kind() -> None:
    works = [
        transcode("b", "a.m3u8", segments="a_%d.ts"),
        sprite("b", ["s_0.jpg", "s_1.jpg"], "s.vtt"),
        samples("b", ["m_0.jpg"]),
        animated("c", "g.gif"),
    ]
    assert planned_keys(works) == [
        ("b", "a.m3u8"),
        ("b", "a_%d.ts"),
        ("b", "s.vtt"),
        ("b", "s_0.jpg"),
        ("b", "s_1.jpg"),
        ("b", "m_0.jpg"),
        ("c", "g.gif"),
    ]


def test_trigger_keys_hash_every_part() -> None:
    base = TriggerKey(1, "b", "k", "v")
    assert base.object_hash == TriggerKey(2, "b", "k", "v").object_hash  # workflow is a column
    assert len({base.object_hash, TriggerKey(1, "b", "k", "w").object_hash,
                TriggerKey(1, "b", "k2", "v").object_hash}) == 3  # fmt: skip


class KeyedPlanner(FakePlanner):
    """Plans works that name their output keys, as the real planner's works do."""

    def plan(self, subtasks: list[SubTaskSpec], media_info: MediaInfo, source_name: str) -> Plan:
        plan = super().plan(subtasks, media_info, source_name)
        jobs = tuple(
            PlannedJob(
                subtasks=job.subtasks,
                works=tuple(
                    w.model_copy(
                        update={"bucket": "out", "key": f"up/clip_transcode_{w.index}.mp4"}
                    )
                    for w in job.works
                ),
            )
            for job in plan.jobs
        )
        return Plan(jobs=jobs, rejected=plan.rejected)


def test_planning_records_outputs_before_jobs_run(tmp_path: Path) -> None:
    db = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(db)
    sessions = session_factory(db)
    engine = Engine(sessions, KeyedPlanner(), Settings(data_dir=tmp_path))
    ledger = TriggerLedger(sessions)
    runner = ScriptedRunner()
    try:
        engine.submit(make_request(2))
        assert not ledger.is_own_output("out", "up/clip_transcode_0.mp4")
        probe = engine.claim("w1", 1)
        assert len(probe) == 1
        run(engine, runner, probe[0])  # the probe's result plans the media job
        assert ledger.is_own_output("out", "up/clip_transcode_0.mp4")
        assert ledger.is_own_output("out", "up/clip_transcode_1.mp4")
        assert not ledger.is_own_output("in", "up/clip_transcode_0.mp4")
        assert not runner.media_calls()  # recorded before any media job ran
        drive(engine, runner)
    finally:
        db.dispose()


def test_checkpoints_round_trip(tmp_path: Path) -> None:
    db = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(db)
    ledger = TriggerLedger(session_factory(db))
    try:
        assert ledger.checkpoint("b") is None
        first = Checkpoint(datetime(2025, 1, 1, tzinfo=UTC), None)
        ledger.save_checkpoint("b", first)
        assert ledger.checkpoint("b") == first
        later = Checkpoint(first.floor, datetime(2025, 1, 2, tzinfo=UTC))
        ledger.save_checkpoint("b", later)
        assert ledger.checkpoint("b") == later
    finally:
        db.dispose()


def test_thousands_of_planned_keys_are_recorded_once(tmp_path: Path) -> None:
    from reelflow.catalog.triggered import record_outputs
    from reelflow.db.session import transaction

    db = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(db)
    sessions = session_factory(db)
    works = [samples("b", [f"up/a_sampleSnapshot_10_{i}.jpg" for i in range(2500)])]
    try:
        for _ in range(2):  # a retried sub-task plans the same keys again
            with transaction(sessions, write=True) as session:
                record_outputs(session, "rf-1", works, datetime.now(UTC))
        with db.connect() as connection:
            count = connection.exec_driver_sql("SELECT count(*) FROM own_outputs").scalar()
        assert count == 2500
        assert TriggerLedger(sessions).is_own_output("b", "up/a_sampleSnapshot_10_2499.jpg")
    finally:
        db.dispose()


def test_a_schedule_and_a_workflow_with_one_id_keep_apart_in_the_ledger() -> None:
    workflow = TriggerKey(3, "media", "up/a.mp4", "etag-1")
    schedule = TriggerKey(3, "media", "up/a.mp4", "etag-1", schedule=True)
    # The workflow's hash is the one stored before schedules existed.
    assert workflow.object_hash == hashlib.sha256(b"media\0up/a.mp4\0etag-1").hexdigest()
    assert schedule.object_hash != workflow.object_hash
