"""``ConsumerWatchdog``: a worker whose broker consumer is dead does not sit alive and idle.

Celery's consumer can die quietly: after a broker outage its Redis transport may log
``Couldn't ack ... ConnectionError`` and never read the queue again while the process stays
up (celery/celery#10205, #10302). No exception reaches reelflow, so the watchdog judges the
consumer by what it does, from a thread and a broker connection of its own:

- messages wait in the queue, this worker has a free thread, and nothing was delivered to it
  for ``stall_seconds``: a live consumer with a free thread takes a waiting message within
  moments (prefetch is 1), so its consumer is dead;
- the consumer reports no connection to a broker the watchdog itself reaches, for
  ``stall_seconds``: it cannot restore its connection.

Either verdict is ``STUCK``: ``on_stuck`` is called once (the worker exits non-zero and its
supervisor starts a fresh one; see docs/deploy.md). A broker the watchdog cannot reach
either is an outage, not a dead consumer: nothing is decided until it answers again.

Every check writes the verdict to a health file (``HealthFile``), which
``reelflow worker --check`` reads: a liveness probe that also fails when the process hangs
(the file goes stale).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

logger = logging.getLogger(__name__)


class Verdict(StrEnum):
    STARTING = "starting"  # no check yet
    OK = "ok"
    BROKER_DOWN = "broker-unreachable"  # an outage: the consumer keeps retrying
    STUCK = "stuck"  # the consumer is dead: the worker exits


@dataclass(frozen=True)
class Health:
    """One check's verdict as written to the health file."""

    pid: int
    at: float  # wall-clock time of the check (time.time)
    verdict: Verdict
    detail: str
    every: float  # seconds between checks: a file older than a few of these is stale


class HealthFile:
    """The watchdog's verdicts on disk: ``write`` replaces the file atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, health: Health) -> None:
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        temp.write_text(json.dumps(asdict(health)))
        temp.replace(self.path)

    def read(self) -> Health | None:
        """The last verdict, or ``None`` if there is no readable one."""
        try:
            data = json.loads(self.path.read_text())
            return Health(
                pid=int(data["pid"]),
                at=float(data["at"]),
                verdict=Verdict(data["verdict"]),
                detail=str(data["detail"]),
                every=float(data["every"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


# Celery's consumer retries a lost connection every few seconds (consumer.RECONNECT_MAX),
# each try bounded by the socket timeout: give it a few tries before calling it dead.
UNCONNECTED_GRACE = 30.0
# A file older than this many check periods means the worker (or its watchdog) hangs.
STALE_PERIODS = 3.0


def liveness(health: Health | None, now: float | None = None) -> tuple[bool, str]:
    """Whether a worker whose health file holds ``health`` is alive and consuming, and why.

    A broker outage is alive: the worker reconnects by itself, and a restart would not help.
    """
    if health is None:
        return False, "no health file: the worker is not running (or has not started)"
    age = (time.time() if now is None else now) - health.at
    if age > STALE_PERIODS * health.every:
        return False, f"the last check is {age:.0f} s old: the worker hangs or is gone"
    if health.verdict is Verdict.STUCK:
        return False, f"the broker consumer is dead: {health.detail}"
    if not _pid_alive(health.pid):
        return False, f"process {health.pid} is gone"
    return True, f"{health.verdict.value}: {health.detail}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process, alive
    return True


class ConsumerWatchdog:
    """Checks the consumer every ``every`` s in a thread (``start`` / ``stop``), or once
    (``check``).

    ``depth()`` counts the messages waiting in the queue(s) through the watchdog's own
    connection and raises when the broker cannot be reached; ``connected()`` says whether
    the consumer holds a broker connection; ``busy()`` whether every thread of the worker
    runs a job. ``delivered()`` is to be called whenever the consumer receives a message.
    """

    def __init__(
        self,
        *,
        depth: Callable[[], int],
        connected: Callable[[], bool],
        busy: Callable[[], bool],
        on_stuck: Callable[[str], None],
        stall_seconds: float,
        every: float,
        health: HealthFile | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._depth = depth
        self._connected = connected
        self._busy = busy
        self._on_stuck = on_stuck
        self._stall = stall_seconds
        self._every = every
        self._health = health
        self._clock = clock
        self._last_delivery = clock()
        self._waiting_since: float | None = None  # messages waiting while a thread is free
        self._unconnected_since: float | None = None
        self._broker_down_since: float | None = None
        self.verdict = Verdict.STARTING
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def delivered(self) -> None:
        """The consumer received a message (any thread)."""
        self._last_delivery = self._clock()

    def start(self) -> None:
        self._record(Verdict.STARTING, "")
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="reelflow-consumer-watchdog", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            if self.check() is Verdict.STUCK:
                return

    def check(self) -> Verdict:
        """One check; calls ``on_stuck`` (once) when the consumer is found dead."""
        if self.verdict is Verdict.STUCK:
            return self.verdict
        asked = self._clock()
        try:
            waiting = self._depth()
        except Exception as exc:
            now = self._clock()
            # Whatever the transport raises (kombu's OperationalError, OSError, redis's and
            # amqp's own errors) means the same here: the broker is not reachable now.
            if self._broker_down_since is None:
                self._broker_down_since = now
                logger.warning("broker unreachable (%s); the consumer reconnects by itself", exc)
            # Time spent in an outage is nobody's stall: start counting again after it.
            self._waiting_since = self._unconnected_since = None
            detail = f"for {now - self._broker_down_since:.0f} s: {type(exc).__name__}"
            return self._record(Verdict.BROKER_DOWN, detail)
        now = self._clock()
        if now - asked > self._every:
            # A slow answer (a network partition healing, a broker failing over) says
            # nothing about the consumer, which waited on the same broker: judge later.
            self._waiting_since = self._unconnected_since = None
            return self._record(Verdict.BROKER_DOWN, f"answered after {now - asked:.0f} s")
        if self._broker_down_since is not None:
            logger.info("broker reachable again after %.0f s", now - self._broker_down_since)
            self._broker_down_since = None
        stalled = self._stalled(now, waiting)
        if stalled:
            logger.error("the broker consumer is dead (%s): the worker exits", stalled)
            self._record(Verdict.STUCK, stalled)
            self._on_stuck(stalled)
            return Verdict.STUCK
        return self._record(Verdict.OK, f"{waiting} message(s) waiting")

    def _stalled(self, now: float, waiting: int) -> str:
        """Why the consumer is dead, or ``""``."""
        if self._connected():
            self._unconnected_since = None
        elif self._unconnected_since is None:
            self._unconnected_since = now
        elif now - self._unconnected_since >= max(self._stall, UNCONNECTED_GRACE):
            return (
                f"no broker connection for {now - self._unconnected_since:.0f} s "
                "while the broker answers"
            )
        if waiting == 0 or self._busy():
            self._waiting_since = None
            return ""
        if self._waiting_since is None:
            self._waiting_since = now
        idle = now - max(self._waiting_since, self._last_delivery)
        if idle >= self._stall:
            return (
                f"{waiting} message(s) waiting and a free thread, but nothing delivered "
                f"for {idle:.0f} s"
            )
        return ""

    def _record(self, verdict: Verdict, detail: str) -> Verdict:
        self.verdict = verdict
        if self._health is not None:
            health = Health(os.getpid(), time.time(), verdict, detail, self._every)
            try:
                self._health.write(health)
            except OSError as exc:
                logger.warning("could not write the health file %s: %s", self._health.path, exc)
        return verdict
