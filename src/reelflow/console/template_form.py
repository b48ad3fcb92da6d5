"""Custom template editors: a form for transcode templates, JSON for the other kinds.

Both end in the template model's own validation (user ranges, not the presets' wider
ones), whose messages are shown next to the control they name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from pydantic import ValidationError

from reelflow.config import X264_PRESETS
from reelflow.console.forms import FormData
from reelflow.console.validation import FieldMap, FormErrors, clean_message, validated
from reelflow.specs.template_kinds import TEMPLATE_MODELS, Template
from reelflow.specs.templates import TemplateKind, TranscodeTemplate
from reelflow.specs.units import AUDIO_ONLY_CONTAINERS, CONTAINERS, SAMPLE_RATES
from reelflow.web.errors import field_name

CONTAINER_CHOICES = tuple(CONTAINERS)
VIDEO_CODECS = ("h264", "h265", "vp9", "av1")
AUDIO_CODECS = ("aac", "mp3", "opus", "vorbis", "flac", "pcm16")
SAMPLE_RATE_CHOICES = tuple(sorted(SAMPLE_RATES))
ENCODER_PRESETS = X264_PRESETS

TRANSCODE_FIELDS: FieldMap = (
    ("name", "name"),
    ("comment", "comment"),
    ("container", "container"),
    ("remove_video", "remove_video"),
    ("remove_audio", "remove_audio"),
    ("quality", "quality"),
    ("video_template.codec", "video_codec"),
    ("video_template.fps", "video_fps"),
    ("video_template.bitrate", "video_bitrate"),
    ("video_template.width", "video_width"),
    ("video_template.height", "video_height"),
    ("video_template.resolution_adaptive", "video_resolution_adaptive"),
    ("video_template.gop", "video_gop"),
    ("video_template.fill_type", "video_fill_type"),
    ("video_template.vcrf", "video_crf"),
    ("video_template.preset", "video_preset"),
    ("video_template", "video_codec"),
    ("audio_template.codec", "audio_codec"),
    ("audio_template.bitrate", "audio_bitrate"),
    ("audio_template.sample_rate", "audio_sample_rate"),
    ("audio_template.audio_channel", "audio_channel"),
    ("audio_template", "audio_codec"),
)

_NUMBERS = ("video_fps", "video_bitrate", "video_width", "video_height", "video_gop",
            "audio_bitrate", "audio_sample_rate", "audio_channel")  # fmt: skip


@dataclass
class TranscodeForm:
    name: str = ""
    comment: str = ""
    container: str = "mp4"
    remove_video: bool = False
    remove_audio: bool = False
    quality: bool = False
    video_codec: str = "h264"
    video_fps: str = "0"
    video_bitrate: str = "0"
    video_width: str = "0"
    video_height: str = "720"
    video_resolution_adaptive: str = "open"
    video_gop: str = "0"
    video_fill_type: str = "black"
    video_crf: str = ""
    video_preset: str = ""
    audio_codec: str = "aac"
    audio_bitrate: str = "128"
    audio_sample_rate: str = "44100"
    audio_channel: str = "2"

    @classmethod
    def from_form(cls, form: FormData) -> TranscodeForm:
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.type in ("bool", bool):
                values[item.name] = form.checked(item.name)
            else:
                values[item.name] = form.get(item.name, str(item.default))
        return cls(**values)

    @classmethod
    def from_template(cls, template: TranscodeTemplate) -> TranscodeForm:
        form = cls(
            name=template.name,
            comment=template.comment,
            container=template.container,
            remove_video=template.remove_video,
            remove_audio=template.remove_audio,
            quality=template.quality,
        )
        video, audio = template.video_template, template.audio_template
        if video is not None:
            form.video_codec = video.codec.value
            form.video_fps = str(video.fps)
            form.video_bitrate = str(video.bitrate)
            form.video_width = str(video.width)
            form.video_height = str(video.height)
            form.video_resolution_adaptive = video.resolution_adaptive
            form.video_gop = str(video.gop)
            form.video_fill_type = video.fill_type
            form.video_crf = "" if video.vcrf is None else str(video.vcrf)
            form.video_preset = video.preset or ""
        if audio is not None:
            form.audio_codec = audio.codec.value
            form.audio_bitrate = str(audio.bitrate)
            form.audio_sample_rate = str(audio.sample_rate)
            form.audio_channel = str(audio.audio_channel)
        return form

    def to_template(self) -> TranscodeTemplate:
        errors: dict[str, str] = {}
        numbers: dict[str, int] = {}
        for name in (*_NUMBERS, "video_crf"):
            text = str(getattr(self, name)).strip()
            if name == "video_crf" and not text:
                continue
            try:
                numbers[name] = int(text or "0")
            except ValueError:
                errors[name] = "a whole number"
        if errors:
            raise FormErrors(errors)
        data: dict[str, Any] = {
            "name": self.name,
            "comment": self.comment,
            "container": self.container,
            "remove_video": self.remove_video,
            "remove_audio": self.remove_audio,
            "quality": self.quality,
        }
        if not self.remove_video and self.container not in AUDIO_ONLY_CONTAINERS:
            data["video_template"] = {
                "codec": self.video_codec,
                "fps": numbers["video_fps"],
                "bitrate": numbers["video_bitrate"],
                "width": numbers["video_width"],
                "height": numbers["video_height"],
                "resolution_adaptive": self.video_resolution_adaptive,
                "gop": numbers["video_gop"],
                "fill_type": self.video_fill_type,
                "vcrf": numbers.get("video_crf"),
                "preset": self.video_preset or None,
            }
        if not self.remove_audio:
            data["audio_template"] = {
                "codec": self.audio_codec,
                "bitrate": numbers["audio_bitrate"],
                "sample_rate": numbers["audio_sample_rate"],
                "audio_channel": numbers["audio_channel"],
            }
        return validated(lambda: TranscodeTemplate.model_validate(data), TRANSCODE_FIELDS)


def starter_json(kind: TemplateKind) -> str:
    """An example body for a new template of ``kind`` (the JSON editor's first text)."""
    examples: dict[TemplateKind, dict[str, Any]] = {
        TemplateKind.WATERMARK: {
            "type": "text",
            "name": "Corner text",
            "coordinate_origin": "BottomRight",
            "x_pos": "16px",
            "y_pos": "16px",
            "text_template": {
                "font_size": "24px",
                "font_color": "0xFFFFFF",
                "text_content": "reelflow",
            },
        },
        TemplateKind.SNAPSHOT: {"name": "JPG 640", "width": 640, "format": "jpg"},
        TemplateKind.SAMPLE_SNAPSHOT: {
            "name": "Every 5 s",
            "width": 320,
            "format": "jpg",
            "sample_type": "Time",
            "sample_interval": 5,
        },
        TemplateKind.IMAGE_SPRITE: {
            "name": "Sprite 160x90",
            "width": 160,
            "height": 90,
            "sample_type": "Time",
            "sample_interval": 2,
            "row_count": 5,
            "column_count": 5,
        },
        TemplateKind.ANIMATED_GRAPHICS: {
            "name": "GIF 320",
            "fps": 10,
            "format": "gif",
            "width": 320,
        },
        TemplateKind.ADAPTIVE: {
            "name": "HLS 2 rungs",
            "format": "HLS",
            "segment_seconds": 6,
            "stream_infos": [
                {
                    "video": {"codec": "h264", "bitrate": 400, "height": 360, "fps": 25},
                    "audio": {"codec": "aac", "bitrate": 64, "sample_rate": 44100},
                },
                {
                    "video": {"codec": "h264", "bitrate": 1800, "height": 720, "fps": 25},
                    "audio": {"codec": "aac", "bitrate": 128, "sample_rate": 44100},
                },
            ],
        },
    }
    return json.dumps(examples.get(kind, {"name": ""}), indent=2)


def template_json(template: Template) -> str:
    return json.dumps(template.model_dump(mode="json", exclude_defaults=True), indent=2)


def parse_json(kind: TemplateKind, text: str) -> Template:
    """The template ``text`` describes; ``FormErrors`` on the ``body`` control, each message
    naming its field."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FormErrors({"body": f"this is not valid JSON: {exc}"}) from None
    if not isinstance(data, dict):
        raise FormErrors({"body": "the template must be a JSON object"})
    try:
        return TEMPLATE_MODELS[kind].model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            where = field_name(err["loc"])
            message = clean_message(str(err["msg"]))
            lines.append(f"{where}: {message}" if where else message)
        raise FormErrors({"body": "; ".join(lines)}) from None
