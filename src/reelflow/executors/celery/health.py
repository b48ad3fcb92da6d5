"""What the consumer watchdog needs of a running Celery worker, and how a stuck one exits.

- ``QueueDepth``: the messages waiting in the worker's queues, counted over a broker
  connection of its own (never the consumer's);
- ``watch_consumer``: a started ``ConsumerWatchdog`` wired to a Celery worker and a
  ``JobWorker``; when the consumer is dead the worker shuts down with ``EXIT_CONSUMER_DEAD``
  (its jobs handed back), or is ended outright if Celery's loop does not stop in time.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from reelflow.config import Settings
from reelflow.executors.celery.watchdog import ConsumerWatchdog, HealthFile
from reelflow.executors.celery.worker import JobWorker

logger = logging.getLogger(__name__)

# EX_TEMPFAIL: a temporary failure; the supervisor should start the worker again.
EXIT_CONSUMER_DEAD = 75
# Celery's loop is given this long to shut down before the process ends itself.
EXIT_GRACE = 15.0
HEALTH_FILE = "worker-health.json"


def health_file(settings: Settings) -> HealthFile:
    """The health file of the worker on ``settings.data_dir`` (one worker per data dir)."""
    return HealthFile(settings.data_dir / HEALTH_FILE)


def check_every(settings: Settings) -> float:
    """Seconds between two checks of the consumer: a few per stall window."""
    return min(10.0, max(0.5, settings.worker_stall_seconds / 6))


class QueueDepth:
    """``QueueDepth(app, queues)()``: messages ready in ``queues``; raises when the broker
    cannot be reached (and reconnects on the next call)."""

    def __init__(self, app: Any, queues: list[str]) -> None:
        self._app = app
        self._queues = queues
        self._connection: Any = None
        self._redis = self._app.conf.broker_url.startswith("redis")

    def __call__(self) -> int:
        try:
            if self._connection is None:
                self._connection = self._app.connection_for_read()
                self._connection.connect()
            channel = self._connection.default_channel
            return sum(self._size(channel, queue) for queue in self._queues)
        except Exception:
            self.close()
            raise

    def _size(self, channel: Any, queue: str) -> int:
        if self._redis:
            # Declaring is a no-op on Redis, and answers for an empty (absent) list too.
            return int(channel.queue_declare(queue=queue).message_count)
        try:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
        except self._connection.channel_errors:
            # No such queue (yet): nothing waits there. The refusal closed the channel.
            self.close()
            return 0

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.release()
            except Exception as exc:  # a dead connection may fail to close: it is gone anyway
                logger.debug("closing the watchdog's broker connection: %s", exc)


def watch_consumer(
    settings: Settings, app: Any, celery_worker: Any, worker: JobWorker, queues: list[str]
) -> ConsumerWatchdog:
    """A started watchdog over ``celery_worker`` (``app.Worker(...)``, about to start)."""
    from celery import signals
    from celery.worker import state

    concurrency = int(celery_worker.concurrency)
    depth = QueueDepth(app, queues)

    def connected() -> bool:
        consumer = getattr(celery_worker, "consumer", None)
        connection = getattr(consumer, "connection", None)
        return bool(connection is not None and connection.connected)

    def busy() -> bool:
        # A thread holding a message through a database outage is not free: counting it
        # free would take the outage for a dead consumer and exit the worker.
        return worker.occupied() >= concurrency

    def on_stuck(reason: str) -> None:
        # A warm shutdown from Celery's own loop (it checks this flag every turn); the
        # shutdown signal hands the running jobs back. If the loop itself is wedged, end
        # the process after a grace period, handing the jobs back here.
        state.should_stop = EXIT_CONSUMER_DEAD
        timer = threading.Timer(EXIT_GRACE, _exit_now, args=(worker,))
        timer.daemon = True
        timer.start()

    watchdog = ConsumerWatchdog(
        depth=depth,
        connected=connected,
        busy=busy,
        on_stuck=on_stuck,
        stall_seconds=settings.worker_stall_seconds,
        every=check_every(settings),
        health=health_file(settings),
    )
    signals.task_received.connect(lambda **_: watchdog.delivered(), weak=False)
    watchdog.start()
    return watchdog


def _exit_now(worker: JobWorker) -> None:
    logger.error("Celery did not shut down within %.0f s: exiting now", EXIT_GRACE)
    try:
        worker.stop()
    finally:
        logging.shutdown()
        os._exit(EXIT_CONSUMER_DEAD)
