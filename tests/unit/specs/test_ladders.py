"""Ladder templates: defaults and validation errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reelflow.specs.base import field_errors
from reelflow.specs.ladders import LadderFormat, LadderTemplate, PackageNames, SegmentType

RUNG = {"video": {"codec": "h264", "height": 360, "bitrate": 400}, "audio": {"codec": "aac"}}


def errors(data: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(ValidationError) as err:
        LadderTemplate.model_validate(data)
    return field_errors(err.value)


def test_defaults_follow_the_format() -> None:
    hls = LadderTemplate.model_validate({"Format": "HLS", "StreamInfos": [RUNG]})
    assert hls.segments is SegmentType.TS
    assert hls.segment_seconds == 6
    dash = LadderTemplate.model_validate({"format": "MPEG-DASH", "stream_infos": [RUNG]})
    assert dash.segments is SegmentType.MP4
    cmaf = LadderTemplate.model_validate({"format": "CMAF", "stream_infos": [RUNG]})
    assert cmaf.format is LadderFormat.CMAF
    assert cmaf.segments is SegmentType.MP4


def test_round_trips_through_json_and_the_compatible_shape() -> None:
    template = LadderTemplate.model_validate(
        {"format": "HLS", "segment_type": "mp4-byterange", "stream_infos": [RUNG]}
    )
    assert LadderTemplate.model_validate(template.to_json()) == template
    mps = template.to_mps()
    assert mps["SegmentType"] == "mp4-byterange"
    assert mps["StreamInfos"][0]["Video"]["Height"] == 360
    assert LadderTemplate.model_validate(mps) == template


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"format": "HLS", "stream_infos": []}, "stream_infos", "at least 1"),
        ({"format": "HLS", "stream_infos": [RUNG] * 11}, "stream_infos", "at most 10"),
        ({"format": "HLS", "stream_infos": [RUNG], "segment_seconds": 11}, "segment_seconds", "10"),
        ({"format": "HLS", "stream_infos": [RUNG], "segment_seconds": 0}, "segment_seconds", "1"),
        ({"format": "RTMP", "stream_infos": [RUNG]}, "format", "HLS"),
        ({"format": "HLS", "stream_infos": [{"audio": {"codec": "aac"}}]}, "stream_infos.0",
         "video is required"),
        ({"format": "HLS", "stream_infos": [{**RUNG, "video": {"codec": "vp9"}}]},
         "stream_infos.0", "h264 or h265"),
        ({"format": "HLS", "stream_infos": [{**RUNG, "audio": {"codec": "mp3"}}]},
         "stream_infos.0", "use aac"),
        ({"format": "HLS", "stream_infos": [{**RUNG, "remove_audio": 1, "remove_video": 1}]},
         "stream_infos.0", "nothing to stream"),
        ({"format": "HLS", "stream_infos": [{**RUNG, "video": {"codec": "h264", "bitrate": 5}}]},
         "stream_infos.0.video.bitrate", "128..100000"),
    ],
)  # fmt: skip
def test_field_errors(data: dict[str, Any], field: str, words: str) -> None:
    found = errors(data)
    assert found[0]["field"] == field, found
    assert words in found[0]["message"]


def test_model_level_errors_name_the_field_in_the_message() -> None:
    (err,) = errors({"format": "MPEG-DASH", "segment_type": "ts-segment", "stream_infos": [RUNG]})
    assert "segment_type ts-segment is for HLS only" in err["message"]
    (err,) = errors({"format": "HLS", "pure_audio": 1, "stream_infos": [RUNG]})
    assert err["message"].startswith("stream_infos.0: a pure_audio template")
    audio_only = {"remove_video": 1, "audio": {"codec": "aac"}}
    (err,) = errors({"format": "HLS", "stream_infos": [RUNG, audio_only]})
    assert err["message"].startswith("stream_infos.1: an audio-only stream info needs pure_audio")
    hevc = {**RUNG, "video": {"codec": "h265", "height": 720}}
    (err,) = errors({"format": "HLS", "stream_infos": [RUNG, hevc]})
    assert "same video codec" in err["message"]


def test_package_names() -> None:
    names = PackageNames.default("clip", 10)
    assert names.master == "clip_adaptiveDynamicStreaming_10"
    assert names.stream(2) == "clip_adaptiveDynamicStreaming_10_2"
    assert names.segment_name(2, 7) == "clip_adaptiveDynamicStreaming_10_2_7"
    for bad, words in (
        ({"sub_stream": "s"}, "must contain {subStreamNumber}"),
        ({"segment": "s_{subStreamNumber}"}, "must contain {segmentNumber}"),
        ({"master": "a/b"}, "plain file name"),
        ({"master": ".hidden"}, "plain file name"),
    ):
        with pytest.raises(ValidationError) as err:
            PackageNames.model_validate(bad)
        assert words in str(err.value)


def test_per_title_is_asked_with_ladder_auto_and_a_target() -> None:
    template = LadderTemplate.model_validate({"format": "HLS", "stream_infos": [RUNG]})
    assert (template.ladder, template.target_vmaf) == ("fixed", 93)
    auto = LadderTemplate.model_validate(
        {"format": "HLS", "stream_infos": [RUNG], "ladder": "auto", "target_vmaf": 95}
    )
    assert (auto.ladder, auto.target_vmaf) == ("auto", 95)
    assert LadderTemplate.model_validate(auto.to_json()) == auto
    for bad, field in (({"ladder": "best"}, "ladder"), ({"target_vmaf": 101}, "target_vmaf")):
        found = errors({"format": "HLS", "stream_infos": [RUNG], **bad})
        assert [e["field"] for e in found] == [field]
    audio_only = {"remove_video": 1, "audio": {"codec": "aac"}}
    found = errors(
        {"format": "HLS", "stream_infos": [audio_only], "pure_audio": 1, "ladder": "auto"}
    )
    assert "ladder auto needs video rungs" in found[0]["message"]


def test_a_rung_refuses_content_adapt_stream() -> None:
    """A ladder asks for per-title on the template (``ladder: auto``), not on a rung."""
    rung = {**RUNG, "video": {**RUNG["video"], "content_adapt_stream": 1}}
    found = errors({"format": "HLS", "stream_infos": [rung]})
    assert [e["field"] for e in found] == ["stream_infos.0"]
    assert '"ladder": "auto"' in found[0]["message"]
