"""A notification harness without FFmpeg: an engine driven by the engine tests' fake planner
and runner (probes report a real-shaped ``MediaInfo``), the outbox writer as its observer,
a delivery store and a dispatcher over any sink factory. Integration tests and the bench
use it with real sinks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine as DbEngine
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from reelflow.config import Settings
from reelflow.db.notify import NotifyDelivery, NotifyEvent
from reelflow.db.session import session_factory
from reelflow.engine.service import Engine
from reelflow.executors.base import JobContext
from reelflow.notify.backoff import Backoff
from reelflow.notify.deliveries import DeliveryStore
from reelflow.notify.delivery_loop import DeliveryLoop
from reelflow.notify.outbox import OutboxWriter
from reelflow.notify.sinks.base import SinkFactory
from reelflow.planner.base import Plan
from reelflow.specs.events import DeliveryState
from reelflow.specs.jobs import JobPayload, JobResult
from reelflow.specs.media import AudioStreamInfo, MediaInfo, VideoStreamInfo
from reelflow.specs.notify import NotifyTarget
from reelflow.specs.subtasks import SubTaskSpec
from tests.unit.engine.fakes import MEDIA_INFO, FakePlanner, ScriptedRunner, drive, make_request


def media_info() -> MediaInfo:
    """A probe as the real prober reports a small H.264/AAC MP4."""
    video = VideoStreamInfo(
        index=0, codec="h264", width=640, height=360, rotation=0, fps=25.0, fps_num=25,
        fps_den=1, pix_fmt="yuv420p", bitrate=400_000, duration=10.0, interlaced=False,
        frame_count=250,
    )  # fmt: skip
    audio = AudioStreamInfo(
        index=1, codec="aac", sample_rate=44_100, channels=2, bitrate=128_000, duration=10.0
    )
    info = MediaInfo(
        container="mov,mp4,m4a,3gp,3g2,mj2", duration=10.0, size=660_000, bitrate=528_000,
        video=(video,), audio=(audio,),
    )  # fmt: skip
    return info


class NotifyPlanner(FakePlanner):
    """The engine tests' planner, indifferent to what the probe found."""

    def plan(self, subtasks: list[SubTaskSpec], media_info: MediaInfo, source_name: str) -> Plan:
        return super().plan(subtasks, MEDIA_INFO, source_name)


class NotifyRunner(ScriptedRunner):
    """The engine tests' runner; probes report ``media_info()``."""

    def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
        result = super().__call__(job, ctx)
        if result.media_info is not None:
            return result.model_copy(update={"media_info": media_info()})
        return result


@dataclass
class Harness:
    db: DbEngine
    sessions: sessionmaker[Session]
    engine: Engine
    outbox: OutboxWriter
    store: DeliveryStore
    dispatcher: DeliveryLoop
    planner: NotifyPlanner
    runner: NotifyRunner = field(default_factory=NotifyRunner)

    def finish(self, notify: NotifyTarget | None, subtasks: int = 1, owner: str = "w1") -> str:
        """Submit a task with ``subtasks`` transcodes and run it to its end."""
        request = make_request(subtasks).model_copy(update={"notify": notify})
        task_id = self.engine.submit(request)
        drive(self.engine, self.runner, owner)
        return task_id

    def events(self, task_id: str | None = None) -> list[NotifyEvent]:
        query = select(NotifyEvent).order_by(NotifyEvent.created_at, NotifyEvent.seq)
        if task_id is not None:
            query = query.where(NotifyEvent.task_id == task_id)
        with self.sessions() as session:
            return list(session.scalars(query))

    def deliveries(self, state: DeliveryState | None = None) -> list[NotifyDelivery]:
        query = select(NotifyDelivery).order_by(NotifyDelivery.id)
        if state is not None:
            query = query.where(NotifyDelivery.state == state)
        with self.sessions() as session:
            return list(session.scalars(query))


def make_harness(
    db: DbEngine,
    sinks: SinkFactory,
    *,
    settings: Settings,
    backoff: Backoff | None = None,
    clock: Callable[[], datetime] | None = None,
    rand: Callable[[], float] | None = None,
    workers: int = 4,
    per_target: int = 2,
    poll: float = 0.2,
    owner: str | None = None,
) -> Harness:
    sessions = session_factory(db)
    extra: dict[str, Any] = {} if clock is None else {"clock": clock}
    planner = NotifyPlanner()
    engine = Engine(sessions, planner, settings, **extra)
    backoff = backoff or Backoff(base=0.05, cap=0.5, total=60.0)
    outbox = OutboxWriter(sessions, backoff.total)
    engine.observer = outbox
    store_extra: dict[str, Any] = dict(extra)
    if rand is not None:
        store_extra["rand"] = rand
    store = DeliveryStore(sessions, backoff, **store_extra)
    dispatcher = DeliveryLoop(
        store, sinks, workers=workers, per_target=per_target, poll=poll, owner=owner
    )
    outbox.on_written = dispatcher.wake
    return Harness(db, sessions, engine, outbox, store, dispatcher, planner)


def count_delivered(sessions: sessionmaker[Session]) -> int:
    """How many deliveries are delivered (one cheap query)."""
    query = (
        select(func.count())
        .select_from(NotifyDelivery)
        .where(NotifyDelivery.state == DeliveryState.DELIVERED)
    )
    with sessions() as session:
        return int(session.scalar(query) or 0)
