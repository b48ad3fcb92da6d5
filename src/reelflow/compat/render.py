"""Tasks in the compatible API's shapes: ``WorkflowTask``, ``MediaProcessResultSet``,
``ScheduleTask`` (a task made from a schedule's activities), ``DescribeTaskDetail`` and
event bodies.

One place turns a task into what clients read, so the CLI's result.json, the REST API, the
action API and event bodies always agree. A task is read through ``TaskRecord`` (what the
engine's ``TaskView`` offers), so this module depends on no layer above ``specs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from reelflow.compat.media import media_metadata
from reelflow.compat.regions import fill_regions
from reelflow.specs.media import MediaInfo
from reelflow.specs.quality import QualityScore, RungScore, quality_json
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.subtasks import SubTaskKind, SubTaskSpec

ZERO_TIME = "0000-00-00T00:00:00Z"

RESULT_MEMBERS = {
    SubTaskKind.TRANSCODE: "TranscodeTask",
    SubTaskKind.ANIMATED_GRAPHICS: "AnimatedGraphicTask",
    SubTaskKind.SNAPSHOT: "SnapshotByTimeOffsetTask",
    SubTaskKind.SAMPLE_SNAPSHOT: "SampleSnapshotTask",
    SubTaskKind.IMAGE_SPRITE: "ImageSpriteTask",
    SubTaskKind.ADAPTIVE: "AdaptiveDynamicStreamingTask",
}
_ALL_MEMBERS = tuple(RESULT_MEMBERS.values())

# The compatible API's legacy integer error codes: 0 = success; reelflow uses one generic
# non-zero value and puts its precise code in ErrCodeExt.
LEGACY_ERROR = 30010


class SubTaskRecord(Protocol):
    """What rendering reads of a sub-task (``reelflow.engine.views.SubTaskView``).

    ``api_status`` is the compatible API's ``Status`` (``SUCCESS`` only for a sub-task
    that succeeded); ``output`` the stored output item, set on success only.
    """

    @property
    def kind(self) -> SubTaskKind: ...
    @property
    def api_status(self) -> str: ...
    @property
    def progress(self) -> float: ...
    @property
    def err_code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def output(self) -> dict[str, Any] | None: ...
    @property
    def spec(self) -> SubTaskSpec: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def quality(self) -> QualityScore | None: ...
    @property
    def rung_quality(self) -> Sequence[RungScore]: ...


class TaskRecord(Protocol):
    """What rendering reads of a task (``reelflow.engine.views.TaskView``)."""

    @property
    def id(self) -> str: ...
    @property
    def api_status(self) -> str: ...
    @property
    def priority(self) -> int: ...
    @property
    def session_id(self) -> str: ...
    @property
    def session_context(self) -> str: ...
    @property
    def request(self) -> TaskRequest: ...
    @property
    def source(self) -> TaskSource: ...
    @property
    def media_info(self) -> MediaInfo | None: ...
    @property
    def err_code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def subtasks(self) -> Sequence[SubTaskRecord]: ...


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


def subtask_result(sub: SubTaskRecord) -> dict[str, Any]:
    """One ``MediaProcessTaskResult`` with exactly one non-null member."""
    ok = sub.api_status == "SUCCESS"
    failed = sub.api_status == "FAIL"
    body: dict[str, Any] = {
        "Status": sub.api_status,
        "ErrCodeExt": sub.err_code if failed else "",
        "ErrCode": (LEGACY_ERROR if failed else 0),
        "Message": "SUCCESS" if ok else sub.message,
        "Input": (
            sub.spec.parsed_edit().to_mps()
            if sub.kind is SubTaskKind.EDIT
            else _with_inputs(sub.spec.parsed_input().to_mps())
        ),
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
    # An edit task's sub-task has no member of its own in MediaProcessTaskResult: only the
    # native API and the CLI show it here (the compatible API renders ``edit_task``).
    result[RESULT_MEMBERS.get(sub.kind, "EditMediaTask")] = body
    return result


def _with_regions(task: TaskRecord, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the regions the task was submitted with beside its buckets, so
    that ``DescribeTaskDetail`` and the event bodies say the same."""
    regions = task.request.regions
    if not regions:
        return document
    filled: dict[str, Any] = fill_regions(document, lambda bucket: regions.get(bucket, ""))
    return filled


def _with_inputs(document: dict[str, Any]) -> dict[str, Any]:
    """A task input as the compatible API shows it: ``HeadTailParameter`` clips and an
    inline watermark's image as ``MediaInputInfo``."""
    shown = dict(document)
    clips = document.get("HeadTailParameter")
    if isinstance(clips, dict):
        shown["HeadTailParameter"] = {
            name: [input_info(TaskSource.model_validate(c)) for c in clips.get(name) or []]
            for name in ("HeadSet", "TailSet")
        }
    marks = document.get("WatermarkSet")
    if isinstance(marks, list):
        shown["WatermarkSet"] = [_raw_watermark(m) if isinstance(m, dict) else m for m in marks]
    return shown


def _raw_watermark(mark: dict[str, Any]) -> dict[str, Any]:
    """A ``WatermarkInput`` whose ``RawParameter`` has the SDK's ``RawWatermarkParameter``
    members: the image is the bucket object or URL it was read from (``null`` for an image given
    inline through the native API), never its bytes."""
    raw = mark.get("RawParameter")
    if not isinstance(raw, dict):
        return mark
    image = raw.get("ImageTemplate")
    shown_image = None
    if isinstance(image, dict):
        origin = str(image.get("ImageOrigin") or "")
        bucket, _, key = origin.partition("/")
        content: dict[str, Any] | None
        if origin.startswith(("http://", "https://")):
            content = input_info(TaskSource(type="url", url=origin))
        else:
            content = input_info(TaskSource(type="bucket", bucket=bucket, key=key)) if key else None
        shown_image = {
            "ImageContent": content,
            "Width": image.get("Width"),
            "Height": image.get("Height"),
            "RepeatType": image.get("RepeatType"),
        }
    members = ("Type", "CoordinateOrigin", "XPos", "YPos")
    return {
        **mark,
        "RawParameter": {**{k: raw.get(k) for k in members}, "ImageTemplate": shown_image},
    }


def workflow_task(task: TaskRecord) -> dict[str, Any]:
    """The compatible API's ``WorkflowTask`` (also the ``WorkflowTaskEvent`` of events and
    the CLI's result.json); ``MetaData`` null until the source is probed."""
    return _with_regions(
        task,
        {
            "TaskId": task.id,
            "Status": task.api_status,
            "ErrCode": LEGACY_ERROR if task.err_code else 0,
            "ErrCodeExt": task.err_code,
            "Message": task.message,
            "InputInfo": input_info(task.source),
            "MetaData": None if task.media_info is None else media_metadata(task.media_info),
            "MediaProcessResultSet": [subtask_result(s) for s in task.subtasks],
            "AiContentReviewResultSet": [],
            "AiAnalysisResultSet": [],
            "AiRecognitionResultSet": [],
        },
    )


def task_type(task: TaskRecord) -> str:
    """``WorkflowTask``, ``ScheduleTask`` for a task made from a schedule's activities, or
    ``EditMediaTask`` for a clip-and-join."""
    if task.request.edit is not None:
        return "EditMediaTask"
    return "ScheduleTask" if task.request.schedule is not None else "WorkflowTask"


def edit_task(task: TaskRecord) -> dict[str, Any]:
    """The compatible API's ``EditMediaTask`` (also an event's ``EditMediaTaskEvent``): the
    inputs as given, and the joined file once the task succeeded. The structure has no
    ``ErrCodeExt``: a failure's code leads its ``Message``."""
    edit = task.request.edit
    assert edit is not None
    sub = task.subtasks[0] if task.subtasks else None
    code, message = task.err_code, task.message
    if not code and sub is not None and sub.api_status == "FAIL":
        code, message = sub.err_code, sub.message
    ok = sub is not None and sub.api_status == "SUCCESS"
    return {
        "TaskId": task.id,
        "Status": task.api_status,
        "ErrCode": LEGACY_ERROR if code else 0,
        "Message": f"{code}: {message}" if code else ("SUCCESS" if ok else ""),
        "Input": {
            "FileInfoSet": [
                {
                    "InputInfo": input_info(f.source),
                    "StartTimeOffset": f.start_time_offset,
                    "EndTimeOffset": f.end_time_offset or 0.0,
                    "Id": f.id,
                }
                for f in edit.file_infos
            ]
        },
        "Output": sub.output if ok and sub is not None else None,
    }


def schedule_task(task: TaskRecord) -> dict[str, Any]:
    """The compatible API's ``ScheduleTask`` (also an event's ``ScheduleTaskEvent``): one
    ``ActivityResult`` per action activity, in the order of the activities; ``MetaData``
    null until the source is probed."""
    schedule = task.request.schedule
    nodes = schedule.action_nodes() if schedule is not None else []
    by_node = {sub.spec.node_id: sub for sub in task.subtasks}
    results = []
    for node in nodes:
        sub = by_node.get(node)
        if sub is None:
            continue
        result = subtask_result(sub)
        item = {member: result[member] for member in _ALL_MEMBERS}
        results.append({"ActivityType": sub.kind.value, "ActivityResItem": item})
    return _with_regions(
        task,
        {
            "TaskId": task.id,
            "Status": task.api_status,
            "ErrCode": LEGACY_ERROR if task.err_code else 0,
            "Message": task.message,
            "InputInfo": input_info(task.source),
            "MetaData": None if task.media_info is None else media_metadata(task.media_info),
            "ActivityResultSet": results,
        },
    )


def task_detail(task: TaskRecord) -> dict[str, Any]:
    """``DescribeTaskDetail``'s response body (without ``RequestId``)."""
    scheduled = task.request.schedule is not None
    edited = task.request.edit is not None
    return {
        "TaskType": task_type(task),
        "Status": task.api_status,
        "CreateTime": iso(task.created_at),
        "BeginProcessTime": iso(task.started_at),
        "FinishTime": iso(task.finished_at),
        "EditMediaTask": edit_task(task) if edited else None,
        "WorkflowTask": None if scheduled or edited else workflow_task(task),
        "ScheduleTask": schedule_task(task) if scheduled else None,
        "TasksPriority": task.priority,
        "SessionId": task.session_id,
        "SessionContext": task.session_context,
        "ExtInfo": "",
    }


def event_body(
    task: TaskRecord,
    event_id: str,
    seq: int,
    kind: str,
    subtask_index: int | None = None,
) -> dict[str, Any]:
    """The stored body of one event about ``task``: the compatible API's
    ``ParseNotification`` output plus ``EventId``, ``Sequence`` and ``EventKind``
    (``kind``: ``task.started``, ``task.finished``, ``subtask.finished``); see
    ``reelflow.notify`` for what is added when it is sent."""
    scheduled = task.request.schedule is not None
    edited = task.request.edit is not None
    body: dict[str, Any] = {
        "EventType": task_type(task),
        "EventId": event_id,
        "Sequence": seq,
        "EventKind": str(kind),
        "WorkflowTaskEvent": None if scheduled or edited else workflow_task(task),
        "EditMediaTaskEvent": edit_task(task) if edited else None,
        "ScheduleTaskEvent": schedule_task(task) if scheduled else None,
        "SessionId": task.session_id,
        "SessionContext": task.session_context,
    }
    if subtask_index is not None:
        body.update(_node(task, subtask_index))
    return body


def _node(task: TaskRecord, subtask_index: int) -> dict[str, Any]:
    """Which node of the task graph a sub-task event is about: ``SubTaskIndex``, its
    ``SubTaskId`` (``None``: unnamed) and ``SubTaskInput`` (the node id it read from;
    ``None``: the task's source); and ``Quality``, the scores of a rendition the task asked
    to score (``None`` otherwise: see ``QualityScore.to_json``, without the series).

    reelflow's additions stay at the top level of the body: ``ParseNotification`` reads
    ``WorkflowTaskEvent`` into the SDK's models, which must meet no unknown member."""
    sub = task.subtasks[subtask_index]
    return {
        "SubTaskIndex": subtask_index,
        "SubTaskId": sub.spec.node_id,
        "SubTaskInput": sub.spec.upstream_id,
        "Quality": quality_json(sub.quality, sub.rung_quality),
    }


_NODE_KEYS = ("SubTaskIndex", "SubTaskId", "SubTaskInput", "Quality")


def event_copy(
    template: dict[str, Any],
    task: TaskRecord,
    event_id: str,
    seq: int,
    kind: str,
    subtask_index: int | None,
) -> dict[str, Any]:
    """``event_body`` of one event from ``template`` (another event's body of ``task``):
    the nested ``WorkflowTaskEvent`` (or ``ScheduleTaskEvent``) is shared, never copied."""
    body = {**template, "EventId": event_id, "Sequence": seq, "EventKind": str(kind)}
    for key in _NODE_KEYS:
        body.pop(key, None)
    if subtask_index is not None:
        body.update(_node(task, subtask_index))
    return body
