"""System presets: the documented ids and numbers (mps-api.md §9), validity, lookups."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from pydantic import ValidationError

from reelflow.presets import (
    CUSTOM_ID_START,
    ChainLookup,
    MemoryLookup,
    Preset,
    PresetLookup,
    TemplateLookup,
    get_preset,
    is_preset,
    list_presets,
)
from reelflow.specs.ladders import LadderFormat, LadderTemplate
from reelflow.specs.subtasks import SubTaskKind, SubTaskSpec
from reelflow.specs.template_kinds import TEMPLATE_MODELS
from reelflow.specs.templates import (
    TRUSTED,
    AnimatedGraphicsTemplate,
    ImageSpriteTemplate,
    SampleSnapshotTemplate,
    SnapshotTemplate,
    TemplateKind,
    TranscodeTemplate,
)
from reelflow.specs.units import AudioCodec, VideoCodec

T = TemplateKind

# §9, transcoded by hand: definition, container, short side, video kbps, audio kbps.
VIDEO_PRESETS = [
    (100010, "mp4", 360, 400, 64),
    (100020, "mp4", 540, 1000, 64),
    (100030, "mp4", 720, 1800, 128),
    (100040, "mp4", 1080, 2500, 128),
    (100070, "mp4", 1440, 3000, 160),
    (100080, "mp4", 2160, 6000, 160),
    (100210, "hls", 360, 400, 64),
    (100220, "hls", 540, 1000, 64),
    (100230, "hls", 720, 1800, 128),
    (100240, "hls", 1080, 2500, 128),
    (100270, "hls", 1440, 3000, 160),
    (100280, "hls", 2160, 6000, 160),
]

# §9's legacy ids: definition, container, codec, long side (width), short side, video kbps.
LEGACY_PRESETS = [
    (base + last, container, codec, long_side, short_side, kbps)
    for base, container, codec in (
        (0, "mp4", VideoCodec.H264),
        (200, "hls", VideoCodec.H264),
        (500, "mp4", VideoCodec.H265),
        (600, "hls", VideoCodec.H265),
    )
    for last, long_side, short_side, kbps in (
        (10, 320, 0, 256),
        (20, 640, 0, 512),
        (30, 1280, 0, 1024),
        (40, 1920, 0, 2500),
        (70, 0, 1440, 3072),
        (80, 0, 2160, 6144),
    )
]

# definition, container, audio codec, kbps
AUDIO_PRESETS = [
    (1100, "m4a", AudioCodec.AAC, 24),
    (1110, "m4a", AudioCodec.AAC, 48),
    (1120, "m4a", AudioCodec.AAC, 96),
    (1130, "m4a", AudioCodec.AAC, 192),
    (1140, "m4a", AudioCodec.AAC, 256),
    (1010, "mp3", AudioCodec.MP3, 128),
    (1020, "mp3", AudioCodec.MP3, 320),
]

# Presets outside the documented ranges for custom templates (validated under TRUSTED).
OUTSIDE_CUSTOM_RANGES = {(T.TRANSCODE, 1020), (T.TRANSCODE, 1100), (T.IMAGE_SPRITE, 10)}


def transcode_preset(definition: int) -> TranscodeTemplate:
    template = get_preset(T.TRANSCODE, definition)
    assert isinstance(template, TranscodeTemplate)
    return template


@pytest.mark.parametrize(
    ("definition", "container", "short", "video_kbps", "audio_kbps"), VIDEO_PRESETS
)
def test_video_presets(
    definition: int, container: str, short: int, video_kbps: int, audio_kbps: int
) -> None:
    template = transcode_preset(definition)

    assert template.container == container
    assert not template.remove_video
    assert not template.remove_audio
    video, audio = template.video_template, template.audio_template
    assert video is not None
    assert audio is not None
    assert (video.codec, video.bitrate, video.fps) == (VideoCodec.H264, video_kbps, 25)
    assert (video.resolution_adaptive, video.width, video.height) == ("open", 0, short)
    assert video.fill_type == "stretch"
    assert (audio.codec, audio.bitrate) == (AudioCodec.AAC, audio_kbps)
    assert (audio.sample_rate, audio.audio_channel) == (44100, 2)


@pytest.mark.parametrize(
    ("definition", "name"),
    [
        (100010, "MP4-LD"),
        (100020, "MP4-SD"),
        (100030, "MP4-HD"),
        (100040, "MP4-FHD"),
        (100070, "MP4-2K"),
        (100080, "MP4-4K"),
        (100240, "HLS-FHD"),
    ],
)
def test_video_preset_names(definition: int, name: str) -> None:
    assert transcode_preset(definition).name == name


@pytest.mark.parametrize(("definition", "container", "codec", "kbps"), AUDIO_PRESETS)
def test_audio_presets(definition: int, container: str, codec: AudioCodec, kbps: int) -> None:
    template = transcode_preset(definition)

    assert template.container == container
    assert template.remove_video
    assert template.video_template is None
    audio = template.audio_template
    assert audio is not None
    assert (audio.codec, audio.bitrate, audio.sample_rate, audio.audio_channel) == (
        codec,
        kbps,
        44100,
        2,
    )


def test_snapshot_preset() -> None:
    template = get_preset(T.SNAPSHOT, 10)

    assert isinstance(template, SnapshotTemplate)
    assert (template.format, template.width, template.height) == ("jpg", 0, 0)
    assert template.fill_type == "stretch"


def test_sample_snapshot_preset() -> None:
    template = get_preset(T.SAMPLE_SNAPSHOT, 10)

    assert isinstance(template, SampleSnapshotTemplate)
    assert (template.format, template.width, template.height) == ("jpg", 0, 0)
    assert (template.sample_type, template.sample_interval) == ("Percent", 10)
    assert template.fill_type == "stretch"


def test_image_sprite_preset() -> None:
    template = get_preset(T.IMAGE_SPRITE, 10)

    assert isinstance(template, ImageSpriteTemplate)
    assert (template.format, template.width, template.height) == ("jpg", 142, 80)
    assert (template.row_count, template.column_count) == (10, 10)
    assert (template.sample_type, template.sample_interval) == ("Time", 10)
    assert template.resolution_adaptive == "close"


@pytest.mark.parametrize(("definition", "fmt"), [(20000, "gif"), (20001, "webp")])
def test_animated_presets(definition: int, fmt: str) -> None:
    template = get_preset(T.ANIMATED_GRAPHICS, definition)

    assert isinstance(template, AnimatedGraphicsTemplate)
    assert (template.format, template.fps, template.quality) == (fmt, 2, 75.0)
    assert (template.width, template.height) == (0, 0)


@pytest.mark.parametrize(
    ("definition", "container", "codec", "long_side", "short_side", "kbps"), LEGACY_PRESETS
)
def test_legacy_presets(
    definition: int,
    container: str,
    codec: VideoCodec,
    long_side: int,
    short_side: int,
    kbps: int,
) -> None:
    template = get_preset(T.TRANSCODE, definition)

    assert isinstance(template, TranscodeTemplate)
    assert template.container == container
    video = template.video_template
    assert video is not None
    assert (video.codec, video.width, video.height, video.bitrate) == (
        codec,
        long_side,
        short_side,
        kbps,
    )
    assert video.resolution_adaptive == "open"
    assert template.audio_template is not None
    assert template.audio_template.codec == AudioCodec.AAC
    assert template.name.endswith("-legacy")


def test_exactly_the_documented_presets() -> None:
    documented = (
        {(T.TRANSCODE, row[0]) for row in VIDEO_PRESETS}
        | {(T.TRANSCODE, row[0]) for row in AUDIO_PRESETS}
        | {(T.TRANSCODE, row[0]) for row in LEGACY_PRESETS}
        | {(T.SNAPSHOT, 10), (T.SAMPLE_SNAPSHOT, 10), (T.IMAGE_SPRITE, 10)}
        | {(T.ANIMATED_GRAPHICS, 20000), (T.ANIMATED_GRAPHICS, 20001)}
        | {(T.ADAPTIVE, 10), (T.ADAPTIVE, 20)}  # reelflow's own ids (docs/ladders.md)
    )

    assert {(p.kind, p.definition) for p in list_presets()} == documented


def test_ids_unique_per_kind_and_below_custom_range() -> None:
    keys = Counter((p.kind, p.definition) for p in list_presets())

    assert [key for key, n in keys.items() if n > 1] == []
    assert all(definition < CUSTOM_ID_START for _, definition in keys)


def test_no_watermark_presets() -> None:
    assert list_presets(T.WATERMARK) == []


@pytest.mark.parametrize("preset", list_presets(), ids=lambda p: f"{p.kind.value}-{p.definition}")
class TestEveryPreset:
    def test_is_the_model_of_its_kind(self, preset: Preset) -> None:
        assert type(preset.template) is TEMPLATE_MODELS[preset.kind]
        assert preset.name
        assert preset.name == preset.template.name

    def test_round_trips_as_trusted_json(self, preset: Preset) -> None:
        template = preset.template
        model = type(template)

        assert model.model_validate(template.to_mps(), context=TRUSTED) == template
        assert model.model_validate(template.to_json(), context=TRUSTED) == template

    def test_custom_rules_hold_except_documented_exceptions(self, preset: Preset) -> None:
        template = preset.template
        if (preset.kind, preset.definition) in OUTSIDE_CUSTOM_RANGES:
            with pytest.raises(ValidationError, match=r"must be 0 or \d+\.\.\d+"):
                type(template).model_validate(template.to_mps())
        else:
            assert type(template).model_validate(template.to_mps()) == template


class TestCatalogApi:
    def test_list_is_sorted_by_definition(self) -> None:
        for kind in TemplateKind:
            definitions = [p.definition for p in list_presets(kind)]
            assert definitions == sorted(definitions)
        everything = list_presets()
        assert [p.definition for p in everything] == sorted(p.definition for p in everything)

    def test_list_filters_by_kind(self) -> None:
        assert {p.kind for p in list_presets(T.ANIMATED_GRAPHICS)} == {T.ANIMATED_GRAPHICS}
        assert len(list_presets(T.TRANSCODE)) == 19 + len(LEGACY_PRESETS)

    def test_ladder_presets_are_listed_by_name(self) -> None:
        ladders = list_presets(T.ADAPTIVE)

        assert [(p.definition, p.name) for p in ladders] == [
            (10, "HLS-H264-4rung"),
            (20, "DASH-H264-4rung"),
        ]
        hls = get_preset(T.ADAPTIVE, 10)
        assert isinstance(hls, LadderTemplate)
        assert (hls.format, len(hls.stream_infos)) == (LadderFormat.HLS, 4)
        # The same id of another kind is another template: transcode 10 is the legacy MP4.
        assert isinstance(get_preset(T.TRANSCODE, 10), TranscodeTemplate)

    def test_unknown_definitions(self) -> None:
        assert get_preset(T.TRANSCODE, 99) is None
        assert get_preset(T.SNAPSHOT, 100010) is None
        assert not is_preset(T.TRANSCODE, CUSTOM_ID_START)
        assert is_preset(T.TRANSCODE, 100010)
        assert is_preset(T.IMAGE_SPRITE, 10)

    def test_presets_are_read_only(self) -> None:
        preset = list_presets(T.TRANSCODE)[0]
        with pytest.raises(dataclasses.FrozenInstanceError):
            preset.definition = 1  # type: ignore[misc]
        with pytest.raises(ValidationError, match="frozen"):
            preset.template.name = "mine"  # type: ignore[misc]

    def test_same_object_every_time(self) -> None:
        assert get_preset(T.TRANSCODE, 100010) is get_preset(T.TRANSCODE, 100010)


def test_a_preset_outside_custom_ranges_survives_a_sub_task_round_trip() -> None:
    sprite = get_preset(T.IMAGE_SPRITE, 10)
    assert sprite is not None
    spec = SubTaskSpec(
        index=0,
        kind=SubTaskKind.IMAGE_SPRITE,
        definition=10,
        input={"definition": 10},
        template=sprite.to_json(),
        output_bucket="out",
        output_dir="",
    )

    stored = SubTaskSpec.model_validate(spec.to_json())

    assert stored.parsed_template() == sprite


class TestLookups:
    def custom(self) -> TranscodeTemplate:
        return TranscodeTemplate.model_validate(
            {"container": "mp3", "name": "mine", "audio_template": {"codec": "mp3"}}
        )

    def test_preset_lookup(self) -> None:
        lookup: TemplateLookup = PresetLookup()

        assert lookup.get(T.TRANSCODE, 100030) is get_preset(T.TRANSCODE, 100030)
        assert lookup.get(T.TRANSCODE, CUSTOM_ID_START) is None

    def test_memory_lookup(self) -> None:
        lookup = MemoryLookup()
        lookup.add(T.TRANSCODE, CUSTOM_ID_START, self.custom())

        assert lookup.get(T.TRANSCODE, CUSTOM_ID_START) == self.custom()
        assert lookup.get(T.SNAPSHOT, CUSTOM_ID_START) is None

    def test_chain_asks_in_order(self) -> None:
        custom = MemoryLookup()
        custom.add(T.TRANSCODE, CUSTOM_ID_START, self.custom())
        custom.add(T.TRANSCODE, 100010, self.custom())
        chain: TemplateLookup = ChainLookup(PresetLookup(), custom)

        assert chain.get(T.TRANSCODE, CUSTOM_ID_START) == self.custom()
        assert chain.get(T.TRANSCODE, 100010) is get_preset(T.TRANSCODE, 100010)
        assert chain.get(T.TRANSCODE, 7) is None

    def test_empty_chain(self) -> None:
        assert ChainLookup().get(T.TRANSCODE, 100010) is None
