"""Tasks in the compatible API's shapes: ``WorkflowTask`` and ``MediaProcessResultSet``.

One place turns a ``TaskView`` into what clients read, so the CLI's result.json, the REST
API, the action API and event bodies always agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reelflow.engine.views import SubTaskView, TaskView
from reelflow.specs.media import MediaInfo
from reelflow.specs.requests import TaskSource
from reelflow.specs.states import SubTaskState
from reelflow.specs.subtasks import SubTaskKind

ZERO_TIME = "0000-00-00T00:00:00Z"

RESULT_MEMBERS = {
    SubTaskKind.TRANSCODE: "TranscodeTask",
    SubTaskKind.ANIMATED_GRAPHICS: "AnimatedGraphicTask",
    SubTaskKind.SNAPSHOT: "SnapshotByTimeOffsetTask",
    SubTaskKind.SAMPLE_SNAPSHOT: "SampleSnapshotTask",
    SubTaskKind.IMAGE_SPRITE: "ImageSpriteTask",
}
_ALL_MEMBERS = (*RESULT_MEMBERS.values(), "AdaptiveDynamicStreamingTask")

# The compatible API's legacy integer error codes: 0 = success; reelflow uses one generic
# non-zero value and puts its precise code in ErrCodeExt.
LEGACY_ERROR = 30010


def iso(moment: datetime | None) -> str:
    if moment is None:
        return ZERO_TIME
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def input_info(source: TaskSource) -> dict[str, Any]:
    """``MediaInputInfo`` of a source."""
    if source.type == "bucket":
        return {
            "Type": "COS",
            "CosInputInfo": {"Bucket": source.bucket, "Region": "", "Object": "/" + source.key},
        }
    if source.type == "url":
        return {"Type": "URL", "UrlInputInfo": {"Url": source.url}}
    return {"Type": "URL", "UrlInputInfo": {"Url": f"file://{source.path}"}}


def subtask_result(sub: SubTaskView) -> dict[str, Any]:
    """One ``MediaProcessTaskResult`` with exactly one non-null member."""
    ok = sub.state is SubTaskState.SUCCEEDED
    failed = sub.api_status == "FAIL"
    body: dict[str, Any] = {
        "Status": sub.api_status,
        "ErrCodeExt": sub.err_code if failed else "",
        "ErrCode": (LEGACY_ERROR if failed else 0),
        "Message": "SUCCESS" if ok else sub.message,
        "Input": sub.spec.parsed_input().to_mps(),
        "Output": sub.output if ok else None,
    }
    if sub.kind is SubTaskKind.TRANSCODE:
        body["Progress"] = round(sub.progress)
    else:
        body["BeginProcessTime"] = iso(sub.started_at)
        body["FinishTime"] = iso(sub.finished_at)
    result: dict[str, Any] = {"Type": sub.kind.value}
    for member in _ALL_MEMBERS:
        result[member] = None
    result[RESULT_MEMBERS[sub.kind]] = body
    return result


def workflow_task(task: TaskView) -> dict[str, Any]:
    """The compatible API's ``WorkflowTask`` (also the ``WorkflowTaskEvent`` of events)."""
    return {
        "TaskId": task.id,
        "Status": task.api_status,
        "ErrCode": LEGACY_ERROR if task.err_code else 0,
        "ErrCodeExt": task.err_code,
        "Message": task.message,
        "InputInfo": input_info(task.source),
        "MetaData": _metadata(task),
        "MediaProcessResultSet": [subtask_result(s) for s in task.subtasks],
        "AiContentReviewResultSet": [],
        "AiAnalysisResultSet": [],
        "AiRecognitionResultSet": [],
    }


def _metadata(task: TaskView) -> dict[str, Any] | None:
    if task.media_info is None:
        return None
    return dict(MediaInfo.from_dict(task.media_info).to_mps_metadata())


def task_detail(task: TaskView) -> dict[str, Any]:
    """``DescribeTaskDetail``'s response body (without ``RequestId``)."""
    return {
        "TaskType": "WorkflowTask",
        "Status": task.api_status,
        "CreateTime": iso(task.created_at),
        "BeginProcessTime": iso(task.started_at),
        "FinishTime": iso(task.finished_at),
        "WorkflowTask": workflow_task(task),
        "TasksPriority": task.priority,
        "SessionId": task.session_id,
        "SessionContext": task.session_context,
        "ExtInfo": "",
    }
