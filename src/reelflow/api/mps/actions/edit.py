"""``EditMedia``: clip and join 1..10 inputs into one file.

The task's source is the first input; its one sub-task (``EditMedia``) joins every input
(``reelflow.specs.sources.EditMediaInput``). ``OutputConfig.Type`` ``fast`` joins by stream
copy (cuts at keyframes) when every input shares its codecs and parameters, else the join is
re-encoded (H.264/AAC at the first input's size, frame rate and sample rate). The task reads
back with ``DescribeTaskDetail`` as ``TaskType`` ``EditMediaTask``; its events carry
``EditMediaTaskEvent``.
"""

from __future__ import annotations

from typing import Any

from reelflow.api.mps.actions.tasks import session, submit
from reelflow.api.mps.context import ActionContext, Handler
from reelflow.api.mps.locations import output_bucket, source
from reelflow.api.mps.mapping import from_spec_error, notify_target
from reelflow.api.mps.params import Params, invalid, missing, unsupported
from reelflow.api.mps.validation import validate
from reelflow.specs.requests import TaskRequest

_FIELDS = (
    "FileInfos",
    "OutputStorage",
    "OutputObjectPath",
    "OutputConfig",
    "TaskNotifyConfig",
    "TasksPriority",
    "SessionId",
    "SessionContext",
)
_CONTAINERS = ("mp4", "hls", "mov", "flv", "mkv")
_MAX_INPUTS = 10
_RENAMES = {
    "edit.file_infos": "FileInfos",
    "edit.output_object_path": "OutputObjectPath",
    "edit.container": "OutputConfig.Container",
    "source": "FileInfos.0.InputInfo",
    "output_bucket": "OutputStorage.CosOutputStorage.Bucket",
    "priority": "TasksPriority",
    "notify": "TaskNotifyConfig",
    "session_id": "SessionId",
    "session_context": "SessionContext",
}


def _offset(p: Params, name: str) -> float | None:
    value = p.raw(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise invalid(p.where(name), f"must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _file_info(ctx: ActionContext, p: Params) -> dict[str, Any]:
    p.only(("InputInfo", "StartTimeOffset", "EndTimeOffset", "Id"))
    origin = source(ctx, p.obj("InputInfo", required=True) or Params({}))
    start = _offset(p, "StartTimeOffset") or 0.0
    end = _offset(p, "EndTimeOffset")
    if end and end <= start:
        raise invalid(p.where("EndTimeOffset"), "must be after StartTimeOffset")
    return {
        "Source": origin,
        "StartTimeOffset": start,
        "EndTimeOffset": end or None,
        "Id": p.text("Id", max_length=64),
    }


def edit_request(ctx: ActionContext, p: Params) -> TaskRequest:
    """The task request of an ``EditMedia`` call."""
    p.only(_FIELDS)
    items = p.raw("FileInfos")
    if items is None:
        raise missing("FileInfos")
    if not isinstance(items, list) or not 1 <= len(items) <= _MAX_INPUTS:
        raise invalid("FileInfos", f"must be an array of 1..{_MAX_INPUTS} EditMediaFileInfo")
    infos = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(f"FileInfos.{i}", "must be an object")
        infos.append(_file_info(ctx, Params(item, f"FileInfos.{i}")))
    storage = p.obj("OutputStorage")
    target = output_bucket(ctx, storage)
    if infos[0]["Source"].type == "url" and not target:
        raise missing("OutputStorage" if storage is None else "OutputStorage.CosOutputStorage")
    config = p.obj("OutputConfig") or Params({}, "OutputConfig")
    config.only(("Container", "Type"))
    container = config.text("Container", "mp4").strip().lower() or "mp4"
    if container == "avi":
        raise unsupported(f"OutputConfig.Container {container}", "use mp4, hls, mov or flv")
    if container not in _CONTAINERS:
        raise invalid("OutputConfig.Container", f"must be mp4, hls, mov or flv, got {container!r}")
    kind = config.text("Type", "normal").strip().lower() or "normal"
    if kind not in ("normal", "fast"):
        raise invalid("OutputConfig.Type", f"must be normal or fast, got {kind!r}")
    path = p.text("OutputObjectPath", max_length=1024)
    session_id, context = session(p)
    fields: dict[str, Any] = {
        "Source": infos[0]["Source"],
        "MediaProcessTask": {},
        "OutputBucket": target,
        "Priority": p.integer("TasksPriority", 0, low=-10, high=10),
        "Notify": notify_target(p.obj("TaskNotifyConfig")),
        "Edit": {
            "FileInfos": infos,
            "OutputObjectPath": path,
            "Container": container,
            "Fast": kind == "fast",
        },
        "SessionId": session_id,
        "SessionContext": context,
    }
    return validate(TaskRequest, fields, "")


def edit_media(ctx: ActionContext, p: Params) -> dict[str, Any]:
    return submit(ctx, edit_request(ctx, p), lambda exc: from_spec_error(exc, _RENAMES))


ACTIONS: dict[str, Handler] = {"EditMedia": edit_media}
