"""AdaptiveDynamicStreamingTemplate <-> LadderTemplate: the fields, and errors that name them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tencentcloud.mps.v20190612 import models

from reelflow.compat.ladders import ladder_detail, ladder_fields, ladder_template, modified_ladder
from reelflow.errors import SpecError
from reelflow.presets.ladders import list_ladder_presets
from reelflow.specs.ladders import LadderFormat, SegmentType

VIDEO = {"Codec": "libx264", "Fps": 25, "Bitrate": 400, "Width": 0, "Height": 360}
AUDIO = {"Codec": "libfdk_aac", "Bitrate": 64, "SampleRate": 44100, "AudioChannel": 2}
RUNG = {"Video": VIDEO, "Audio": AUDIO}
TEMPLATE = {
    "Format": "HLS",
    "Name": "two rungs",
    "Comment": "c",
    "StreamInfos": [RUNG, {"Video": {**VIDEO, "Height": 540, "Bitrate": 1000}, "Audio": AUDIO}],
}


def refused(data: dict[str, Any]) -> SpecError:
    with pytest.raises(SpecError) as err:
        ladder_template(data)
    return err.value


def test_reads_the_vendor_fields() -> None:
    template = ladder_template(
        {
            **TEMPLATE,
            "SegmentType": "mp4-segment",
            "DisableHigherVideoBitrate": 1,
            "DisableHigherVideoResolution": "1",
        }
    )
    assert template.format is LadderFormat.HLS
    assert template.segments is SegmentType.MP4
    assert template.segment_seconds == 6
    assert [s.video.height for s in template.stream_infos if s.video] == [360, 540]
    assert template.stream_infos[0].audio is not None
    assert template.stream_infos[0].audio.bitrate == 64
    assert template.disable_higher_video_bitrate and template.disable_higher_video_resolution
    assert not template.pure_audio
    assert template.name == "two rungs"


def test_hls_time_is_the_ladder_segment_duration() -> None:
    rung = {**RUNG, "Video": {**VIDEO, "HlsTime": 4}}
    assert ladder_template({**TEMPLATE, "StreamInfos": [rung, RUNG]}).segment_seconds == 4
    other = {**RUNG, "Video": {**VIDEO, "HlsTime": 2}}
    err = refused({**TEMPLATE, "StreamInfos": [rung, other]})
    assert err.code == "InvalidParameterValue.HlsTime"
    assert err.field == "StreamInfos.1.Video.HlsTime"


def test_pure_audio_stream_infos_need_no_video() -> None:
    template = ladder_template(
        {"Format": "MPEG-DASH", "PureAudio": 1, "StreamInfos": [{"Audio": AUDIO}]}
    )
    assert template.pure_audio and template.stream_infos[0].remove_video
    assert template.segments is SegmentType.MP4


def test_round_trip_and_detail_deserialize_into_the_sdk_model() -> None:
    template = ladder_template(TEMPLATE)
    assert ladder_template(ladder_fields(template)) == template
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    detail = ladder_detail(
        template, definition=1000001, origin="Custom", created=moment, updated=moment
    )
    model = models.AdaptiveDynamicStreamingTemplate()
    model._deserialize(detail)  # the suite turns the SDK's unknown-member warning into an error
    assert model.Format == "HLS"
    assert model.SegmentType == "ts-segment"
    assert model.StreamInfos[1].Video.Height == 540
    assert model.StreamInfos[1].Video.HlsTime == 6
    assert model.StreamInfos[0].Audio.SampleRate == 44100
    assert model.CreateTime == "2026-01-02T03:04:05Z"


@pytest.mark.parametrize("preset", list_ladder_presets(), ids=lambda p: str(p.definition))
def test_presets_round_trip(preset: Any) -> None:
    assert ladder_template(ladder_fields(preset.template)) == preset.template


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"Format": None}, "MissingParameter", "Format"),
        ({"Format": "RTMP"}, "InvalidParameterValue.Format", "Format"),
        ({"StreamInfos": None}, "MissingParameter", "StreamInfos"),
        ({"StreamInfos": []}, "InvalidParameterValue.StreamInfos", "StreamInfos"),
        ({"StreamInfos": [RUNG] * 11}, "InvalidParameterValue.StreamInfos", "StreamInfos"),
        ({"SegmentType": "webm"}, "InvalidParameterValue.SegmentType", "SegmentType"),
        (
            {"Format": "MPEG-DASH", "SegmentType": "ts-segment"},
            "InvalidParameterValue.SegmentType",
            "SegmentType",
        ),
        ({"PureAudio": 2}, "InvalidParameterValue.PureAudio", "PureAudio"),
        ({"Name": "n" * 65}, "InvalidParameterValue.Name", "Name"),
        ({"Comment": "c" * 257}, "InvalidParameterValue.Comment", "Comment"),
        ({"Drm": {"Type": "x"}}, "UnsupportedOperation", "Drm"),
        ({"StreamInfos": [{"Audio": AUDIO}]}, "MissingParameter", "StreamInfos.0.Video"),
        ({"StreamInfos": [{"Video": VIDEO}]}, "MissingParameter", "StreamInfos.0.Audio"),
        (
            {"StreamInfos": [{"Video": {**VIDEO, "Fps": None}, "Audio": AUDIO}]},
            "MissingParameter",
            "StreamInfos.0.Video.Fps",
        ),
        (
            {"StreamInfos": [{"Video": {**VIDEO, "Bitrate": 5}, "Audio": AUDIO}]},
            "InvalidParameterValue.Bitrate",
            "StreamInfos.0.Video.Bitrate",
        ),
        (
            {"StreamInfos": [{"Video": {**VIDEO, "Codec": "vp9"}, "Audio": AUDIO}]},
            "InvalidParameterValue.Codec",
            "StreamInfos.0.Video.Codec",
        ),
        (
            {"StreamInfos": [RUNG, {"Video": {**VIDEO, "Codec": "h265"}, "Audio": AUDIO}]},
            "InvalidParameterValue.Codec",
            "StreamInfos.1.Video.Codec",
        ),
        (
            {"StreamInfos": [{"Video": VIDEO, "Audio": {**AUDIO, "Codec": "mp3"}}]},
            "InvalidParameterValue.Codec",
            "StreamInfos.0.Audio.Codec",
        ),
        (
            {"StreamInfos": [{"Video": VIDEO, "Audio": {**AUDIO, "SampleRate": 12345}}]},
            "InvalidParameterValue.SampleRate",
            "StreamInfos.0.Audio.SampleRate",
        ),
        (
            {"StreamInfos": [{"Video": {**VIDEO, "Height": 50}, "Audio": AUDIO}]},
            "InvalidParameterValue.Height",
            "StreamInfos.0.Video.Height",
        ),
        (
            {"StreamInfos": [{"Video": {**VIDEO, "HlsTime": 11}, "Audio": AUDIO}]},
            "InvalidParameterValue.HlsTime",
            "StreamInfos.0.Video.HlsTime",
        ),
        (
            {"StreamInfos": [{"Video": {**VIDEO, "VideoProfile": "high"}, "Audio": AUDIO}]},
            "UnsupportedOperation",
            "StreamInfos.0.Video.VideoProfile",
        ),
        (
            {"StreamInfos": [{**RUNG, "AudioList": [AUDIO]}]},
            "UnsupportedOperation",
            "StreamInfos.0.AudioList",
        ),
        (
            {"StreamInfos": [{**RUNG, "RemoveVideo": 1}]},
            "InvalidParameterValue.RemoveVideo",
            "StreamInfos.0.RemoveVideo",
        ),
        (
            {"PureAudio": 1, "StreamInfos": [{"Audio": AUDIO, "RemoveAudio": 1}]},
            "InvalidParameterValue.RemoveAudio",
            "StreamInfos.0.RemoveAudio",
        ),
        (
            {"PureAudio": 1, "StreamInfos": [RUNG]},
            "InvalidParameterValue.Video",
            "StreamInfos.0.Video",
        ),
        ({"StreamInfos": ["x"]}, "InvalidParameterValue.StreamInfos", "StreamInfos.0"),
    ],
)
def test_refusals_name_the_field(change: dict[str, Any], code: str, field: str) -> None:
    err = refused({**TEMPLATE, **change})
    assert (err.code, err.field) == (code, field)
    assert field in err.message


def test_empty_unknown_members_are_ignored() -> None:
    rung = {**RUNG, "AudioList": [], "Video": {**VIDEO, "VideoProfile": "", "SegmentType": 0}}
    assert ladder_template({**TEMPLATE, "StreamInfos": [rung]}).stream_infos[0].video is not None


def test_content_adapt_stream_asks_for_a_per_title_ladder_never_shown_in_answers() -> None:
    data = {**TEMPLATE, "StreamInfos": [{**RUNG, "Video": {**VIDEO, "ContentAdaptStream": 1}}]}
    template = ladder_template(data)
    assert template.ladder == "auto" and template.target_vmaf == 93
    assert ladder_template(TEMPLATE).ladder == "fixed"
    # A Modify that leaves the stream infos keeps it (the request-side fields carry it).
    assert modified_ladder(template, {"Name": "renamed"}).ladder == "auto"
    assert modified_ladder(template, {"StreamInfos": [RUNG]}).ladder == "fixed"
    # The SDK's VideoTemplateInfo has no ContentAdaptStream: a Describe answer leaves it out.
    detail = ladder_detail(template, definition=1_000_001, origin="Custom", created=None,
                           updated=None)  # fmt: skip
    assert all("ContentAdaptStream" not in s["Video"] for s in detail["StreamInfos"])
    model = models.AdaptiveDynamicStreamingTemplate()
    model._deserialize(detail)
    err = refused(
        {**TEMPLATE, "StreamInfos": [{**RUNG, "Video": {**VIDEO, "ContentAdaptStream": 2}}]}
    )
    assert (err.code, err.field) == (
        "InvalidParameterValue.ContentAdaptStream",
        "StreamInfos.0.Video.ContentAdaptStream",
    )
    pure = {**TEMPLATE, "PureAudio": 1, "StreamInfos": [{"Audio": AUDIO}]}
    assert ladder_template(pure).ladder == "fixed"
