"""The legacy transcode presets (mps-api.md §9) that the vendor's own samples still use.

``{"TranscodeTaskSet": [{"Definition": 20}, {"Definition": 30}]}`` appears in the vendor's
``ProcessMedia``/``CreateWorkflow`` examples, so these ids must resolve. §9 gives each tier's
size and video bitrate: 10..40 by width (the long side, ``ResolutionAdaptive`` open, so a
portrait source keeps its shape), 70/80 by height (the short side). It gives no audio or
frame rate; reelflow uses the current presets' (25 fps, AAC 44.1 kHz stereo at the tier's
audio bitrate). 510..580 and 610..680 are the same tiers in H.265.
"""

from __future__ import annotations

from typing import Literal

from reelflow.specs.templates import AudioTemplate, TranscodeTemplate, VideoTemplate
from reelflow.specs.units import AudioCodec, VideoCodec

# Last two digits of the id, tier, long side, short side, video kbps, audio kbps.
LEGACY_TIERS: tuple[tuple[int, str, int, int, int, int], ...] = (
    (10, "LD", 320, 0, 256, 64),
    (20, "SD", 640, 0, 512, 64),
    (30, "HD", 1280, 0, 1024, 128),
    (40, "FHD", 1920, 0, 2500, 128),
    (70, "2K", 0, 1440, 3072, 160),
    (80, "4K", 0, 2160, 6144, 160),
)

# Id offset, container, codec: 10..80 MP4 H.264, 210..280 HLS H.264, 510..580 MP4 H.265,
# 610..680 HLS H.265. (§9's 710..780 FLV H.265 and 10046..10049 are left out: FLV carries
# only H.264 here, and §9 gives no numbers for the latter.)
LEGACY_FAMILIES: tuple[tuple[int, Literal["mp4", "hls"], VideoCodec], ...] = (
    (0, "mp4", VideoCodec.H264),
    (200, "hls", VideoCodec.H264),
    (500, "mp4", VideoCodec.H265),
    (600, "hls", VideoCodec.H265),
)


def _legacy(
    container: Literal["mp4", "hls"],
    codec: VideoCodec,
    tier: str,
    long_side: int,
    short_side: int,
    video_kbps: int,
    audio_kbps: int,
) -> TranscodeTemplate:
    label = "H.264" if codec is VideoCodec.H264 else "H.265"
    size = f"{long_side} wide" if long_side else f"{short_side}p"
    return TranscodeTemplate(
        container=container,
        name=f"{container.upper()}-{label.replace('.', '')}-{tier}-legacy",
        comment=f"{label} {video_kbps} kbps, {size}, 25 fps; AAC {audio_kbps} kbps (legacy id)",
        video_template=VideoTemplate(
            codec=codec,
            fps=25,
            bitrate=video_kbps,
            resolution_adaptive="open",
            width=long_side,
            height=short_side,
            gop=0,
            fill_type="stretch",
        ),
        audio_template=AudioTemplate(
            codec=AudioCodec.AAC, bitrate=audio_kbps, sample_rate=44100, audio_channel=2
        ),
    )


def legacy_transcode_presets() -> list[tuple[int, TranscodeTemplate]]:
    """(definition, template) for every legacy transcode preset, by definition."""
    found = [
        (offset + last, _legacy(container, codec, tier, long_side, short_side, video, audio))
        for offset, container, codec in LEGACY_FAMILIES
        for last, tier, long_side, short_side, video, audio in LEGACY_TIERS
    ]
    return sorted(found, key=lambda row: row[0])
