"""The consumer watchdog's verdicts (fake broker, fake clock) and the liveness probe."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reelflow.executors.celery.watchdog import (
    UNCONNECTED_GRACE,
    ConsumerWatchdog,
    Health,
    HealthFile,
    Verdict,
    liveness,
)


class Fake:
    """A broker queue and a worker as the watchdog sees them."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waiting = 0
        self.reachable = True
        self.connected = True
        self.busy = False
        self.stuck: list[str] = []

    def depth(self) -> int:
        if not self.reachable:
            raise ConnectionRefusedError("refused")
        return self.waiting


@pytest.fixture
def fake() -> Fake:
    return Fake()


def watchdog(fake: Fake, tmp_path: Path | None = None) -> ConsumerWatchdog:
    return ConsumerWatchdog(
        depth=fake.depth,
        connected=lambda: fake.connected,
        busy=lambda: fake.busy,
        on_stuck=fake.stuck.append,
        stall_seconds=10,
        every=1,
        health=HealthFile(tmp_path / "health.json") if tmp_path else None,
        clock=lambda: fake.now,
    )


def advance(fake: Fake, dog: ConsumerWatchdog, seconds: float) -> Verdict:
    verdict = dog.check()
    for _ in range(int(seconds)):
        fake.now += 1
        verdict = dog.check()
    return verdict


def test_messages_waiting_for_an_idle_worker_that_receives_nothing_is_stuck(fake: Fake) -> None:
    dog = watchdog(fake)
    fake.waiting = 3
    assert advance(fake, dog, 9) is Verdict.OK
    assert fake.stuck == []
    assert advance(fake, dog, 1) is Verdict.STUCK
    [reason] = fake.stuck
    assert "3 message(s) waiting" in reason
    assert dog.check() is Verdict.STUCK and len(fake.stuck) == 1  # called once


def test_deliveries_busy_threads_and_an_empty_queue_are_healthy(fake: Fake) -> None:
    dog = watchdog(fake)
    fake.waiting = 2
    for _ in range(30):  # the consumer keeps receiving: messages waiting are fine
        fake.now += 1
        dog.delivered()
        assert dog.check() is Verdict.OK
    fake.busy = True  # every thread runs a job: waiting messages wait for it
    assert advance(fake, dog, 30) is Verdict.OK
    fake.busy, fake.waiting = False, 0
    assert advance(fake, dog, 30) is Verdict.OK
    assert fake.stuck == []


def test_a_broker_outage_is_not_a_stall_and_restarts_the_count(fake: Fake) -> None:
    dog = watchdog(fake)
    fake.waiting = 1
    assert advance(fake, dog, 8) is Verdict.OK
    fake.reachable = False
    fake.connected = False
    assert advance(fake, dog, 60) is Verdict.BROKER_DOWN
    fake.reachable = True
    fake.connected = True
    assert advance(fake, dog, 9) is Verdict.OK  # counted from the restore, not before
    assert advance(fake, dog, 1) is Verdict.STUCK


def test_no_consumer_connection_while_the_broker_answers_is_stuck(fake: Fake) -> None:
    dog = watchdog(fake)
    fake.connected = False
    # Celery's consumer reconnects by itself every few seconds: it gets some tries first.
    assert advance(fake, dog, UNCONNECTED_GRACE - 1) is Verdict.OK
    assert advance(fake, dog, 1) is Verdict.STUCK
    assert "no broker connection" in fake.stuck[0]


def test_each_check_writes_the_health_file_the_probe_reads(fake: Fake, tmp_path: Path) -> None:
    dog = watchdog(fake, tmp_path)
    files = HealthFile(tmp_path / "health.json")
    dog.check()
    assert liveness(files.read())[0]
    fake.reachable = False
    dog.check()
    health = files.read()
    assert health is not None and health.verdict is Verdict.BROKER_DOWN
    assert liveness(health) == (True, f"broker-unreachable: {health.detail}")
    fake.reachable = True
    fake.waiting = 1
    advance(fake, dog, 10)
    alive, why = liveness(files.read())
    assert not alive and "consumer is dead" in why


def test_liveness_fails_on_a_stale_missing_or_orphaned_file(tmp_path: Path) -> None:
    now = time.time()
    assert liveness(None) == (False, liveness(None)[1])
    stale = Health(os.getpid(), now - 10, Verdict.OK, "", every=1)
    alive, why = liveness(stale, now)
    assert not alive and "hangs" in why
    fresh = Health(os.getpid(), now, Verdict.OK, "", every=1)
    assert liveness(fresh, now)[0]
    gone = Health(2**22 + 12345, now, Verdict.OK, "", every=1)  # above pid_max: no such pid
    assert liveness(gone, now) == (False, f"process {2**22 + 12345} is gone")
    garbage = tmp_path / "health.json"
    garbage.write_text("{not json")
    assert HealthFile(garbage).read() is None


def test_worker_check_command_reads_the_workers_health_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reelflow.cli.worker import check_worker
    from reelflow.config import Settings
    from reelflow.executors.celery.health import HEALTH_FILE

    settings = Settings(data_dir=tmp_path)
    assert check_worker(settings) == 1
    assert "NOT alive: no health file" in capsys.readouterr().out
    files = HealthFile(tmp_path / HEALTH_FILE)
    files.write(Health(os.getpid(), time.time(), Verdict.OK, "0 message(s) waiting", 5))
    assert check_worker(settings) == 0
    assert capsys.readouterr().out == "worker alive: ok: 0 message(s) waiting\n"
    files.write(Health(os.getpid(), time.time(), Verdict.STUCK, "3 message(s) waiting", 5))
    assert check_worker(settings) == 1


def test_a_slow_broker_answer_is_no_evidence_against_the_consumer(fake: Fake) -> None:
    dog = watchdog(fake)
    fake.waiting = 2

    def slow_depth() -> int:
        fake.now += 5  # a partition holds every request, the watchdog's as the consumer's
        return fake.waiting

    dog._depth = slow_depth
    for _ in range(10):
        assert dog.check() is Verdict.BROKER_DOWN
    assert fake.stuck == []
    dog._depth = fake.depth  # answers promptly again: the stall is counted from now
    assert advance(fake, dog, 9) is Verdict.OK
    assert advance(fake, dog, 1) is Verdict.STUCK
