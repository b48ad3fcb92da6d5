"""The egress policy at submission: a request's own URL input and notification target are
refused by their spelling; the target of a stored workflow's task is left to delivery."""

from __future__ import annotations

import pytest

from reelflow.catalog.egress import check_request
from reelflow.errors import SpecError
from reelflow.net.egress import EgressPolicy
from reelflow.specs.notify import NotifyTarget
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.tasks import MediaProcessTask, TranscodeTaskInput

HOOK = NotifyTarget(type="url", url="http://127.0.0.1:9/hook")
SOURCE = TaskSource(type="bucket", bucket="media", key="in/a.mp4")
WORK = MediaProcessTask(transcode_task_set=[TranscodeTaskInput(definition=100010)])


def test_a_requests_own_refused_target_is_refused_naming_the_field() -> None:
    with pytest.raises(SpecError) as caught:
        check_request(
            EgressPolicy(), TaskRequest(source=SOURCE, media_process_task=WORK, notify=HOOK)
        )
    assert caught.value.code == "InvalidParameterValue.NotifyUrl"
    assert caught.value.field == "notify.url"
    assert "loopback" in caught.value.message


def test_a_stored_workflows_target_is_left_to_delivery() -> None:
    # Saved while the policy allowed it: its uploads still run; the delivery says why not.
    check_request(
        EgressPolicy(),
        TaskRequest(source=SOURCE, media_process_task=WORK, notify=HOOK, workflow_id=7),
    )


def test_a_url_input_is_refused_even_for_a_workflow() -> None:
    source = TaskSource(type="url", url="http://2130706433/clip.mp4")
    with pytest.raises(SpecError) as caught:
        check_request(
            EgressPolicy(),
            TaskRequest(
                source=source, media_process_task=WORK, workflow_id=7, output_bucket="media"
            ),
        )
    assert caught.value.code == "InvalidParameterValue.Url"
