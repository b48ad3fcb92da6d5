"""The compatible API's ``AdaptiveDynamicStreamingTemplate`` <-> reelflow's ``LadderTemplate``.

    Format  HLS | MPEG-DASH (| CMAF, reelflow's)          format
    SegmentType                                           segment_type
    StreamInfos.N {Video, Audio, RemoveAudio, RemoveVideo}  stream_infos.N
    StreamInfos.N.Video.HlsTime                           segment_seconds (one per ladder)
    DisableHigherVideoBitrate / ...Resolution, PureAudio  the switches (0 / 1)
    Name, Comment                                         name, comment

:func:`ladder_template` reads the fields of ``Create/ModifyAdaptiveDynamicStreamingTemplate``
and raises ``SpecError`` whose ``code`` is already the compatible API's and whose ``field``
is the request path (``StreamInfos.1.Video.Bitrate`` -> ``InvalidParameterValue.Bitrate``):
``MissingParameter`` for an absent required field, ``UnsupportedOperation`` for a non-empty
field reelflow does not offer (``AudioList``, the advanced video knobs), else
``InvalidParameterValue.<Field>``.

Where the vendor's structure and reelflow's ladder differ:

- ``HlsTime`` is a field of each rung's ``VideoTemplateInfo``; a ladder has one segment
  duration, so the rungs that give one must agree (``0``/absent: 6 s).
- In a ``PureAudio`` template a stream info without ``Video`` is audio-only; outside one
  an audio-only stream info (``RemoveVideo`` 1) is refused: video rungs share their audio
  as a rendition group instead.
- Codecs: video ``h264``/``h265`` (one per ladder), audio ``aac``.
- ``ContentAdaptStream`` 1 on any rung's ``Video`` asks for a per-title ladder (native
  ``ladder: "auto"``, target VMAF 93; issue 18) for the whole template. The SDK has the
  member on ``VideoTemplateInfoForUpdate`` only, not on ``VideoTemplateInfo``: it is read
  in requests, never written in a ``Describe`` answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_pascal

from reelflow.compat import trim
from reelflow.compat.render import iso
from reelflow.errors import SpecError
from reelflow.specs.ladders import (
    LADDER_AUDIO_CODECS,
    LADDER_VIDEO_CODECS,
    MAX_STREAM_INFOS,
    LadderFormat,
    LadderTemplate,
    SegmentType,
)
from reelflow.specs.templates import ADVANCED_VIDEO_FIELDS, AudioTemplate, VideoTemplate

MISSING = "MissingParameter"
UNSUPPORTED = "UnsupportedOperation"

TEMPLATE_FIELDS = (
    "Format",
    "StreamInfos",
    "Name",
    "Comment",
    "DisableHigherVideoBitrate",
    "DisableHigherVideoResolution",
    "PureAudio",
    "SegmentType",
)
_SWITCHES = {
    "DisableHigherVideoBitrate": "disable_higher_video_bitrate",
    "DisableHigherVideoResolution": "disable_higher_video_resolution",
    "PureAudio": "pure_audio",
}
_STREAM_FIELDS = ("Video", "Audio", "RemoveAudio", "RemoveVideo")
# VideoTemplateInfo members reelflow reads: its VideoTemplate's fields (reelflow's own
# Preset/AllowUpscale too) and HlsTime. Every other member is a knob it does not offer.
_VIDEO_FIELDS = tuple(
    to_pascal(name) for name in VideoTemplate.model_fields if name not in ADVANCED_VIDEO_FIELDS
)
_AUDIO_FIELDS = tuple(to_pascal(name) for name in AudioTemplate.model_fields)
_DEFAULT_SECONDS = 6
ADAPT = "ContentAdaptStream"  # VideoTemplateInfo(ForUpdate): 1 = a per-title ladder


def _join(path: str, name: str | int) -> str:
    return f"{path}.{name}" if path else str(name)


def invalid(path: str, message: str) -> SpecError:
    """``InvalidParameterValue.<last field of path>``, as the action API names it."""
    leaf = next((p for p in reversed(path.split(".")) if p and not p.isdigit()), "")
    code = f"InvalidParameterValue.{leaf}" if leaf else "InvalidParameterValue"
    return SpecError(f"{path}: {message}" if path else message, code=code, field=path)


def _missing(path: str) -> SpecError:
    return SpecError(f"{path} is required", code=MISSING, field=path)


def _unsupported(path: str, hint: str) -> SpecError:
    return SpecError(f"{path} is not supported by reelflow: {hint}", code=UNSUPPORTED, field=path)


def _empty(value: object) -> bool:
    if value is None or value in ("", [], 0):
        return True
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    return False


def _object(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(path, "must be an object")
    return value


def _known(data: Mapping[str, Any], fields: Sequence[str], path: str, hint: str) -> None:
    for key, value in data.items():
        if key not in fields and not _empty(value):
            raise _unsupported(_join(path, key), hint)


def _switch(data: Mapping[str, Any], name: str, path: str) -> bool:
    value = data.get(name)
    if value is None or value in (0, "0", "", False):
        return False
    if value in (1, "1", True):
        return True
    raise invalid(_join(path, name), f"must be 0 or 1, got {value!r}")


def _text(data: Mapping[str, Any], name: str, path: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(_join(path, name), "must be a string")
    return value.strip()


def ladder_template(data: Mapping[str, Any], path: str = "") -> LadderTemplate:
    """The ladder of an ``AdaptiveDynamicStreamingTemplate``'s request fields."""
    _known(data, TEMPLATE_FIELDS, path, "not a field of AdaptiveDynamicStreamingTemplate")
    fmt = _format(data, path)
    segment_type = _segment_type(data, fmt, path)
    pure_audio = _switch(data, "PureAudio", path)
    infos = data.get("StreamInfos")
    infos_path = _join(path, "StreamInfos")
    if infos is None:
        raise _missing(infos_path)
    if not isinstance(infos, list) or not 1 <= len(infos) <= MAX_STREAM_INFOS:
        raise invalid(infos_path, f"must be a list of 1..{MAX_STREAM_INFOS} AdaptiveStreamTemplate")
    streams = [_stream_info(item, pure_audio, _join(infos_path, i)) for i, item in enumerate(infos)]
    _one_codec(streams, infos_path)
    adapt = any(
        isinstance(item, dict)
        and isinstance(item.get("Video"), dict)
        and _switch(item["Video"], ADAPT, _join(infos_path, f"{i}.Video"))
        for i, item in enumerate(infos)
    )
    native: dict[str, Any] = {
        "format": fmt,
        "segment_type": segment_type,
        "segment_seconds": _segment_seconds(streams, infos_path),
        "stream_infos": [s for s, _ in streams],
        "name": _text(data, "Name", path),
        "comment": _text(data, "Comment", path),
        **{native: _switch(data, name, path) for name, native in _SWITCHES.items()},
        "ladder": "auto" if adapt else "fixed",
    }
    try:
        return LadderTemplate.model_validate(native)
    except ValidationError as exc:
        raise _from_validation(exc, path) from None


def _format(data: Mapping[str, Any], path: str) -> LadderFormat:
    where = _join(path, "Format")
    if data.get("Format") is None:
        raise _missing(where)
    value = _text(data, "Format", path)
    try:
        return LadderFormat(value.upper())
    except ValueError:
        raise invalid(where, f"must be HLS or MPEG-DASH (or CMAF), got {value!r}") from None


def _segment_type(data: Mapping[str, Any], fmt: LadderFormat, path: str) -> SegmentType | None:
    value = _text(data, "SegmentType", path)
    if not value:
        return None
    where = _join(path, "SegmentType")
    try:
        kind = SegmentType(value)
    except ValueError:
        choices = ", ".join(s.value for s in SegmentType)
        raise invalid(where, f"must be one of {choices}, got {value!r}") from None
    if fmt is not LadderFormat.HLS and kind.is_ts:
        raise invalid(where, f"{value} is for HLS only; {fmt.value} carries fMP4 (mp4-segment)")
    return kind


def _stream_info(item: Any, pure_audio: bool, path: str) -> tuple[dict[str, Any], int]:
    """One ``AdaptiveStreamTemplate`` in reelflow's terms, and its ``HlsTime`` (0: none)."""
    data = _object(item, path)
    _known(data, _STREAM_FIELDS, path, "multi-track audio (AudioList) is not offered")
    remove_video = _switch(data, "RemoveVideo", path)
    remove_audio = _switch(data, "RemoveAudio", path)
    video = data.get("Video")
    audio = data.get("Audio")
    if pure_audio and not _empty(video) and not remove_video:
        raise invalid(_join(path, "Video"), "a PureAudio template takes audio-only stream infos")
    remove_video = remove_video or pure_audio
    if remove_video and not pure_audio:
        raise invalid(
            _join(path, "RemoveVideo"),
            "an audio-only stream info needs PureAudio 1; video rungs share their audio "
            "as a rendition group",
        )
    if remove_video and remove_audio:
        raise invalid(_join(path, "RemoveAudio"), "RemoveVideo and RemoveAudio: nothing to stream")
    info: dict[str, Any] = {"remove_video": remove_video, "remove_audio": remove_audio}
    seconds = 0
    if not remove_video:
        info["video"], seconds = _video(video, _join(path, "Video"))
    if not remove_audio:
        info["audio"] = _audio(audio, _join(path, "Audio"))
    return info, seconds


def _required(data: Mapping[str, Any], names: Sequence[str], path: str) -> None:
    for name in names:
        if data.get(name) is None:
            raise _missing(_join(path, name))


def _video(value: Any, path: str) -> tuple[VideoTemplate, int]:
    if value is None:
        raise _missing(path)
    data = _object(value, path)
    _known(data, (*_VIDEO_FIELDS, "HlsTime", ADAPT), path, "an advanced video option")
    _required(data, ("Codec", "Fps", "Bitrate"), path)
    seconds = data.get("HlsTime")
    if seconds is None or seconds in (0, "0"):
        seconds = 0
    elif not isinstance(seconds, int | str) or not str(seconds).isdigit():
        raise invalid(_join(path, "HlsTime"), f"must be an integer 1..10, got {seconds!r}")
    elif not 1 <= int(seconds) <= 10:
        raise invalid(_join(path, "HlsTime"), f"must be 1..10 seconds, got {seconds}")
    fields = {k: v for k, v in data.items() if k in _VIDEO_FIELDS}
    try:
        video = VideoTemplate.model_validate(fields)
    except ValidationError as exc:
        raise _from_validation(exc, path) from None
    if video.codec not in LADDER_VIDEO_CODECS:
        raise invalid(
            _join(path, "Codec"), f"{video.codec.value} cannot go in an adaptive ladder: h264, h265"
        )
    return video, int(seconds)


def _audio(value: Any, path: str) -> AudioTemplate:
    if value is None:
        raise _missing(path)
    data = _object(value, path)
    _known(data, _AUDIO_FIELDS, path, "audio track options are not offered")
    _required(data, ("Codec", "Bitrate", "SampleRate"), path)
    try:
        audio = AudioTemplate.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(exc, path) from None
    if audio.codec not in LADDER_AUDIO_CODECS:
        raise invalid(
            _join(path, "Codec"), f"{audio.codec.value} cannot go in an adaptive ladder: aac"
        )
    return audio


def _one_codec(streams: Sequence[tuple[dict[str, Any], int]], path: str) -> None:
    first = None
    for i, (info, _) in enumerate(streams):
        video = info.get("video")
        if video is None:
            continue
        if first is None:
            first = video.codec
        elif video.codec is not first:
            raise invalid(
                _join(path, f"{i}.Video.Codec"),
                f"every rung of a ladder uses one video codec ({first.value})",
            )


def _segment_seconds(streams: Sequence[tuple[dict[str, Any], int]], path: str) -> int:
    chosen = 0
    for i, (_, seconds) in enumerate(streams):
        if seconds and chosen and seconds != chosen:
            raise invalid(
                _join(path, f"{i}.Video.HlsTime"),
                f"a ladder has one segment duration; an earlier rung says {chosen}",
            )
        chosen = chosen or seconds
    return chosen or _DEFAULT_SECONDS


def _from_validation(exc: ValidationError, path: str) -> SpecError:
    """The first pydantic error, named by its request path (``Video.Bitrate``)."""
    err = exc.errors(include_url=False)[0]
    where = path
    for part in err["loc"]:
        name = "HlsTime" if part == "segment_seconds" else part
        if isinstance(name, str) and name == name.lower():
            name = to_pascal(name)  # a snake_case field; a PascalCase alias stays as sent
        where = _join(where, name)
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if err["type"] == "missing":
        return _missing(where)
    return invalid(where, message)


def ladder_fields(template: LadderTemplate, *, adapt: bool = False) -> dict[str, Any]:
    """A ladder as the request fields of ``CreateAdaptiveDynamicStreamingTemplate``: what
    :func:`ladder_template` reads back to the same ladder (``Modify`` merges into it, with
    ``adapt``: a per-title ladder's rungs then carry ``ContentAdaptStream`` 1, a member
    that the SDK's ``VideoTemplateInfo`` of a ``Describe`` answer does not have)."""
    infos = []
    for info in template.stream_infos:
        video = None
        if info.video is not None:
            rung = trim.video_holder({"VideoTemplate": info.video.to_mps()})["VideoTemplate"]
            video = {
                **{k: v for k, v in rung.items() if k in _VIDEO_FIELDS},
                "HlsTime": template.segment_seconds,
            }
            if adapt and template.ladder == "auto":
                video[ADAPT] = 1
        infos.append(
            {
                "Video": video,
                "Audio": None if info.audio is None else info.audio.to_mps(),
                "RemoveAudio": int(info.remove_audio),
                "RemoveVideo": int(info.remove_video),
            }
        )
    return {
        "Name": template.name,
        "Comment": template.comment,
        "Format": template.format.value,
        "StreamInfos": infos,
        "DisableHigherVideoBitrate": int(template.disable_higher_video_bitrate),
        "DisableHigherVideoResolution": int(template.disable_higher_video_resolution),
        "PureAudio": int(template.pure_audio),
        "SegmentType": template.segments.value,
    }


def ladder_detail(
    template: LadderTemplate,
    *,
    definition: int,
    origin: str,
    created: datetime | None,
    updated: datetime | None,
) -> dict[str, Any]:
    """An ``AdaptiveDynamicStreamingTemplate`` of ``DescribeAdaptiveDynamicStreamingTemplates``
    (``origin``: ``Preset`` or ``Custom``)."""
    return {
        "Definition": definition,
        "Type": origin,
        **ladder_fields(template),
        "CreateTime": iso(created),
        "UpdateTime": iso(updated),
    }


def modified_ladder(template: LadderTemplate, changes: Mapping[str, Any]) -> LadderTemplate:
    """``ModifyAdaptiveDynamicStreamingTemplate``: ``template`` with the fields given
    (``null`` changes nothing); ``StreamInfos``, when given, replaces every stream info (the
    vendor's rule: omitted members revert to their defaults). A new ``Format`` without a
    ``SegmentType`` takes the new format's default if the old one had its format's default."""
    base = ladder_fields(template, adapt=True)
    given = {k: v for k, v in changes.items() if v is not None}
    if "Format" in given and "SegmentType" not in given:
        default = LadderTemplate(format=template.format, stream_infos=template.stream_infos)
        if template.segments is default.segments:
            del base["SegmentType"]
    return ladder_template({**base, **given})
