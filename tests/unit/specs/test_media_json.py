"""``MediaInfo.to_json``: the same dict ``dataclasses.asdict`` gives (streams as lists), and
``from_json`` reads it back."""

from __future__ import annotations

from dataclasses import asdict

from reelflow.specs.media import AudioStreamInfo, MediaInfo, VideoStreamInfo


def test_to_json_is_asdict_with_lists_and_reads_back() -> None:
    video = VideoStreamInfo(
        index=0,
        codec="h264",
        width=1920,
        height=1080,
        rotation=90,
        fps=29.97,
        fps_num=30000,
        fps_den=1001,
        pix_fmt="yuv420p10le",
        bitrate=None,
        duration=12.5,
        interlaced=True,
        frame_count=None,
        is_vfr=True,
        color_transfer="smpte2084",
    )
    audio = AudioStreamInfo(
        index=1, codec="aac", sample_rate=48000, channels=6, bitrate=384000, duration=12.4
    )
    info = MediaInfo("mov,mp4,m4a,3gp,3g2,mj2", 12.5, 4_000_000, None, (video,), (audio, audio))
    expected = asdict(info)
    expected["video"] = list(expected["video"])
    expected["audio"] = list(expected["audio"])
    data = info.to_json()
    assert data == expected
    assert data["audio"][0] is not data["audio"][1]  # a dict of its own per stream
    assert MediaInfo.from_json(info.to_json()) == info
