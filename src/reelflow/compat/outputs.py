"""Sub-task results in the compatible API's output shapes (``MediaTranscodeItem``,
``MediaSnapshotByTimeOffsetItem``, ...): what a successful sub-task's ``Output`` says.

Paths are ``/`` + the object key; storage is ``TaskOutputStorage`` of type ``COS`` naming
the bucket (reelflow has no regions).
"""

from __future__ import annotations

from typing import Any

from reelflow.compat.media import media_metadata
from reelflow.specs.outputs import (
    AnimatedResult,
    ImageSpriteResult,
    SampleSnapshotResult,
    SnapshotResult,
    SubTaskResult,
    TranscodeResult,
)


def storage_info(bucket: str, region: str = "") -> dict[str, Any]:
    """The compatible API's ``TaskOutputStorage`` for a named bucket."""
    return {"Type": "COS", "CosOutputStorage": {"Bucket": bucket, "Region": region}}


def mps_path(key: str) -> str:
    return "/" + key


def output_item(result: SubTaskResult) -> dict[str, Any]:
    """The output item of one sub-task's result."""
    if isinstance(result, TranscodeResult):
        return _transcode(result)
    if isinstance(result, SnapshotResult):
        return _snapshot(result)
    if isinstance(result, SampleSnapshotResult):
        return _sample(result)
    if isinstance(result, ImageSpriteResult):
        return _sprite(result)
    return _animated(result)


def _transcode(result: TranscodeResult) -> dict[str, Any]:
    file = result.file
    meta = media_metadata(file.media) if file.media is not None else {}
    return {
        "OutputStorage": storage_info(file.bucket),
        "Path": mps_path(file.key),
        "Bitrate": meta.get("Bitrate") or 0,
        "Height": meta.get("Height") or 0,
        "Width": meta.get("Width") or 0,
        "Size": file.size,
        "Duration": meta.get("Duration") or 0.0,
        "Container": meta.get("Container") or result.container,
        "Md5": file.md5,
        "VideoStreamSet": meta.get("VideoStreamSet") or [],
        "AudioStreamSet": meta.get("AudioStreamSet") or [],
        "Definition": result.definition,
    }


def _snapshot(result: SnapshotResult) -> dict[str, Any]:
    marks = list(result.watermarks)
    pics = [
        {"TimeOffset": image.time, "Path": mps_path(image.key), "WaterMarkDefinition": marks}
        for image in result.images
    ]
    return {
        "Definition": result.definition,
        "PicInfoSet": pics,
        "Storage": storage_info(result.bucket),
    }


def _sample(result: SampleSnapshotResult) -> dict[str, Any]:
    return {
        "Definition": result.definition,
        "SampleType": result.sample_type,
        "Interval": result.interval,
        "Storage": storage_info(result.bucket),
        "ImagePathSet": [mps_path(k) for k in result.keys],
        "WaterMarkDefinition": list(result.watermarks),
    }


def _sprite(result: ImageSpriteResult) -> dict[str, Any]:
    return {
        "Definition": result.definition,
        "Height": result.height,
        "Width": result.width,
        "TotalCount": result.total_count,
        "ImagePathSet": [mps_path(k) for k in result.keys],
        "WebVttPath": mps_path(result.vtt_key),
        "Storage": storage_info(result.bucket),
    }


def _animated(result: AnimatedResult) -> dict[str, Any]:
    file = result.file
    return {
        "Storage": storage_info(file.bucket),
        "Path": mps_path(file.key),
        "Definition": result.definition,
        "Container": result.container,
        "Height": result.height,
        "Width": result.width,
        "Bitrate": result.bitrate,
        "Size": file.size,
        "Md5": file.md5,
        "StartTimeOffset": result.start,
        "EndTimeOffset": result.end,
    }
