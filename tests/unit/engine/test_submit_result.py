"""``Engine.submit_task``: whether a submission created its task (``session_id`` and
``trigger_key`` dedupe), decided where the task would be written; and which field of the
request names a bucket the account does not own."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from reelflow.catalog.accounts import Account
from reelflow.catalog.buckets import Buckets
from reelflow.catalog.templates import Templates
from reelflow.catalog.triggered import TriggerKey
from reelflow.catalog.workflows import Workflows
from reelflow.config import Settings
from reelflow.engine.service import Engine
from reelflow.engine.tasks import RequestBucketNotFound, Submitted
from reelflow.errors import BucketNotFound
from reelflow.planner.plan import DefaultPlanner
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.tasks import MediaProcessTask
from reelflow.specs.workflows import WorkflowSpec, WorkflowTrigger
from tests.unit.engine.conftest import RecordingEngine
from tests.unit.engine.fakes import FakeClock, make_request


@pytest.fixture
def real_engine(
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
    templates: Templates,
    buckets: Buckets,
) -> Engine:
    """An engine whose planner really resolves templates and their output storages."""
    return Engine(
        sessions, DefaultPlanner(), settings, clock=clock, templates=templates, buckets=buckets
    )


def test_a_repeated_session_id_is_reported_as_not_created(
    engine: RecordingEngine, alice: Account
) -> None:
    first = engine.submit_task(make_request(1, session_id="s-1"), account_id=alice.id)
    assert first.created and first.task_id.startswith("rf-")
    again = engine.submit_task(make_request(1, session_id="s-1"), account_id=alice.id)
    assert again == Submitted(first.task_id, created=False)
    other = engine.submit_task(make_request(1, session_id="s-2"), account_id=alice.id)
    assert other.created and other.task_id != first.task_id
    assert engine.submit_task(make_request(1), account_id=alice.id).created  # no session
    assert engine.count_tasks() == 3


def test_submit_still_returns_the_task_id(engine: RecordingEngine, alice: Account) -> None:
    first = engine.submit(make_request(1, session_id="s-1"), account_id=alice.id)
    assert engine.submit(make_request(1, session_id="s-1"), account_id=alice.id) == first
    assert engine.submit_task(make_request(1, session_id="s-1"), account_id=alice.id) == (
        Submitted(first, created=False)
    )


def test_a_twin_that_commits_after_the_first_check_is_caught_in_the_write(
    engine: RecordingEngine, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session check before planning misses a twin committed just after it; the check
    in the creating transaction reports the twin's task, not a new one."""
    twin: list[str] = []
    real_check = engine.tasks._session_task

    def racing(session: Session, session_id: str, account_id: int | None) -> str | None:
        found = real_check(session, session_id, account_id)
        if not twin:  # the first check: the twin commits right after it
            monkeypatch.setattr(engine.tasks, "_session_task", real_check)
            twin.append(engine.submit(make_request(1, session_id="s-1"), account_id=alice.id))
        return found

    monkeypatch.setattr(engine.tasks, "_session_task", racing)
    submitted = engine.submit_task(make_request(1, session_id="s-1"), account_id=alice.id)
    assert submitted == Submitted(twin[0], created=False)
    assert engine.count_tasks() == 1


def test_concurrent_submits_of_one_session_create_exactly_one(
    engine: RecordingEngine, alice: Account
) -> None:
    results: list[Submitted] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def submit() -> None:
        start.wait()
        try:
            request = make_request(1, session_id="race")
            results.append(engine.submit_task(request, account_id=alice.id))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 8
    assert sum(r.created for r in results) == 1
    assert len({r.task_id for r in results}) == 1
    assert engine.count_tasks() == 1


def test_a_repeated_trigger_key_is_reported_as_not_created(
    real_engine: Engine, workflows: Workflows, alice: Account
) -> None:
    flow = workflows.create(
        alice.id,
        WorkflowSpec(
            name="web",
            trigger=WorkflowTrigger(bucket="in"),
            media_process_task=MediaProcessTask.model_validate(
                {"transcode_task_set": [{"definition": 100010}]}
            ),
        ),
    )
    request = Workflows.request_for(flow, TaskSource(type="bucket", bucket="in", key="a.mp4"))
    key = TriggerKey(flow.id, "in", "a.mp4", "etag-1")
    first = real_engine.submit_task(request, account_id=alice.id, trigger_key=key)
    again = real_engine.submit_task(request, account_id=alice.id, trigger_key=key)
    assert first.created
    assert again == Submitted(first.task_id, created=False)


def _request(**fields: object) -> TaskRequest:
    return TaskRequest.model_validate(
        {
            "source": {"type": "bucket", "bucket": "in", "key": "a.mp4"},
            "media_process_task": {"transcode_task_set": [{"definition": 100010}]},
            **fields,
        }
    )


def _output_storage(bucket: str) -> dict[str, object]:
    return {
        "transcode_task_set": [
            {"definition": 100010, "output_storage": {"cos_output_storage": {"bucket": bucket}}}
        ]
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"source": {"type": "bucket", "bucket": "bob-in", "key": "a.mp4"}}, "source.bucket"),
        ({"output_bucket": "bob-in"}, "output_bucket"),
        ({"media_process_task": _output_storage("bob-in")}, "media_process_task"),
        # The request's own output bucket is named before a sub-task's, whatever the names.
        (
            {"output_bucket": "zzz-nope", "media_process_task": _output_storage("aaa-nope")},
            "output_bucket",
        ),
        (
            {"output_bucket": "alice-out", "media_process_task": _output_storage("bob-in")},
            "media_process_task",
        ),
    ],
    ids=["source", "output", "sub-task-output", "output-first", "sub-task-only"],
)
def test_a_bucket_not_owned_names_its_field(
    real_engine: Engine, alice: Account, bob: Account, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(RequestBucketNotFound) as info:
        real_engine.submit_task(_request(**fields), account_id=alice.id)
    assert isinstance(info.value, BucketNotFound)  # callers catching BucketNotFound still do
    assert info.value.field == field
    assert info.value.code == "ResourceNotFound.BucketNotExist"
    assert info.value.message.startswith("bucket '") and "does not exist" in info.value.message
    assert real_engine.count_tasks() == 0
