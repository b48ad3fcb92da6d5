"""Fair share between accounts (issue 21): the claim order across accounts, weights, caps,
priorities inside an account, and batch claims."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.accounts import Account
from reelflow.config import Settings
from reelflow.engine.fairshare import FairShare
from reelflow.specs.requests import TaskRequest, TaskSource
from tests.unit.engine.conftest import RecordingEngine
from tests.unit.engine.fakes import FakeClock, FakePlanner, make_request

# -- the policy alone -----------------------------------------------------------------------


def serve(share: FairShare, accounts: list[int], slots: int) -> list[int]:
    picks = share.order(accounts, {}, slots)
    share.served(picks)
    return picks


def test_accounts_with_work_take_turns() -> None:
    assert serve(FairShare(), [1, 2, 3], 7) == [1, 2, 3, 1, 2, 3, 1]


def test_a_weight_gives_that_many_turns_to_another_one() -> None:
    picks = serve(FairShare({1: 3.0}), [1, 2], 8)
    assert Counter(picks) == {1: 6, 2: 2}


def test_an_account_that_comes_back_is_served_next_but_does_not_catch_up() -> None:
    share = FairShare()
    for _ in range(50):
        serve(share, [1], 4)  # account 1 alone, for 200 claims
    assert serve(share, [1, 2], 6) == [2, 1, 2, 1, 2, 1]
    # Account 2 went idle while 1 went on: back again, it gets the next slot, then turns.
    serve(share, [1], 10)
    assert serve(share, [1, 2], 4) == [2, 1, 2, 1]


def test_the_cap_counts_running_jobs_and_leaves_slots_free() -> None:
    share = FairShare(max_running=2)
    assert share.order([1, 2], {1: 1}, 10) == [1, 2, 2]
    assert share.order([1], {1: 2}, 10) == []


def test_order_changes_nothing_until_served() -> None:
    share = FairShare()
    assert share.order([1, 2], {}, 1) == [1]
    assert share.order([1, 2], {}, 1) == [1]
    share.served([1])
    assert share.order([1, 2], {}, 1) == [2]


# -- claims on the database -------------------------------------------------------------


def request_in(bucket: str, *, priority: int = 0) -> TaskRequest:
    source = TaskSource(type="bucket", bucket=bucket, key="up/clip.mp4")
    return make_request(1, priority=priority).model_copy(update={"source": source})


MakeEngine = Callable[..., RecordingEngine]


@pytest.fixture
def make_engine(
    sessions: sessionmaker[Session], planner: FakePlanner, settings: Settings, clock: FakeClock
) -> MakeEngine:
    def make(**changes: object) -> RecordingEngine:
        return RecordingEngine(sessions, planner, settings.model_copy(update=changes), clock=clock)

    return make


def submit(engine: RecordingEngine, account: Account, bucket: str, n: int, **kw: int) -> list[str]:
    return [engine.submit(request_in(bucket, **kw), account_id=account.id) for _ in range(n)]


def test_a_new_task_of_another_account_is_claimed_next_behind_a_backlog(
    engine: RecordingEngine, alice: Account, bob: Account, clock: FakeClock
) -> None:
    backlog = submit(engine, alice, "in", 20)
    assert [job.task_id for job in engine.claim("w1", 3)] == backlog[:3]
    clock.advance(60)
    [newcomer] = submit(engine, bob, "bob-in", 1)
    assert [job.task_id for job in engine.claim("w1", 1)] == [newcomer]
    assert [job.task_id for job in engine.claim("w1", 2)] == backlog[3:5]


def test_a_batch_claim_interleaves_accounts_and_fills_every_slot(
    engine: RecordingEngine, alice: Account, bob: Account
) -> None:
    alices = submit(engine, alice, "in", 5)
    bobs = submit(engine, bob, "bob-in", 1)
    claimed = [job.task_id for job in engine.claim("w1", 4)]
    # Bob has one job for his two turns: Alice's jobs fill the slot he leaves.
    assert claimed == [alices[0], bobs[0], alices[1], alices[2]]
    assert [job.task_id for job in engine.claim("w1", 10)] == alices[3:]


def test_priority_then_age_inside_an_account_not_across_accounts(
    engine: RecordingEngine, alice: Account, bob: Account, clock: FakeClock
) -> None:
    low = submit(engine, alice, "in", 2)
    clock.advance(1)
    bobs = submit(engine, bob, "bob-in", 2)
    clock.advance(1)
    [urgent] = submit(engine, alice, "in", 1, priority=10)
    claimed = [job.task_id for job in engine.claim("w1", 5)]
    # Alice's urgent task leads her own queue; Bob still gets every other turn.
    assert claimed == [urgent, bobs[0], low[0], bobs[1], low[1]]


def test_weights_and_caps_from_the_settings(
    make_engine: MakeEngine, alice: Account, bob: Account
) -> None:
    weighted = make_engine(account_weights={alice.id: 2.0})
    submit(weighted, alice, "in", 10)
    submit(weighted, bob, "bob-in", 10)
    claimed = weighted.claim("w1", 6)
    owners = Counter(weighted.task_view(job.task_id).account_id for job in claimed)
    assert owners == {alice.id: 4, bob.id: 2}

    capped = make_engine(max_running_per_account=3)
    # Alice's four claims above run on (over this cap already), Bob's two leave him one.
    [one] = capped.claim("w2", 10)
    assert capped.task_view(one.task_id).account_id == bob.id
    assert capped.claim("w2", 10) == []
