"""The compatible API's task structures <-> reelflow's specs, shared by several actions.

    MediaProcessTask      ->  specs.tasks.MediaProcessTask (sub-task storages mapped to
                              configured buckets; raw watermarks are not offered; an
                              adaptive-streaming input's DefinitionType is read and dropped)
    TaskNotifyConfig      ->  specs.notify.NotifyTarget (via compat.notify)
    SpecError.field       ->  the request path (media_process_task.transcode_task_set[0]
                              -> MediaProcessTask.TranscodeTaskSet.0)

Action-specific shapes live with their actions.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from pydantic.alias_generators import to_pascal

from reelflow.api.mps.context import ActionContext
from reelflow.api.mps.envelope import MpsError, from_reelflow
from reelflow.api.mps.locations import INVALID_URL, source, storage_spec
from reelflow.api.mps.params import Params, invalid, is_empty, join, missing, unsupported
from reelflow.api.mps.required import MEDIA_PROCESS_TASK, check
from reelflow.api.mps.validation import validate
from reelflow.compat.notify import TaskNotifyConfig, from_task_notify_config
from reelflow.errors import LimitExceeded, ReelflowError, SpecError, UrlNotAllowed
from reelflow.specs.notify import NotifyTarget
from reelflow.specs.sources import TaskSource
from reelflow.specs.tasks import MediaProcessTask
from reelflow.specs.units import AUDIO_ONLY_CONTAINERS

TASK_SETS = (
    "TranscodeTaskSet",
    "AnimatedGraphicTaskSet",
    "SnapshotByTimeOffsetTaskSet",
    "SampleSnapshotTaskSet",
    "ImageSpriteTaskSet",
    "AdaptiveDynamicStreamingTaskSet",
)
# DefinitionType of AdaptiveDynamicStreamingTaskInput: which family the Definition is from.
# reelflow's ladders (audio-only or not) share one id space, so it selects nothing.
_DEFINITION_TYPES = ("", "Common", "PureAudio")
_QUEUE_TYPES = frozenset({"", "TDMQ-CMQ", "CMQ"})
_NOT_OFFERED_NOTIFY = frozenset({"SCF", "AWS-SQS"})
_MAX_HEAD_TAIL = 10
_MAX_WATERMARK_BYTES = 2 * 1024 * 1024
_PATH_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\[\d+\]")


def media_process_task(ctx: ActionContext, p: Params) -> MediaProcessTask:
    """A ``MediaProcessTaskInput`` as reelflow's ``MediaProcessTask``."""
    check(MEDIA_PROCESS_TASK, p.data, p.path)
    data = dict(p.data)
    for set_name in TASK_SETS:
        items = data.get(set_name)
        if isinstance(items, list):
            where = p.where(set_name)
            data[set_name] = [
                sub_task(ctx, Params(item, join(where, i))) for i, item in enumerate(items)
            ]
    return validate(MediaProcessTask, data, p.path)


def sub_task(ctx: ActionContext, p: Params) -> dict[str, Any]:
    """One task input of a ``MediaProcessTaskInput`` set, its storage mapped to a bucket."""
    item = dict(p.data)
    if "DefinitionType" in item:
        if p.text("DefinitionType") not in _DEFINITION_TYPES:
            raise invalid(p.where("DefinitionType"), "must be Common or PureAudio")
        del item["DefinitionType"]
    storage = p.obj("OutputStorage")
    if storage is not None:
        item["OutputStorage"] = storage_spec(ctx, storage)
    raw = p.obj("RawParameter")
    if raw is not None:
        transcode_streams(raw)
    head_tail = p.obj("HeadTailParameter")
    if head_tail is not None:
        item["HeadTailParameter"] = _head_tail(ctx, head_tail)
    marks = p.raw("WatermarkSet")
    if isinstance(marks, list):
        item["WatermarkSet"] = [
            _watermark(ctx, mark, p.where(f"WatermarkSet.{i}")) for i, mark in enumerate(marks)
        ]
    return item


def _head_tail(ctx: ActionContext, p: Params) -> dict[str, Any]:
    """A ``HeadTailParameter``: each ``MediaInputInfo`` as a task source."""
    p.only(("HeadSet", "TailSet"))
    found: dict[str, Any] = {}
    for name in ("HeadSet", "TailSet"):
        items = p.raw(name)
        if items is None:
            continue
        if not isinstance(items, list) or len(items) > _MAX_HEAD_TAIL:
            raise invalid(p.where(name), f"must be an array of at most {_MAX_HEAD_TAIL} inputs")
        sources = []
        for i, clip in enumerate(items):
            if not isinstance(clip, dict):
                raise invalid(p.where(f"{name}.{i}"), "must be a MediaInputInfo object")
            sources.append(source(ctx, Params(clip, p.where(f"{name}.{i}"))).to_json())
        found[name] = sources
    return found


def _watermark(ctx: ActionContext, mark: Any, path: str) -> Any:
    """A ``WatermarkInput`` without an empty ``RawParameter``; a real one (an image in a
    bucket) becomes reelflow's inline watermark, its image read from the bucket now."""
    if not isinstance(mark, dict) or "RawParameter" not in mark:
        return mark
    if is_empty(mark["RawParameter"]):
        return {k: v for k, v in mark.items() if k != "RawParameter"}
    raw = mark["RawParameter"]
    where = join(path, "RawParameter")
    if not isinstance(raw, dict):
        raise invalid(where, "must be an object")
    return {**mark, "RawParameter": _raw_watermark(ctx, Params(raw, where))}


def _raw_watermark(ctx: ActionContext, p: Params) -> dict[str, Any]:
    """A ``RawWatermarkParameter`` (an image watermark whose ``ImageContent`` is a bucket
    object) as reelflow's watermark template, the image inline."""
    p.only(("Type", "CoordinateOrigin", "XPos", "YPos", "ImageTemplate"))
    kind = p.text("Type", required=True)
    if kind != "image":
        raise invalid(p.where("Type"), f"must be image, got {kind!r}")
    image = p.obj("ImageTemplate", required=True)
    assert image is not None
    image.only(("ImageContent", "Width", "Height", "RepeatType"))
    content = image.obj("ImageContent", required=True)
    assert content is not None
    origin = source(ctx, content)
    data = _image_bytes(ctx, origin, content.path)
    fields = {
        "ImageContent": base64.b64encode(data).decode(),
        "ImageOrigin": origin.url if origin.type == "url" else f"{origin.bucket}/{origin.key}",
    }
    for name in ("Width", "Height", "RepeatType"):
        if image.has(name):
            fields[name] = image.raw(name)
    template: dict[str, Any] = {"Type": "image", "ImageTemplate": fields}
    for name in ("CoordinateOrigin", "XPos", "YPos"):
        if p.has(name):
            template[name] = p.raw(name)
    return template


def _image_bytes(ctx: ActionContext, origin: TaskSource, path: str) -> bytes:
    """An inline watermark's image, read now: a bucket object, or a URL fetched through the
    egress policy (a refused address: ``InvalidParameter.InvalidUrl``, nothing connected
    to); at most 2 MiB."""
    too_large = f"the image is larger than {_MAX_WATERMARK_BYTES} bytes"
    try:
        if origin.type == "url":
            return ctx.services.read_url(origin.url, _MAX_WATERMARK_BYTES)
        storage = ctx.services.storages.get(origin.bucket)
        size = storage.stat(origin.key).size
        if size > _MAX_WATERMARK_BYTES:
            raise invalid(path, f"{too_large}: {size} bytes")
        return storage.read_bytes(origin.key)
    except UrlNotAllowed as exc:
        raise MpsError(INVALID_URL, f"{path}.UrlInputInfo.Url: {exc.message}") from None
    except LimitExceeded:
        raise invalid(path, too_large) from None
    except ReelflowError as exc:
        raise MpsError(from_reelflow(exc).code, f"{path}: {exc.message}") from None


def transcode_streams(p: Params) -> None:
    """``VideoTemplate`` is required unless ``RemoveVideo`` (or an audio-only container),
    ``AudioTemplate`` unless ``RemoveAudio``."""
    container = p.text("Container").strip().lower()
    video = container not in AUDIO_ONLY_CONTAINERS and not p.flag("RemoveVideo")
    if video and not p.has("VideoTemplate"):
        raise missing(p.where("VideoTemplate"))
    if not p.flag("RemoveAudio") and not p.has("AudioTemplate"):
        raise missing(p.where("AudioTemplate"))


def notify_target(p: Params | None) -> NotifyTarget | None:
    """A ``TaskNotifyConfig`` as a notification target; ``None`` when absent or empty."""
    if p is None:
        return None
    kind = p.text("NotifyType").strip().upper()
    if kind in _NOT_OFFERED_NOTIFY:
        raise unsupported(
            f"{p.where('NotifyType')} {kind}", "use TDMQ-CMQ (the embedded queue) or URL"
        )
    config = validate(TaskNotifyConfig, p.data, p.path)
    if config.is_empty():
        return None
    if kind == "URL" and not config.notify_url:
        raise missing(p.where("NotifyUrl"))
    if kind in _QUEUE_TYPES and not (config.queue_name or config.topic_name):
        raise missing(p.where("TopicName" if config.cmq_model == "Topic" else "QueueName"))
    try:
        return from_task_notify_config(config)
    except SpecError as exc:
        raise from_spec_error(exc, {}) from None


def mps_field(field: str, renames: Mapping[str, str]) -> str:
    """A spec field path in the request's terms: ``media_process_task.transcode_task_set[0]
    .definition`` -> ``MediaProcessTask.TranscodeTaskSet.0.Definition``; ``renames`` maps
    leading spec fields to request fields (``{"output_bucket": "OutputStorage"}``)."""
    if not field:
        return ""
    head, rest = "", field
    for old in sorted(renames, key=len, reverse=True):
        if field == old or field.startswith((old + ".", old + "[")):
            head, rest = renames[old], field[len(old) :]
            break
    parts = []
    for part in _PATH_PART.findall(rest):
        if part.startswith("["):
            parts.append(part[1:-1])
        else:
            parts.append(to_pascal(part) if part == part.lower() else part)
    return ".".join(p for p in (head, *parts) if p)


def from_spec_error(exc: SpecError, renames: Mapping[str, str]) -> MpsError:
    """A ``SpecError`` of the engine, named in the request's terms."""
    field = mps_field(exc.field, renames)
    message = exc.message
    if exc.field and message.startswith(exc.field):
        message = field + message[len(exc.field) :]
    if exc.code == "InvalidParameterValue" and field:
        return MpsError(invalid(field, "").code, message)
    return MpsError(from_reelflow(exc).code, message)
