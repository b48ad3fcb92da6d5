"""``DispatchWatch``: telling a queue nobody reads from a busy one (fake clock)."""

from __future__ import annotations

import logging

import pytest

from reelflow.engine.dispatch import DispatchWatch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def watch(clock: Clock, stall: float = 10, cap: float = 60) -> DispatchWatch:
    return DispatchWatch(stall, queue="q", probe_cap=cap, clock=clock)


def test_claims_nobody_adopts_pause_dispatch_once_and_go_back(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    dog = watch(clock)
    sent = {"1": clock.now, "2": clock.now}
    clock.now += 9
    assert dog.review(sent, {"1", "2"}).hand_back == []
    assert dog.room(4, in_flight=2) == 4
    clock.now += 1
    with caplog.at_level(logging.WARNING):
        assert dog.review(sent, {"1", "2"}).hand_back == ["1", "2"]
        assert dog.review({}, set()).hand_back == []
    assert dog.paused and dog.pauses == 1
    [line] = [r.getMessage() for r in caplog.records]
    assert "queue q: 2 job(s) sent but none started for 10 s; no worker reads it" in line


def test_busy_workers_and_adopted_claims_are_not_a_stall(clock: Clock) -> None:
    dog = watch(clock)
    sent = {"1": clock.now, "2": clock.now}
    clock.now += 100
    # "1" runs on a worker (adopted), "2" waits behind it: the queue is read.
    assert dog.review(sent, {"2"}).hand_back == []
    clock.now += 100
    assert dog.review(sent, {"2"}).hand_back == []
    assert not dog.paused


def test_a_recent_adoption_or_end_defers_the_verdict(clock: Clock) -> None:
    dog = watch(clock)
    sent = {"1": clock.now}
    clock.now += 8
    dog.progressed()  # another claim ended a moment ago
    clock.now += 5
    assert dog.review(sent, {"1"}).hand_back == []
    clock.now += 5
    assert dog.review(sent, {"1"}).hand_back == ["1"]


def test_paused_dispatch_probes_with_one_job_at_growing_intervals(clock: Clock) -> None:
    dog = watch(clock, stall=10, cap=20)
    start = clock.now
    clock.now += 10
    assert dog.review({"1": start}, {"1"}).hand_back == ["1"]
    assert dog.room(4, in_flight=0) == 0  # first probe after half a stall
    clock.now += 5
    assert dog.room(4, in_flight=0) == 1
    probe_sent = clock.now
    assert dog.room(4, in_flight=1) == 0  # one probe at a time
    clock.now += 4
    assert dog.review({"2": probe_sent}, {"2"}).hand_back == []
    clock.now += 1
    assert dog.review({"2": probe_sent}, {"2"}).hand_back == ["2"]  # re-sent now
    assert dog.room(4, in_flight=0) == 1
    probe_sent = clock.now
    clock.now += 9
    assert dog.review({"3": probe_sent}, {"3"}).hand_back == []  # waits 10 s this time
    clock.now += 1
    assert dog.review({"3": probe_sent}, {"3"}).hand_back == ["3"]
    probe_sent = clock.now
    clock.now += 20
    assert dog.review({"4": probe_sent}, {"4"}).hand_back == ["4"]  # capped at 20 s


def test_an_adopted_probe_resumes_dispatch(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    dog = watch(clock)
    start = clock.now
    clock.now += 10
    dog.review({"1": start}, {"1"})
    clock.now += 30
    with caplog.at_level(logging.WARNING):
        assert dog.review({"2": clock.now}, set()).hand_back == []  # a worker took it
    assert not dog.paused
    assert dog.room(4, in_flight=1) == 4
    assert "queue q is read again after 30 s: dispatch resumed" in caplog.text
