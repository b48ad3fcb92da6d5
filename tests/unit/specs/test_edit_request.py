"""A clip-and-join task request (``TaskRequest.edit``): no MediaProcessTask sub-tasks, its
source the first input, stored and read back unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reelflow.specs.requests import TaskRequest

FIRST = {"type": "bucket", "bucket": "media", "key": "in/a.mp4"}
SECOND = {"type": "url", "url": "https://example.com/b.mp4"}


def request(**changes: Any) -> dict[str, Any]:
    edit = {
        "file_infos": [
            {"source": FIRST, "start_time_offset": 1.0, "end_time_offset": 2.0},
            {"source": SECOND},
        ],
        "fast": True,
    }
    return {"source": FIRST, "media_process_task": {}, "edit": edit, **changes}


def test_an_edit_request_needs_no_sub_task_sets_and_round_trips() -> None:
    made = TaskRequest.model_validate(request())
    assert made.edit is not None and made.media_process_task.count() == 0
    again = TaskRequest.model_validate(made.to_json())
    assert again == made
    assert again.edit is not None
    assert [f.source.type for f in again.edit.file_infos] == ["bucket", "url"]


def test_without_edit_an_empty_media_process_task_is_still_refused() -> None:
    with pytest.raises(ValidationError, match="at least one sub-task"):
        TaskRequest.model_validate({"source": FIRST, "media_process_task": {}})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"source": SECOND}, "source is its first input"),
        (
            {"media_process_task": {"transcode_task_set": [{"definition": 10}]}},
            "has no media_process_task",
        ),
    ],
)
def test_edit_refusals(changes: dict[str, Any], message: str) -> None:
    data = request(**changes)
    if "source" in changes:
        data["output_bucket"] = "media"
    with pytest.raises(ValidationError, match=message):
        TaskRequest.model_validate(data)


def test_a_cut_ending_before_it_starts_is_refused() -> None:
    data = request()
    data["edit"]["file_infos"][0]["end_time_offset"] = 0.5
    with pytest.raises(ValidationError, match="after start_time_offset"):
        TaskRequest.model_validate(data)
