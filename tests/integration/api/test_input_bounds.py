"""Sources too large to process are refused by the probe, through the REST door, without
the server process decoding them: a huge PNG and a tiny PNG that declares a huge size."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelflow.config import Settings
from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices, build_server
from tests.clips import run_ffmpeg
from tests.servers import PeakRss
from tests.unit.api.conftest import TestClient

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
SPEC = {"transcode_task_set": [{"definition": 100010}]}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ServerServices]:
    settings = Settings(data_dir=tmp_path / "data", video_preset="ultrafast", workers=1)
    with build_server(settings) as rt:
        yield rt


def png_declaring(width: int, height: int) -> bytes:
    """A valid-looking PNG whose header states ``width``x``height`` over a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 300))
        + chunk(b"IEND", b"")
    )


def run_task(
    runtime: ServerServices, client: TestClient, key: str, data: bytes
) -> dict[str, object]:
    assert runtime.admin_key is not None
    headers = {"Authorization": f"Bearer {runtime.admin_key.secret_key}"}
    put = client.put(f"/v1/buckets/media/objects/{key}", content=data, headers=headers)
    assert put.status_code == 200, put.text
    body = {
        "input": {"bucket": "media", "key": key},
        "media_process_task": SPEC,
        "output": {"dir": "/out/"},
    }
    created = client.post("/v1/tasks", json=body, headers=headers)
    assert created.status_code == 201, created.text
    task_id = created.json()["task_id"]
    assert runtime.scheduler.run_until(
        lambda: runtime.engine.task_view(task_id).state.is_terminal, timeout=60
    )
    doc: dict[str, object] = client.get(f"/v1/tasks/{task_id}", headers=headers).json()
    return doc


def test_a_16000x16000_png_fails_too_large_without_decoding_in_the_server(
    runtime: ServerServices, tmp_path: Path
) -> None:
    png = tmp_path / "huge.png"
    run_ffmpeg(["-f", "lavfi", "-i", "color=s=16000x16000", "-frames:v", "1", str(png)])
    with TestClient(create_app(runtime)) as client, PeakRss() as memory:
        doc = run_task(runtime, client, "in/huge.png", png.read_bytes())
    assert (doc["state"], doc["err_code"]) == ("FINISH", "InvalidInput.TooLarge"), doc
    # Decoding one frame of it takes 768 MB; reading its header takes nothing.
    assert memory.growth < 100 * MiB


def test_a_png_declaring_30000x30000_fails_too_large_not_internal(runtime: ServerServices) -> None:
    with TestClient(create_app(runtime)) as client:
        doc = run_task(runtime, client, "in/declared.png", png_declaring(30000, 30000))
    assert (doc["state"], doc["err_code"]) == ("FINISH", "InvalidInput.TooLarge"), doc


def test_the_limit_is_a_setting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", max_input_pixels=320 * 240 - 1)
    with build_server(settings) as runtime, TestClient(create_app(runtime)) as client:
        doc = run_task(runtime, client, "in/small.png", png_declaring(320, 240))
    assert (doc["state"], doc["err_code"]) == ("FINISH", "InvalidInput.TooLarge"), doc
    assert "320x240" in str(doc["message"])


def test_a_video_over_the_limit_fails_too_large(runtime: ServerServices, tmp_path: Path) -> None:
    # Motion JPEG in Matroska: the container states 9000x9000; decoding a frame is refused
    # in-process (over the decode budget), so the size must come from the header.
    clip = tmp_path / "huge.mkv"
    run_ffmpeg(["-f", "lavfi", "-i", "color=s=9000x9000", "-frames:v", "1", "-c:v", "mjpeg",
                "-pix_fmt", "yuvj420p", str(clip)])  # fmt: skip
    with TestClient(create_app(runtime)) as client, PeakRss() as memory:
        doc = run_task(runtime, client, "in/huge.mkv", clip.read_bytes())
    assert (doc["state"], doc["err_code"]) == ("FINISH", "InvalidInput.TooLarge"), doc
    assert "9000x9000" in str(doc["message"])
    assert memory.growth < 100 * MiB


def test_a_refused_source_is_named_as_the_account_named_it(
    runtime: ServerServices, tmp_path: Path
) -> None:
    # The message is the task's: it names the bucket and key, not where the server keeps them.
    with TestClient(create_app(runtime)) as client:
        noise = run_task(runtime, client, "in/noise.mp4", bytes(range(256)) * 16)
        large = run_task(runtime, client, "in/large.png", png_declaring(30000, 30000))
    for doc in (noise, large):
        assert str(doc["message"]).startswith("media/in/"), doc
        assert str(runtime.settings.data_dir) not in str(doc["message"]), doc
    assert noise["err_code"] == "InvalidInput.NotMedia"
