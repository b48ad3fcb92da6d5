"""Answers trimmed to the members the compatible API's structures define.

reelflow's spec models and result documents carry a few fields of their own
(``VideoTemplate.Preset``/``AllowUpscale``, a transcode template's ``Quality``, a
transcode input's ``ExtInfo``, a raw template's ``Name``/``Comment``, an animated graphic
input's ``ObjectNumberFormat``, an adaptive-streaming input's ``ObjectNumberFormat``/
``ExtInfo`` and its result's files, renditions and check summary, an HLS transcode's
``TotalSize``,
``WorkflowTask.ErrCodeExt``). The official SDK warns
(``UserWarning: ... fileds are useless``) for every unknown member of a nested structure,
so the action API leaves them out; the native API keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# ContentAdaptStream: the SDK has it on VideoTemplateInfoForUpdate only (read in requests,
# never written in an answer); TargetVmaf is reelflow's own.
_VIDEO_EXTRAS = ("Preset", "AllowUpscale", "ContentAdaptStream", "TargetVmaf")
_RAW_TRANSCODE_EXTRAS = ("Name", "Comment", "Quality")
_TRANSCODE_TEMPLATE_EXTRAS = ("Quality",)
_TRANSCODE_INPUT_EXTRAS = ("ExtInfo",)
_ANIMATED_INPUT_EXTRAS = ("ObjectNumberFormat",)
_ADAPTIVE_INPUT_EXTRAS = ("ObjectNumberFormat", "ExtInfo")
_WORKFLOW_TASK_EXTRAS = ("ErrCodeExt",)


def _without(document: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    drop = set(names)
    return {key: value for key, value in document.items() if key not in drop}


def video_holder(document: dict[str, Any]) -> dict[str, Any]:
    """A structure with a ``VideoTemplate`` member (a transcode template)."""
    document = _without(document, _TRANSCODE_TEMPLATE_EXTRAS)
    video = document.get("VideoTemplate")
    if not isinstance(video, dict):
        return document
    return {**document, "VideoTemplate": _without(video, _VIDEO_EXTRAS)}


def transcode_input(document: dict[str, Any]) -> dict[str, Any]:
    """A ``TranscodeTaskInput``."""
    trimmed = _without(document, _TRANSCODE_INPUT_EXTRAS)
    raw = trimmed.get("RawParameter")
    if isinstance(raw, dict):
        trimmed["RawParameter"] = video_holder(_without(raw, _RAW_TRANSCODE_EXTRAS))
    return trimmed


def animated_input(document: dict[str, Any]) -> dict[str, Any]:
    """An ``AnimatedGraphicTaskInput``."""
    return _without(document, _ANIMATED_INPUT_EXTRAS)


def adaptive_input(document: dict[str, Any]) -> dict[str, Any]:
    """An ``AdaptiveDynamicStreamingTaskInput``."""
    return _without(document, _ADAPTIVE_INPUT_EXTRAS)


# Result members whose Output carries reelflow's own members (an adaptive-streaming result:
# its files, renditions and check summary), with the members the vendor's item defines.
_OUTPUT_MEMBERS = {
    "AdaptiveDynamicStreamingTask": frozenset({"Definition", "Package", "Path", "Storage"}),
}

# Task sets and result members whose inputs need trimming, with the trimming function.
_SETS = {
    "TranscodeTaskSet": transcode_input,
    "AnimatedGraphicTaskSet": animated_input,
    "AdaptiveDynamicStreamingTaskSet": adaptive_input,
}
_RESULTS = {
    "TranscodeTask": transcode_input,
    "AnimatedGraphicTask": animated_input,
    "AdaptiveDynamicStreamingTask": adaptive_input,
}


def media_process_task(document: dict[str, Any]) -> dict[str, Any]:
    """A ``MediaProcessTaskInput``."""
    trimmed = dict(document)
    for name, trim in _SETS.items():
        items = trimmed.get(name)
        if isinstance(items, list):
            trimmed[name] = [trim(item) if isinstance(item, dict) else item for item in items]
    return trimmed


def workflow_task(document: dict[str, Any]) -> dict[str, Any]:
    """A ``WorkflowTask`` (also an event's ``WorkflowTaskEvent``)."""
    trimmed = _without(document, _WORKFLOW_TASK_EXTRAS)
    results = trimmed.get("MediaProcessResultSet")
    if isinstance(results, list):
        trimmed["MediaProcessResultSet"] = [_result(r) for r in results]
    return trimmed


# Members reelflow adds to an output item that the vendor's item lacks.
_OUTPUT_EXTRAS = {"TranscodeTask": frozenset({"TotalSize"})}


def _result(result: Any) -> Any:
    if not isinstance(result, dict):
        return result
    trimmed = dict(result)
    for member, trim in _RESULTS.items():
        task = trimmed.get(member)
        if isinstance(task, dict) and isinstance(task.get("Input"), dict):
            trimmed[member] = {**task, "Input": trim(task["Input"])}
    for member, keep in _OUTPUT_MEMBERS.items():
        task = trimmed.get(member)
        if isinstance(task, dict) and isinstance(task.get("Output"), dict):
            output = task["Output"]
            trimmed[member] = {**task, "Output": {k: v for k, v in output.items() if k in keep}}
    for member, extras in _OUTPUT_EXTRAS.items():
        task = trimmed.get(member)
        if isinstance(task, dict) and isinstance(task.get("Output"), dict):
            output = _without(task["Output"], extras)
            trimmed[member] = {**task, "Output": output}
    return trimmed


def schedule_task(document: dict[str, Any]) -> dict[str, Any]:
    """A ``ScheduleTask`` (also an event's ``ScheduleTaskEvent``)."""
    trimmed = dict(document)
    results = trimmed.get("ActivityResultSet")
    if isinstance(results, list):
        trimmed["ActivityResultSet"] = [
            {**r, "ActivityResItem": _result(r.get("ActivityResItem"))}
            if isinstance(r, dict)
            else r
            for r in results
        ]
    return trimmed
