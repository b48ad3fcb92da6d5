"""Prometheus metrics of one app, in a registry of its own (never the global one, so two
apps in one process, as in tests, never clash).

Gauges are read at scrape time from the engine's counts (``reelflow.engine.stats``: tasks by
state, queued and running jobs)
and from this process's executor (slots) and scheduler (dispatch paused: no worker reads the
broker queue). Job durations are a histogram fed by
``ServiceMetrics.observe_job``, which the scheduler calls when a job ends.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from reelflow.engine.ports import Executor
from reelflow.engine.scheduler import Scheduler
from reelflow.engine.stats import TaskStats
from reelflow.specs.states import TaskState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# FFmpeg jobs take from a fraction of a second (a probe) to hours (a long transcode).
DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600)


class _StateCollector:
    """Reads the engine's counts and the executor at every scrape."""

    def __init__(
        self, stats: TaskStats, workers: int, executor: Executor, scheduler: Scheduler
    ) -> None:
        self._stats = stats
        self._workers = workers
        self._executor = executor
        self._scheduler = scheduler

    def describe(self) -> Iterator[Metric]:
        # Names only: without this the registry would scrape (query the database) as soon
        # as the collector is registered.
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        tasks, jobs = self._stats.snapshot()
        by_state, queue, running, slots_total, slots_used, paused = self._families()
        for state in TaskState:
            by_state.add_metric([state.value], tasks.get(state, 0))
        queue.add_metric([], jobs.queued)
        running.add_metric([], jobs.running)
        total = self._workers
        free = self._executor.free_slots()
        slots_total.add_metric([], total)
        slots_used.add_metric([], max(0, total - free))
        paused.add_metric([], 1 if self._scheduler.dispatch_paused else 0)
        yield from (by_state, queue, running, slots_total, slots_used, paused)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("reelflow_tasks", "Tasks by state.", labels=["state"]),
            GaugeMetricFamily("reelflow_queue_depth", "Jobs waiting in the queue."),
            GaugeMetricFamily("reelflow_jobs_running", "Jobs running (all schedulers)."),
            GaugeMetricFamily("reelflow_executor_slots", "Job slots of this process."),
            GaugeMetricFamily("reelflow_executor_slots_in_use", "Busy job slots."),
            GaugeMetricFamily(
                "reelflow_dispatch_paused",
                "1 while this server stops feeding a broker queue no worker reads.",
            ),
        )


class ServiceMetrics:
    """The app's metrics; ``app.state.metrics``. ``workers`` is the executor's slots."""

    def __init__(
        self,
        stats: TaskStats,
        *,
        workers: int,
        executor: Executor,
        scheduler: Scheduler,
    ) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_StateCollector(stats, workers, executor, scheduler))
        self._durations = Histogram(
            "reelflow_job_duration_seconds",
            "Wall time of finished jobs.",
            ["kind", "outcome"],
            registry=self.registry,
            buckets=DURATION_BUCKETS,
        )

    def observe_job(self, duration: float, kind: str, ok: bool) -> None:
        """Record one finished job (``kind``: probe or media). Safe from any thread."""
        self._durations.labels(kind=kind, outcome="ok" if ok else "failed").observe(duration)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
