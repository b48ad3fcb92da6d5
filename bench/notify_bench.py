"""Notification dispatcher: throughput and finish-to-delivery latency.

Without FFmpeg: tasks are driven through the real engine by the unit tests' fake planner and
runner (``tests/unit/notify/harness.py``), so every event is written by the outbox in the
transaction that finishes its task, exactly as in the server. SQLite in a temporary folder,
the production sink registry, the dispatcher's default thread settings.

1. Throughput: N tasks finish while the dispatcher is stopped; it is then started and timed
   until every delivery is recorded delivered (events/s), once to the embedded queue and
   once to a webhook receiver on loopback (``http.server``, answering 200).
2. Latency: with the dispatcher running, tasks finish one after another (a pause between
   them); latency = delivery time - the commit time of the finish (the event's
   ``created_at``, the task's own finish time). For the queue the delivery time is the
   ``delivered_at`` the dispatcher records; for the webhook, the receiver's arrival time.

    .venv/bin/python bench/notify_bench.py [--events 1000] [--latency-tasks 200]

Targets: p50 under 100 ms for the embedded queue and a healthy webhook.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the harness lives with the tests

from tests.integration.notify.receiver import Receiver  # noqa: E402
from tests.unit.notify.harness import Harness, count_delivered, make_harness  # noqa: E402

from reelflow.config import Settings  # noqa: E402
from reelflow.db.notify import NotifyDelivery, NotifyEvent  # noqa: E402
from reelflow.db.session import create_db_engine, migrate, session_factory  # noqa: E402
from reelflow.net.egress import EgressPolicy  # noqa: E402
from reelflow.notify.queues import MessageQueues  # noqa: E402
from reelflow.notify.sinks.registry import DefaultSinks  # noqa: E402
from reelflow.specs.notify import NotifyTarget  # noqa: E402

LATENCY_TARGET_MS = 100.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class Bench:
    def __init__(self, folder: Path) -> None:
        self.db = create_db_engine(f"sqlite:///{folder / 'reelflow.db'}")
        migrate(self.db)
        self.queues = MessageQueues(session_factory(self.db))
        # The receivers listen on 127.0.0.1: the egress policy is opened for it alone.
        defaults = Settings(data_dir=folder, egress_allow=("127.0.0.1/32",))
        self.sinks = DefaultSinks(self.queues, egress=EgressPolicy.from_settings(defaults))
        self.harness: Harness = make_harness(
            self.db,
            self.sinks,
            settings=defaults,
            workers=defaults.notify_workers,
            per_target=defaults.notify_per_target,
            poll=defaults.notify_poll_seconds,
        )

    def close(self) -> None:
        self.harness.dispatcher.stop()
        self.sinks.close()
        self.db.dispose()

    def delivered(self) -> int:
        return count_delivered(self.harness.sessions)

    def wait_delivered(self, count: int, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while self.delivered() < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {self.delivered()} of {count} delivered in {timeout} s")
            time.sleep(0.02)

    def throughput(self, target: NotifyTarget, events: int) -> float:
        """Events/s: ``events`` finish with the dispatcher stopped, then it drains them."""
        before = self.delivered()
        for _ in range(events):
            self.harness.finish(target)
        started = time.perf_counter()
        self.harness.dispatcher.start()
        self.wait_delivered(before + events)
        elapsed = time.perf_counter() - started
        self.harness.dispatcher.stop()
        return events / elapsed

    def latency(
        self, target: NotifyTarget, tasks: int, arrivals: Callable[[], dict[str, float]]
    ) -> list[float]:
        """Milliseconds from each task's finish commit to its delivery; ``arrivals()``
        (called once all are delivered) maps task ids to delivery times."""
        before = self.delivered()
        self.harness.dispatcher.start()
        task_ids = []
        for _ in range(tasks):
            task_ids.append(self.harness.finish(target))
            time.sleep(0.01)
        self.wait_delivered(before + tasks)
        self.harness.dispatcher.stop()
        finished = {e.task_id: e.created_at.timestamp() for e in self.harness.events()}
        delivered = arrivals()
        return [(delivered[t] - finished[t]) * 1000 for t in task_ids]

    def queue_arrivals(self) -> dict[str, float]:
        """Task id -> when the dispatcher recorded its event delivered to the queue."""
        query = select(NotifyEvent.task_id, NotifyDelivery.delivered_at).join(NotifyDelivery.event)
        with self.harness.sessions() as session:
            return {task: at.timestamp() for task, at in session.execute(query) if at is not None}


def webhook_arrivals(hook: Receiver) -> dict[str, float]:
    """Task id -> when its event first reached the receiver."""
    first: dict[str, float] = {}
    for request in hook.accepted():
        first.setdefault(request.document["WorkflowTaskEvent"]["TaskId"], request.at)
    return first


def report(name: str, rate: float, latencies: list[float]) -> bool:
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    ok = p50 < LATENCY_TARGET_MS
    print(
        f"{name:<15} throughput {rate:8.0f} events/s   finish->delivery p50 {p50:6.1f} ms"
        f"   p99 {p99:6.1f} ms   mean {statistics.fmean(latencies):6.1f} ms"
        f"   (p50 target < {LATENCY_TARGET_MS:.0f} ms: {'met' if ok else 'MISSED'})"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="events per throughput run")
    parser.add_argument("--latency-tasks", type=int, default=200, help="tasks per latency run")
    args = parser.parse_args(argv)

    settings = Settings()
    print(
        f"dispatcher: {settings.notify_workers} send threads, {settings.notify_per_target} per "
        f"target; SQLite (WAL) in a temp dir; {args.events} events per throughput run, "
        f"{args.latency_tasks} tasks (10 ms apart) per latency run"
    )
    met = True
    with tempfile.TemporaryDirectory(prefix="notify-bench-") as folder:
        bench = Bench(Path(folder))
        try:
            queue = NotifyTarget(name="bench")
            rate = bench.throughput(queue, args.events)
            latencies = bench.latency(queue, args.latency_tasks, bench.queue_arrivals)
            met &= report("embedded queue", rate, latencies)

            with Receiver() as hook:
                webhook = NotifyTarget(type="url", url=hook.url, secret="bench")
                rate = bench.throughput(webhook, args.events)
                latencies = bench.latency(
                    webhook, args.latency_tasks, lambda: webhook_arrivals(hook)
                )
            met &= report("webhook", rate, latencies)
        finally:
            bench.close()
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
