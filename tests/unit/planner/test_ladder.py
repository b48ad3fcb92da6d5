"""Rung selection: which renditions a source gets from a ladder template."""

from __future__ import annotations

from typing import Any

import pytest

from reelflow.errors import UnsupportedMedia
from reelflow.planner.ladder import select_rungs
from reelflow.presets.ladders import DASH_LADDER, HLS_LADDER, get_ladder_preset
from reelflow.specs.ladders import LadderTemplate, SegmentType
from reelflow.specs.media import AudioStreamInfo, MediaInfo, VideoStreamInfo


def source(
    width: int = 1920,
    height: int = 1080,
    *,
    kbps: int | None = 8000,
    fps: float = 25.0,
    audio: bool = True,
    video: bool = True,
    vfr: bool = False,
) -> MediaInfo:
    videos = ()
    if video:
        videos = (
            VideoStreamInfo(
                index=0, codec="h264", width=width, height=height, rotation=0, fps=fps,
                fps_num=None, fps_den=None, pix_fmt="yuv420p",
                bitrate=kbps * 1000 if kbps else None, duration=20.0, interlaced=False,
                frame_count=None, is_vfr=vfr,
            ),
        )  # fmt: skip
    audios = (AudioStreamInfo(1, "aac", 48000, 2, 128000, 20.0),) if audio else ()
    return MediaInfo("mov,mp4", 20.0, 1, None, videos, audios)


def hls4() -> LadderTemplate:
    template = get_ladder_preset(HLS_LADDER)
    assert template is not None
    return template


def ladder(*rungs: tuple[int, int], **extra: Any) -> LadderTemplate:
    """Rungs of (short side, kbps), each with AAC 64k."""
    infos = [
        {"video": {"codec": "h264", "height": h, "bitrate": kbps},
         "audio": {"codec": "aac", "bitrate": 64, "sample_rate": 44100}}
        for h, kbps in rungs
    ]  # fmt: skip
    return LadderTemplate.model_validate({"format": "HLS", "stream_infos": infos, **extra})


def sizes(resolved: Any) -> list[tuple[int, int, int]]:
    return [(r.width, r.height, r.bitrate) for r in resolved.video]


def test_1080p_source_gets_the_whole_preset_ladder_with_two_shared_audio_renditions() -> None:
    resolved = select_rungs(hls4(), source(), definition=HLS_LADDER)
    assert sizes(resolved) == [
        (640, 360, 400), (960, 540, 1000), (1280, 720, 1800), (1920, 1080, 2500),
    ]  # fmt: skip
    assert [a.bitrate for a in resolved.audio] == [64, 128]
    assert [r.audio_group for r in resolved.video] == ["audio0", "audio0", "audio1", "audio1"]
    assert resolved.fps == 25.0
    assert resolved.keyint == 150  # 6 s segments at 25 fps
    assert resolved.segment_type is SegmentType.TS
    assert resolved.dropped == []


def test_540p_source_gets_two_rungs_never_upscaled() -> None:
    resolved = select_rungs(hls4(), source(960, 540))
    assert sizes(resolved) == [(640, 360, 400), (960, 540, 1000)]
    assert resolved.dropped == [2, 3]
    assert [a.bitrate for a in resolved.audio] == [64]  # the 128k group is not used


def test_a_rung_above_the_source_is_capped_when_no_rung_has_the_source_size() -> None:
    resolved = select_rungs(ladder((360, 400), (720, 1800), (1080, 2500)), source(960, 540))
    assert sizes(resolved) == [(640, 360, 400), (960, 540, 1800)]
    assert resolved.dropped == [2]


def test_disable_higher_video_bitrate_caps_at_the_source_bitrate() -> None:
    template = ladder((360, 400), (540, 1000), disable_higher_video_bitrate=1)
    assert sizes(select_rungs(template, source(kbps=700))) == [(640, 360, 400), (960, 540, 700)]
    # Without the flag the template's bitrate stands; with an unknown source bitrate too.
    assert sizes(select_rungs(ladder((540, 1000)), source(kbps=700))) == [(960, 540, 1000)]
    assert sizes(select_rungs(template, source(kbps=None))) == [(640, 360, 400), (960, 540, 1000)]


def test_allow_upscale_opt_in_is_overridden_by_disable_higher_video_resolution() -> None:
    infos = [{"video": {"codec": "h264", "height": 720, "bitrate": 1800, "allow_upscale": True},
              "audio": {"codec": "aac", "bitrate": 64}}]  # fmt: skip
    up = LadderTemplate.model_validate({"format": "HLS", "stream_infos": infos})
    assert sizes(select_rungs(up, source(640, 360))) == [(1280, 720, 1800)]
    capped = up.model_copy(update={"disable_higher_video_resolution": True})
    assert sizes(select_rungs(capped, source(640, 360))) == [(640, 360, 1800)]


def test_portrait_source_keeps_short_side_semantics() -> None:
    resolved = select_rungs(ladder((360, 400), (720, 1800)), source(1080, 1920))
    assert sizes(resolved) == [(360, 640, 400), (720, 1280, 1800)]


def test_first_rung_frame_rate_wins_and_never_exceeds_a_constant_source() -> None:
    template = hls4()
    assert select_rungs(template, source(fps=24.0)).fps == 24.0
    assert select_rungs(template, source(fps=50.0)).fps == 25.0
    assert select_rungs(template, source(fps=20.0, vfr=True)).fps == 25.0


def test_template_gop_shorter_than_a_segment_sets_keyint() -> None:
    infos = [{"video": {"codec": "h264", "height": 360, "bitrate": 400, "gop": 2,
                        "gop_unit": "second"}, "audio": {"codec": "aac"}}]  # fmt: skip
    template = LadderTemplate.model_validate(
        {"format": "HLS", "stream_infos": infos, "segment_seconds": 4}
    )
    assert select_rungs(template, source()).keyint == 50
    long_gop = template.model_copy(update={"segment_seconds": 1})
    assert select_rungs(long_gop, source()).keyint == 25


def test_source_without_audio_gets_video_only_rungs() -> None:
    resolved = select_rungs(hls4(), source(audio=False))
    assert resolved.audio == []
    assert {r.audio_group for r in resolved.video} == {""}


def test_audio_only_ladder() -> None:
    infos = [{"remove_video": 1, "audio": {"codec": "aac", "bitrate": kbps}} for kbps in (64, 128)]
    template = LadderTemplate.model_validate(
        {"format": "MPEG-DASH", "pure_audio": 1, "stream_infos": infos}
    )
    resolved = select_rungs(template, source())
    assert resolved.audio_only
    assert [(a.bitrate, a.sample_rate, a.channels) for a in resolved.audio] == [
        (64, 48000, 2), (128, 48000, 2),
    ]  # fmt: skip
    with pytest.raises(UnsupportedMedia) as err:
        select_rungs(template, source(audio=False))
    assert err.value.code == "UnsupportedOperation.NoAudioStream"


def test_video_ladder_on_audio_only_source_is_refused() -> None:
    with pytest.raises(UnsupportedMedia) as err:
        select_rungs(hls4(), source(video=False))
    assert err.value.code == "UnsupportedOperation.NoVideoStream"


def test_dash_preset_has_the_same_rungs() -> None:
    dash = get_ladder_preset(DASH_LADDER)
    assert dash is not None
    assert dash.segments is SegmentType.MP4
    assert sizes(select_rungs(dash, source())) == sizes(select_rungs(hls4(), source()))
