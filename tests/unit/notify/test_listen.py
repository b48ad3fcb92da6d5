"""``reelflow events listen``: the one-line summary of an event."""

from __future__ import annotations

from typing import Any

from reelflow.cli.events import summary


def result(kind: str, member: str, status: str, code: str = "") -> dict[str, Any]:
    body = {"Status": status, "ErrCodeExt": code, "Message": "boom" if code else "SUCCESS"}
    return {"Type": kind, member: body, "SampleSnapshotTask": None}


def test_summary_names_task_status_and_sub_task_outcomes() -> None:
    body = {
        "EventId": "ev-1",
        "Sequence": 2,
        "EventKind": "task.finished",
        "WorkflowTaskEvent": {
            "TaskId": "rf-1",
            "Status": "FINISH",
            "ErrCodeExt": "",
            "MediaProcessResultSet": [
                result("Transcode", "TranscodeTask", "SUCCESS"),
                result("ImageSprites", "ImageSpriteTask", "FAIL", "FFmpegFailed"),
            ],
        },
    }
    assert summary(body) == (
        "ev-1 #2 rf-1 task.finished FINISH 1/2 sub-tasks succeeded; ImageSprites: FFmpegFailed"
    )


def test_summary_of_a_sub_task_event_and_a_source_failure() -> None:
    body = {
        "EventId": "ev-2",
        "Sequence": 1,
        "EventKind": "subtask.finished",
        "SubTaskIndex": 0,
        "WorkflowTaskEvent": {
            "TaskId": "rf-2",
            "Status": "FINISH",
            "ErrCodeExt": "InvalidInput",
            "Message": "not a media file",
            "MediaProcessResultSet": [],
        },
    }
    assert summary(body) == (
        "ev-2 #1 rf-2 subtask.finished FINISH 0/0 sub-tasks succeeded (sub-task 0); "
        "task error InvalidInput: not a media file"
    )


def test_summary_of_a_chained_sub_task_event_names_its_node_and_input() -> None:
    body = {
        "EventId": "ev-3",
        "Sequence": 2,
        "EventKind": "subtask.finished",
        "SubTaskIndex": 1,
        "SubTaskId": "shots",
        "SubTaskInput": "wm720",
        "WorkflowTaskEvent": {"TaskId": "rf-3", "Status": "PROCESSING"},
    }
    assert summary(body) == (
        "ev-3 #2 rf-3 subtask.finished PROCESSING 0/0 sub-tasks succeeded "
        "(sub-task 1 'shots' reading 'wm720')"
    )


def test_summary_of_a_schedule_task_reads_its_activity_results() -> None:
    activity = result("SnapshotByTimeOffset", "SnapshotByTimeOffsetTask", "FAIL", "Upstream")
    body = {
        "EventId": "ev-4",
        "Sequence": 3,
        "EventKind": "task.finished",
        "WorkflowTaskEvent": None,
        "ScheduleTaskEvent": {
            "TaskId": "rf-4",
            "Status": "FINISH",
            "ActivityResultSet": [
                {
                    "ActivityType": "Transcode",
                    "ActivityResItem": result("Transcode", "TranscodeTask", "SUCCESS"),
                },
                {"ActivityType": "SnapshotByTimeOffset", "ActivityResItem": activity},
            ],
        },
    }
    assert summary(body) == (
        "ev-4 #3 rf-4 task.finished FINISH 1/2 sub-tasks succeeded; SnapshotByTimeOffset: Upstream"
    )


def test_summary_of_a_scored_rendition_shows_its_vmaf() -> None:
    body = {
        "EventId": "ev-5",
        "Sequence": 2,
        "EventKind": "subtask.finished",
        "SubTaskIndex": 0,
        "Quality": {"Model": "vmaf_v0.6.1", "Vmaf": {"Mean": 93.41, "Min": 81.7}},
        "WorkflowTaskEvent": {"TaskId": "rf-5", "Status": "PROCESSING"},
    }
    assert summary(body).endswith("(sub-task 0, VMAF 93.4 min 81.7)")
