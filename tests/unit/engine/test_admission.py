"""Admission (issue 21): an account may have ``max_queued_tasks`` unfinished tasks; the next
submission is refused until one of them ends."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.accounts import Account
from reelflow.config import Settings
from reelflow.errors import TooManyQueuedTasks
from reelflow.specs.requests import TaskRequest, TaskSource
from tests.unit.engine.conftest import RecordingEngine
from tests.unit.engine.fakes import FakeClock, FakePlanner, ScriptedRunner, drive, make_request


@pytest.fixture
def limited(
    sessions: sessionmaker[Session], planner: FakePlanner, settings: Settings, clock: FakeClock
) -> RecordingEngine:
    return RecordingEngine(
        sessions, planner, settings.model_copy(update={"max_queued_tasks": 3}), clock=clock
    )


def request_in(bucket: str, *, session_id: str = "") -> TaskRequest:
    source = TaskSource(type="bucket", bucket=bucket, key="up/clip.mp4")
    return make_request(1, session_id=session_id).model_copy(update={"source": source})


def test_exactly_the_limit_is_accepted_and_one_more_is_refused(
    limited: RecordingEngine, alice: Account
) -> None:
    accepted = [limited.submit(request_in("in"), account_id=alice.id) for _ in range(3)]
    assert len(set(accepted)) == 3
    with pytest.raises(TooManyQueuedTasks) as refused:
        limited.submit(request_in("in"), account_id=alice.id)
    assert refused.value.code == "LimitExceeded.TooManyQueuedTasks"
    assert "3 unfinished tasks" in refused.value.message
    assert limited.count_tasks(account_id=alice.id) == 3


def test_the_limit_is_per_account(limited: RecordingEngine, alice: Account, bob: Account) -> None:
    for _ in range(3):
        limited.submit(request_in("in"), account_id=alice.id)
    assert limited.submit(request_in("bob-in"), account_id=bob.id).startswith("rf-")


def test_a_finished_task_makes_room_again(
    limited: RecordingEngine, alice: Account, runner: ScriptedRunner
) -> None:
    for _ in range(3):
        limited.submit(request_in("in"), account_id=alice.id)
    drive(limited, runner)  # every task finishes
    for _ in range(3):
        limited.submit(request_in("in"), account_id=alice.id)
    with pytest.raises(TooManyQueuedTasks):
        limited.submit(request_in("in"), account_id=alice.id)


def test_a_repeated_session_id_over_the_limit_returns_its_task(
    limited: RecordingEngine, alice: Account
) -> None:
    first = limited.submit(request_in("in", session_id="s-1"), account_id=alice.id)
    for _ in range(2):
        limited.submit(request_in("in"), account_id=alice.id)
    assert limited.submit(request_in("in", session_id="s-1"), account_id=alice.id) == first


def test_internal_callers_are_not_limited(limited: RecordingEngine) -> None:
    for _ in range(4):
        limited.submit(make_request(1))
