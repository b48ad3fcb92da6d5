"""What a finished sub-task produced, as things a page can show: a player for renditions
(a stream player for an HLS playlist or a DASH MPD), images for screenshots, the sprite and
the animated image, links for the rest.

Outputs are read from the sub-task's result (the compatible API's shapes, see
``reelflow.executors.outputs``): each names its bucket and ``/key`` paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reelflow.console.formatting import seconds_text
from reelflow.console.pages import object_url
from reelflow.console.players import stream_format
from reelflow.engine.views import SubTaskView
from reelflow.specs.states import SubTaskState
from reelflow.specs.subtasks import SubTaskKind

PreviewKind = Literal["stream", "video", "audio", "image", "link"]

AUDIO_CONTAINERS = frozenset({"mp3", "m4a", "aac", "ogg", "flac", "wav", "opus"})
MAX_IMAGES = 24  # sampled screenshots can be many; the rest are a click away in the bucket


@dataclass(frozen=True)
class Preview:
    kind: PreviewKind
    bucket: str
    key: str
    label: str

    @property
    def url(self) -> str:
        return object_url(self.bucket, self.key)

    @property
    def download_url(self) -> str:
        return object_url(self.bucket, self.key, download=True)

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def stream(self) -> str | None:
        """``"hls"`` or ``"dash"`` for a stream preview."""
        return stream_format(self.key) if self.kind == "stream" else None


def _bucket(output: dict[str, Any], member: str, fallback: str) -> str:
    storage = output.get(member) or {}
    cos = storage.get("CosOutputStorage") or {}
    return str(cos.get("Bucket") or fallback)


def _key(path: object) -> str:
    return str(path or "").lstrip("/")


def _transcode(output: dict[str, Any], bucket: str) -> list[Preview]:
    key = _key(output.get("Path"))
    if not key:
        return []
    container = str(output.get("Container") or key.rsplit(".", 1)[-1]).lower()
    width, height = output.get("Width") or 0, output.get("Height") or 0
    label = f"{width}x{height}" if width and height else container
    if stream_format(key) == "hls":
        return [Preview("stream", bucket, key, f"HLS · {label}")]
    audio_only = key.rsplit(".", 1)[-1] in AUDIO_CONTAINERS or not (width and height)
    return [Preview("audio" if audio_only else "video", bucket, key, label)]


def _package(output: dict[str, Any], bucket: str) -> list[Preview]:
    """A ladder's entry points (the master playlist; the MPD of a DASH or CMAF package), each
    a stream player labelled with the package's rung heights and the stream check's verdict."""
    renditions = output.get("Renditions") or []
    heights = sorted(
        {int(r["Height"]) for r in renditions if r.get("Kind") == "video" and r.get("Height")}
    )
    check = output.get("StreamCheck") or {}
    verdict = "check passed" if check.get("Passed") else "check failed"
    about = [", ".join(f"{h}p" for h in heights)] if heights else []
    found = []
    for member in ("Path", "MpdPath"):
        key = _key(output.get(member))
        kind = stream_format(key)
        if kind is not None:
            label = " · ".join(["HLS" if kind == "hls" else "DASH", *about, verdict])
            found.append(Preview("stream", bucket, key, label))
    return found


def _at(offset: object) -> str:
    if isinstance(offset, int | float):
        return f"at {seconds_text(float(offset))}"
    return "screenshot"


def _images(paths: list[object], bucket: str, label: str) -> list[Preview]:
    return [
        Preview("image", bucket, _key(path), f"{label} {i + 1}")
        for i, path in enumerate(paths[:MAX_IMAGES])
        if _key(path)
    ]


def previews(sub: SubTaskView) -> list[Preview]:
    """The sub-task's outputs, in the order it made them (none unless it succeeded)."""
    output = sub.output
    if sub.state is not SubTaskState.SUCCEEDED or not output:
        return []
    fallback = sub.spec.output_bucket
    if sub.kind is SubTaskKind.TRANSCODE:
        return _transcode(output, _bucket(output, "OutputStorage", fallback))
    bucket = _bucket(output, "Storage", fallback)
    if sub.kind is SubTaskKind.SNAPSHOT:
        pics = output.get("PicInfoSet") or []
        return [
            Preview("image", bucket, _key(pic.get("Path")), _at(pic.get("TimeOffset")))
            for pic in pics[:MAX_IMAGES]
            if _key(pic.get("Path"))
        ]
    if sub.kind is SubTaskKind.SAMPLE_SNAPSHOT:
        return _images(list(output.get("ImagePathSet") or []), bucket, "sample")
    if sub.kind is SubTaskKind.IMAGE_SPRITE:
        found = _images(list(output.get("ImagePathSet") or []), bucket, "sheet")
        vtt = _key(output.get("WebVttPath"))
        if vtt:
            found.append(Preview("link", bucket, vtt, "WebVTT index"))
        return found
    if sub.kind is SubTaskKind.ADAPTIVE:
        return _package(output, bucket)
    if sub.kind is SubTaskKind.ANIMATED_GRAPHICS:
        key = _key(output.get("Path"))
        return [Preview("image", bucket, key, str(output.get("Container") or "gif"))] if key else []
    return _stream(output, bucket)


def _stream(output: dict[str, Any], bucket: str) -> list[Preview]:
    """A kind whose output is a manifest (an adaptive-streaming ladder's ``Path``)."""
    key = _key(output.get("Path"))
    found = stream_format(key)
    if found is None:
        return []
    return [Preview("stream", bucket, key, "HLS" if found == "hls" else "DASH")]
