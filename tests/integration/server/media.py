"""Request bodies and output checks shared by the server tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import httpx

# A 180p H.264 rendition as an inline template (definition 0), named so it cannot clash
# with the preset rendition's default name.
RAW_180P: dict[str, Any] = {
    "definition": 0,
    "raw_parameter": {
        "container": "mp4",
        "video_template": {"codec": "libx264", "height": 180, "bitrate": 300},
        "audio_template": {"codec": "aac", "bitrate": 64, "sample_rate": 44100},
    },
    "output_object_path": "{inputName}_180p.{format}",
}

# A 360p rendition at x264's "slow" preset: about 5 s of encoding for a 20 s 640x360 clip
# on two cores, so a test that interrupts the job has seconds to do it, not a fraction.
SLOW_360P: dict[str, Any] = {
    "definition": 0,
    "raw_parameter": {
        "container": "mp4",
        "video_template": {"codec": "libx264", "height": 360, "bitrate": 400, "preset": "slow"},
        "audio_template": {"codec": "aac", "bitrate": 64, "sample_rate": 44100},
    },
}
LONG_CLIP: dict[str, Any] = {"duration": 20.0, "width": 640, "height": 360}


def upload(client: httpx.Client, key: str, source: Path) -> dict[str, Any]:
    """PUT ``source`` to the bucket ``media`` under ``key``; returns the object document."""
    with source.open("rb") as handle:
        response = client.put(f"/v1/buckets/media/objects/{key}", content=handle)
    assert response.status_code == 200, response.text
    info: dict[str, Any] = response.json()
    return info


def submit(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post("/v1/tasks", json=body)
    assert response.status_code == 201, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def head(client: httpx.Client, path: str) -> httpx.Headers:
    """HEAD an output by its ``Path`` (``/key`` in the bucket ``media``); asserts it exists."""
    response = client.head(f"/v1/buckets/media/objects{path}")
    assert response.status_code == 200, (path, response.status_code)
    return response.headers


def download(client: httpx.Client, path: str, into: Path) -> Path:
    target = into / path.rsplit("/", 1)[-1]
    with client.stream("GET", f"/v1/buckets/media/objects{path}") as response:
        assert response.status_code == 200, path
        with target.open("wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
    return target


def video_shape(path: Path) -> tuple[int, float]:
    """(height, duration in seconds) of a video file, read with PyAV; decodes every frame,
    so a truncated file shows up as a short duration or a decoding error."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        height = stream.codec_context.height
        last = 0.0
        for frame in container.decode(stream):
            if frame.time is not None:
                last = max(last, frame.time)
        return height, last + 1.0 / float(stream.average_rate or 25)
