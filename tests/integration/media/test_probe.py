from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import pytest

from reelflow.compat.media import media_metadata
from reelflow.errors import (
    InvalidMedia,
    ObjectNotFound,
    SpecError,
)
from reelflow.media.probe import bit_depth, chroma, probe
from reelflow.specs.media import MediaInfo
from tests.clips import (
    ClipCache,
    make_audio_only,
    make_random_bytes,
    make_subtitles_only,
    make_text_as_mp4,
    make_truncated_mp4,
    make_zero_byte,
)

pytestmark = pytest.mark.integration

MP4 = "mov,mp4,m4a,3gp,3g2,mj2"


def test_plain_clip(clips: ClipCache) -> None:
    path = clips(duration=2.0, width=320, height=240, fps=25)
    info = probe(path)
    assert info.container == MP4
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert info.size == path.stat().st_size
    assert info.bitrate is not None and info.bitrate > 0
    video, audio = info.primary_video, info.primary_audio
    assert video is not None and audio is not None
    assert (video.codec, video.width, video.height, video.rotation) == ("h264", 320, 240, 0)
    assert (video.fps, video.fps_num, video.fps_den) == (25.0, 25, 1)
    assert (video.pix_fmt, bit_depth(video), chroma(video)) == ("yuv420p", 8, "420")
    assert video.frame_count == 50
    assert video.duration == pytest.approx(2.0, abs=0.05)
    assert not video.interlaced and not video.is_vfr
    assert video.codec_tag == "avc1"
    assert (audio.codec, audio.sample_rate, audio.channels) == ("aac", 48000, 2)
    assert audio.duration == pytest.approx(2.0, abs=0.1)


def test_ntsc_rate_keeps_its_fraction(clips: ClipCache) -> None:
    video = probe(clips(fps="30000/1001", audio=False)).primary_video
    assert video is not None
    assert (video.fps_num, video.fps_den) == (30000, 1001)
    assert video.fps == pytest.approx(29.97, abs=0.01)


@pytest.mark.parametrize(
    ("pix_fmt", "depth", "layout"),
    [("yuv420p10le", 10, "420"), ("yuv422p", 8, "422"), ("yuv444p", 8, "444")],
)
def test_pixel_formats(clips: ClipCache, pix_fmt: str, depth: int, layout: str) -> None:
    video = probe(clips(pix_fmt=pix_fmt, audio=False)).primary_video
    assert video is not None
    assert (video.pix_fmt, bit_depth(video), chroma(video)) == (pix_fmt, depth, layout)


def test_hevc_10_bit(clips: ClipCache) -> None:
    video = probe(clips(vcodec="libx265", pix_fmt="yuv420p10le", audio=False)).primary_video
    assert video is not None
    assert (video.codec, bit_depth(video)) == ("hevc", 10)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_swaps_display_size(clips: ClipCache, rotation: int) -> None:
    video = probe(clips(rotation=rotation)).primary_video
    assert video is not None
    assert video.rotation == rotation
    assert (video.width, video.height) == (320, 240)
    swapped = rotation in (90, 270)
    assert (video.display_width, video.display_height) == ((240, 320) if swapped else (320, 240))


def test_rotation_without_mp4_boxes_comes_from_the_decoder(clips: ClipCache) -> None:
    """Matroska has no tkhd box: the first decoded frame's display matrix is used."""
    video = probe(clips(".mkv", rotation=90, audio=False)).primary_video
    assert video is not None
    assert video.rotation == 90


def test_interlaced(clips: ClipCache) -> None:
    interlaced = probe(clips(interlaced=True, audio=False)).primary_video
    progressive = probe(clips(audio=False)).primary_video
    assert interlaced is not None and interlaced.interlaced
    assert progressive is not None and not progressive.interlaced


def test_variable_frame_rate(clips: ClipCache) -> None:
    video = probe(clips(vfr=True, audio=False)).primary_video
    assert video is not None
    assert video.is_vfr
    assert video.fps == pytest.approx(20.0)  # every fifth frame of 25 fps dropped


def test_color_tags_and_hdr_type(clips: ClipCache) -> None:
    sdr = probe(clips(color=("bt709", "bt709", "bt709"), audio=False)).primary_video
    pq = probe(
        clips(pix_fmt="yuv420p10le", color=("bt2020", "smpte2084", "bt2020nc"), audio=False)
    ).primary_video
    assert sdr is not None and pq is not None
    assert (sdr.color_primaries, sdr.color_transfer, sdr.color_space) == ("bt709",) * 3
    assert sdr.hdr_type is None
    assert (pq.color_primaries, pq.color_transfer, pq.color_space) == (
        "bt2020",
        "smpte2084",
        "bt2020nc",
    )
    assert pq.hdr_type == "hdr10"


def test_audio_only(clips: ClipCache) -> None:
    info = probe(clips.make(make_audio_only, ".m4a", channels=1, sample_rate=44100))
    assert not info.has_video and info.has_audio
    assert info.primary_video is None
    audio = info.primary_audio
    assert audio is not None
    assert (audio.codec, audio.sample_rate, audio.channels) == ("aac", 44100, 1)


def test_mp3_codec_is_the_codec_not_the_decoder(clips: ClipCache) -> None:
    info = probe(clips.make(make_audio_only, ".mp3"))
    assert info.container == "mp3"
    assert info.primary_audio is not None and info.primary_audio.codec == "mp3"


def test_video_only(clips: ClipCache) -> None:
    info = probe(clips(audio=False))
    assert info.has_video and not info.has_audio


def test_other_containers(clips: ClipCache) -> None:
    mkv = probe(clips(".mkv"))
    webm = probe(clips(".webm", vcodec="libvpx-vp9"))
    assert mkv.container == webm.container == "matroska,webm"
    assert mkv.duration == pytest.approx(2.0, abs=0.1)
    assert webm.primary_video is not None and webm.primary_video.codec == "vp9"
    assert webm.primary_audio is not None and webm.primary_audio.codec == "opus"


def test_faststart_clip_is_not_truncated(clips: ClipCache) -> None:
    assert probe(clips(faststart=True)).has_video


# --- bad input -------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(ObjectNotFound, match=r"nope\.mp4") as caught:
        probe(missing)
    assert caught.value.code == "ResourceNotFound.ObjectNotFound"


def test_directory_is_not_media(tmp_path: Path) -> None:
    with pytest.raises(InvalidMedia) as caught:
        probe(tmp_path)
    assert caught.value.code == "InvalidInput.NotMedia"


@pytest.mark.parametrize(
    ("maker", "kwargs", "code"),
    [
        (make_zero_byte, {}, "InvalidInput.EmptyFile"),
        (make_text_as_mp4, {}, "InvalidInput.NotMedia"),
        (make_random_bytes, {}, "InvalidInput.NotMedia"),
        (make_truncated_mp4, {}, "InvalidInput.Truncated"),
        (make_truncated_mp4, {"faststart": True}, "InvalidInput.Truncated"),
        (make_truncated_mp4, {"faststart": True, "keep": 0.95}, "InvalidInput.Truncated"),
        (make_subtitles_only, {}, "InvalidInput.NoMediaStreams"),
    ],
)
def test_bad_input_has_its_code(
    clips: ClipCache, maker: object, kwargs: dict[str, object], code: str
) -> None:
    suffix = ".mkv" if maker is make_subtitles_only else ".mp4"
    path = clips.make(maker, suffix, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidMedia) as caught:
        probe(path)
    assert caught.value.code == code
    assert caught.value.message  # a sentence, not an empty av error
    assert not isinstance(caught.value.__cause__, InvalidMedia)


@pytest.mark.parametrize("url", ["s3://bucket/key.mp4", "https://example.com/clip.mp4"])
def test_urls_are_refused_the_probe_reads_only_local_files(url: str) -> None:
    """Remote sources are fetched by reelflow's own clients (egress policy, outage
    handling) before anything probes them: PyAV never opens the network."""
    with pytest.raises(SpecError):
        probe(url)


def test_protocol_syntax_in_a_path_is_just_a_file_name(tmp_path: Path) -> None:
    """FFmpeg would read "concat:a|b" as a protocol; probe reads it as a file name."""
    with pytest.raises(ObjectNotFound):
        probe(f"concat:{tmp_path}/a.mp4|{tmp_path}/b.mp4")


# --- cost and transport ----------------------------------------------------------------


def test_probe_does_not_decode_the_whole_file(
    clips: ClipCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Count packets decoded through PyAV: at most one frame's worth, never the file."""
    decoded = 0
    original = av.Packet.decode

    def counting(packet: av.Packet[Any]) -> list[object]:
        nonlocal decoded
        decoded += 1
        return list(original(packet))

    monkeypatch.setattr(av.Packet, "decode", counting)
    probe(clips(duration=10.0, rotation=90))
    assert decoded == 0  # MP4 boxes and headers answer everything
    probe(clips(".mkv", duration=10.0))
    assert 1 <= decoded <= 4  # Matroska: rotation needs the first frame, nothing more


def test_json_round_trip(clips: ClipCache) -> None:
    info = probe(clips(rotation=90))
    data = json.loads(json.dumps(info.to_json()))
    assert MediaInfo.from_json(data) == info
    data["video"][0]["added_by_a_newer_version"] = 1
    assert MediaInfo.from_json(data) == info


def test_mps_metadata_shape(clips: ClipCache) -> None:
    info = probe(clips(rotation=90, fps="30000/1001"))
    meta = media_metadata(info)
    assert meta["Container"] == MP4
    assert (meta["Width"], meta["Height"], meta["Rotate"]) == (240, 320, 90)
    assert meta["Size"] == info.size and meta["Bitrate"] == info.bitrate
    video_set, audio_set = meta["VideoStreamSet"], meta["AudioStreamSet"]
    assert isinstance(video_set, list) and isinstance(audio_set, list)
    (video,) = video_set
    assert video["Fps"] == 30
    assert (video["FpsNumerator"], video["FpsDenominator"]) == (30000, 1001)
    assert (video["Width"], video["Height"], video["Codec"]) == (240, 320, "h264")
    (audio,) = audio_set
    assert (audio["Codec"], audio["SamplingRate"], audio["Channel"]) == ("aac", 48000, 2)
    assert audio["Loudness"] is None
    assert meta["VideoDuration"] == pytest.approx(2.0, abs=0.05)
    audio_only = media_metadata(probe(clips.make(make_audio_only, ".m4a")))
    assert audio_only["VideoStreamSet"] == []
    assert audio_only["Width"] is None and audio_only["VideoDuration"] is None
