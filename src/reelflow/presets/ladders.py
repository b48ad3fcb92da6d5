"""System adaptive-streaming (ladder) presets, read-only.

Ids (documented in docs/ladders.md): the compatible API documents no preset ladder
(mps-api.md §9: its examples use definitions 10, 12 and 1001), so reelflow numbers its own in
that small range, apart from every custom id (``CUSTOM_ID_START``):

- **10** ``HLS-H264-4rung``: HLS, TS segments of 6 s, four H.264/AAC rungs at the transcode
  presets 100010-100040 (360/540/720/1080 short side at 400/1000/1800/2500 kbps, 25 fps;
  AAC 44.1 kHz stereo at 64 kbps for the two low rungs and 128 kbps for the two high ones,
  so two audio renditions are encoded and shared).
- **20** ``DASH-H264-4rung``: the same rungs as MPEG-DASH with fMP4 segments.

``presets.catalog`` lists them with every other preset, as ``TemplateKind.ADAPTIVE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from reelflow.presets.tiers import TIERS
from reelflow.specs.ladders import LadderFormat, LadderTemplate, StreamInfo
from reelflow.specs.templates import AudioTemplate, VideoTemplate
from reelflow.specs.units import AudioCodec, VideoCodec

HLS_LADDER = 10
DASH_LADDER = 20
_LADDER_TIERS = ("LD", "SD", "HD", "FHD")  # transcode presets 100010..100040


@dataclass(frozen=True)
class LadderPreset:
    definition: int
    template: LadderTemplate

    @property
    def name(self) -> str:
        return self.template.name


def _stream_infos() -> list[StreamInfo]:
    rungs = []
    for tier, short_side, video_kbps, audio_kbps, _mp4, _hls in TIERS:
        if tier not in _LADDER_TIERS:
            continue
        rungs.append(
            StreamInfo(
                video=VideoTemplate(
                    codec=VideoCodec.H264,
                    fps=25,
                    bitrate=video_kbps,
                    resolution_adaptive="open",
                    width=0,
                    height=short_side,
                    fill_type="stretch",
                ),
                audio=AudioTemplate(
                    codec=AudioCodec.AAC, bitrate=audio_kbps, sample_rate=44100, audio_channel=2
                ),
            )
        )
    return rungs


@cache
def _presets() -> dict[int, LadderPreset]:
    made = {}
    for definition, fmt, label in (
        (HLS_LADDER, LadderFormat.HLS, "HLS"),
        (DASH_LADDER, LadderFormat.DASH, "DASH"),
    ):
        template = LadderTemplate(
            format=fmt,
            name=f"{label}-H264-4rung",
            comment="H.264/AAC 360p 400k, 540p 1000k, 720p 1800k, 1080p 2500k; 6 s segments",
            stream_infos=_stream_infos(),
        )
        made[definition] = LadderPreset(definition, template)
    return made


def get_ladder_preset(definition: int) -> LadderTemplate | None:
    """The preset ladder ``definition``, or None."""
    preset = _presets().get(definition)
    return preset.template if preset else None


def list_ladder_presets() -> list[LadderPreset]:
    return sorted(_presets().values(), key=lambda p: p.definition)
