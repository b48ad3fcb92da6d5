"""Sub-task results in the compatible API's output shapes (``MediaTranscodeItem``,
``MediaSnapshotByTimeOffsetItem``, ...): what a successful sub-task's ``Output`` says.

Paths are ``/`` + the object key; storage is ``TaskOutputStorage`` of type ``COS`` naming
the bucket (reelflow has no regions).
"""

from __future__ import annotations

from typing import Any

from reelflow.compat.media import media_metadata
from reelflow.specs.outputs import (
    AdaptiveStreamingResult,
    AnimatedResult,
    EditResult,
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
    if isinstance(result, AdaptiveStreamingResult):
        return _adaptive(result)
    if isinstance(result, EditResult):
        return _edit(result)
    return _animated(result)


def _edit(result: EditResult) -> dict[str, Any]:
    """``EditMediaTaskOutput``."""
    file = result.file
    return {
        "OutputStorage": storage_info(file.bucket),
        "Path": mps_path(file.key),
        "MetaData": media_metadata(file.media) if file.media is not None else None,
    }


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
        # reelflow's own (an HLS rendition's playlist + segments): in event bodies and the
        # native API; trimmed from the SDK's answers (``compat.trim``).
        **({"TotalSize": result.total_size} if result.total_size is not None else {}),
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


def _adaptive(result: AdaptiveStreamingResult) -> dict[str, Any]:
    """``AdaptiveDynamicStreamingInfoItem`` (Definition, Package, Path, Storage) and
    reelflow's own members after them: the package's files, the renditions as measured and
    the checker's verdict (``Package`` is ``CMAF`` for reelflow's own format, whose MPD is
    ``MpdPath``)."""
    check = result.check
    return {
        "Definition": result.definition,
        "Package": result.format,
        "Path": mps_path(result.path),
        "Storage": storage_info(result.bucket),
        "MpdPath": mps_path(result.mpd_path) if result.mpd_path else "",
        "SegmentType": result.segment_type,
        "FileCount": result.file_count,
        "Size": result.size,
        "Renditions": [
            {
                "Kind": r.kind,
                "SubStreamNumber": r.sub_stream,
                "Codecs": r.codecs,
                "Width": r.width,
                "Height": r.height,
                "FrameRate": r.frame_rate,
                "SampleRate": r.sample_rate,
                "Channels": r.channels,
                "PeakBitrate": r.peak_bitrate,
                "AverageBitrate": r.average_bitrate,
                "SegmentCount": r.segment_count,
                "Duration": r.duration,
                "Playlist": r.playlist,
            }
            for r in result.renditions
        ],
        "StreamCheck": {
            "Passed": check.passed,
            "Manifests": [mps_path(m) for m in check.manifests],
            "FailedRules": list(check.failed_rules),
            "Failures": [
                {"Rule": f.rule, "Where": f.where, "Message": f.message} for f in check.failures
            ],
            "Renditions": [
                {
                    "Name": r.name,
                    "Kind": r.kind,
                    "Codecs": list(r.codecs),
                    "Segments": r.segments,
                    "PeakBandwidth": r.bandwidth_peak,
                    "AverageBandwidth": r.bandwidth_average,
                    "DeclaredBandwidth": r.declared_bandwidth,
                    "DeclaredAverageBandwidth": r.declared_average_bandwidth,
                }
                for r in check.renditions
            ],
        },
    }
