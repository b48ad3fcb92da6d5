"""The system preset templates, read-only, under the compatible API's ids (mps-api.md §9).

Presets are ordinary, validated template models; the service lists them in its
``Describe*Templates`` answers and refuses to modify or delete them. Custom templates are
numbered from ``CUSTOM_ID_START`` up, so a custom id can never shadow a preset's.

Three presets sit outside the documented ranges for *custom* templates (1100: AAC 24 kbps,
1020: MP3 320 kbps, sprite 10: 142x80 cells). Rather than widen the custom rules or skip
validation with ``model_construct``, they are validated under ``specs.templates.TRUSTED``,
whose wider system ranges keep them valid models that survive a JSON round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal, TypeVar

from reelflow.presets.ladders import list_ladder_presets
from reelflow.presets.legacy import legacy_transcode_presets
from reelflow.presets.tiers import TIERS
from reelflow.specs.template_kinds import Template
from reelflow.specs.templates import (
    TRUSTED,
    AnimatedGraphicsTemplate,
    AudioTemplate,
    ImageSpriteTemplate,
    SampleSnapshotTemplate,
    SnapshotTemplate,
    TemplateKind,
    TranscodeTemplate,
    VideoTemplate,
)
from reelflow.specs.units import AudioCodec, VideoCodec

CUSTOM_ID_START = 1_000_000
"""First custom template definition; every preset id is below it."""

_M = TypeVar("_M", AudioTemplate, ImageSpriteTemplate)


@dataclass(frozen=True)
class Preset:
    """One system preset; ``template.name`` equals ``name``."""

    kind: TemplateKind
    definition: int
    template: Template
    name: str


def _trusted(model: type[_M], **fields: object) -> _M:
    return model.model_validate(fields, context=TRUSTED)


# Definition, container, codec, kbps; all stereo 44.1 kHz.
_AUDIO: tuple[tuple[int, Literal["m4a", "mp3"], AudioCodec, int], ...] = (
    (1010, "mp3", AudioCodec.MP3, 128),
    (1020, "mp3", AudioCodec.MP3, 320),
    (1100, "m4a", AudioCodec.AAC, 24),
    (1110, "m4a", AudioCodec.AAC, 48),
    (1120, "m4a", AudioCodec.AAC, 96),
    (1130, "m4a", AudioCodec.AAC, 192),
    (1140, "m4a", AudioCodec.AAC, 256),
)


def _video_tier(
    container: Literal["mp4", "hls"], tier: str, short_side: int, video_kbps: int, audio_kbps: int
) -> TranscodeTemplate:
    return TranscodeTemplate(
        container=container,
        name=f"{container.upper()}-{tier}",
        comment=f"H.264 {video_kbps} kbps, {short_side}p, 25 fps; AAC {audio_kbps} kbps",
        video_template=VideoTemplate(
            codec=VideoCodec.H264,
            fps=25,
            bitrate=video_kbps,
            resolution_adaptive="open",
            width=0,
            height=short_side,
            gop=0,
            # The Describe example of 100010 says stretch; with width 0 the aspect ratio is
            # kept anyway, so nothing is ever stretched.
            fill_type="stretch",
        ),
        audio_template=AudioTemplate(
            codec=AudioCodec.AAC, bitrate=audio_kbps, sample_rate=44100, audio_channel=2
        ),
    )


def _audio_only(
    container: Literal["m4a", "mp3"], codec: AudioCodec, kbps: int
) -> TranscodeTemplate:
    return TranscodeTemplate(
        container=container,
        name=f"{container.upper()}-{kbps}kbps",
        comment=f"{codec.value.upper()} {kbps} kbps, stereo, 44.1 kHz",
        remove_video=True,
        audio_template=_trusted(
            AudioTemplate, codec=codec, bitrate=kbps, sample_rate=44100, audio_channel=2
        ),
    )


def _all_presets() -> list[Preset]:
    presets: list[Preset] = []

    def add(kind: TemplateKind, definition: int, template: Template) -> None:
        presets.append(Preset(kind, definition, template, template.name))

    for tier, short_side, video_kbps, audio_kbps, mp4_id, hls_id in TIERS:
        add(
            TemplateKind.TRANSCODE,
            mp4_id,
            _video_tier("mp4", tier, short_side, video_kbps, audio_kbps),
        )
        add(
            TemplateKind.TRANSCODE,
            hls_id,
            _video_tier("hls", tier, short_side, video_kbps, audio_kbps),
        )
    for definition, legacy in legacy_transcode_presets():
        add(TemplateKind.TRANSCODE, definition, legacy)
    for definition, container, codec, kbps in _AUDIO:
        add(TemplateKind.TRANSCODE, definition, _audio_only(container, codec, kbps))

    add(
        TemplateKind.SNAPSHOT,
        10,
        SnapshotTemplate(
            name="JPG-SourceSize", comment="JPG, source size", format="jpg", fill_type="stretch"
        ),
    )
    add(
        TemplateKind.SAMPLE_SNAPSHOT,
        10,
        SampleSnapshotTemplate(
            name="JPG-Every10Percent",
            comment="JPG, source size, every 10% of the duration",
            format="jpg",
            fill_type="stretch",
            sample_type="Percent",
            sample_interval=10,
        ),
    )
    add(
        TemplateKind.IMAGE_SPRITE,
        10,
        # §9 gives no fill type for this preset; the documented default (black) applies.
        _trusted(
            ImageSpriteTemplate,
            name="Sprite-142x80-10x10",
            comment="JPG, 142x80 cells, 10 x 10 per sheet, every 10 s",
            format="jpg",
            width=142,
            height=80,
            resolution_adaptive="close",
            sample_type="Time",
            sample_interval=10,
            row_count=10,
            column_count=10,
        ),
    )
    # Source resolution at 2 fps, as §9 documents (legacy values). A GIF of a 1080p source is
    # heavy; callers wanting small previews should use a custom template with a width.
    animated: tuple[tuple[int, Literal["gif", "webp"], str], ...] = (
        (20000, "gif", "GIF"),
        (20001, "webp", "WebP"),
    )
    for definition, fmt, label in animated:
        add(
            TemplateKind.ANIMATED_GRAPHICS,
            definition,
            AnimatedGraphicsTemplate(
                name=f"{label}-2fps",
                comment=f"{label}, source size, 2 fps, quality 75",
                fps=2,
                quality=75.0,
                format=fmt,
                width=0,
                height=0,
            ),
        )
    for ladder in list_ladder_presets():
        add(TemplateKind.ADAPTIVE, ladder.definition, ladder.template)
    return presets


@cache
def _index() -> dict[TemplateKind, dict[int, Preset]]:
    # Built on first use, not at import time.
    index: dict[TemplateKind, dict[int, Preset]] = {kind: {} for kind in TemplateKind}
    for preset in _all_presets():
        by_id = index[preset.kind]
        if preset.definition in by_id or preset.definition >= CUSTOM_ID_START:
            raise RuntimeError(f"bad preset id {preset.kind.value} {preset.definition}")
        by_id[preset.definition] = preset
    return index


def get_preset(kind: TemplateKind, definition: int) -> Template | None:
    """The preset template ``definition`` of ``kind``, or None if there is none."""
    preset = _index()[kind].get(definition)
    return preset.template if preset else None


def is_preset(kind: TemplateKind, definition: int) -> bool:
    return definition in _index()[kind]


def list_presets(kind: TemplateKind | None = None) -> list[Preset]:
    """Presets of ``kind`` (all kinds if None), sorted by definition, then kind."""
    kinds = list(TemplateKind) if kind is None else [kind]
    found = [preset for k in kinds for preset in _index()[k].values()]
    return sorted(found, key=lambda p: (p.definition, kinds.index(p.kind)))
