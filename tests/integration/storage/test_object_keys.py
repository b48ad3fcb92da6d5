"""Keys that try to leave the bucket or carry control characters get 400 from the object
API, on local and S3 buckets alike, and nothing changes on disk."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelflow.config import Settings
from reelflow.wiring.http import create_app
from reelflow.wiring.server import ServerServices, build_server
from tests.unit.api.conftest import TestClient

pytestmark = pytest.mark.integration

BAD_KEYS = [
    "%2E%2E/escape.mp4",
    "up/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "up/%2E/a.mp4",
    "up//a.mp4",
    "%2Fabsolute/..%2Fa.mp4",
    "up/a%00b.mp4",
    "up/a%0Ab.mp4",
    "up/a%0Db.mp4",
    "up/a%1Bb.mp4",
    "up/a%7Fb.mp4",
    "up%5C..%5Ca.mp4",
    "C:%5Cwindows.mp4",
    "up/.a.mp4.reelflow-tmp-1234",
    "up/",
]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root`` except the database, with size and mtime."""
    found = {}
    for current, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(current) / name
            if name.startswith("reelflow.db") or path == root / "data":
                continue  # the database (and so its folder) changes with every request
            info = path.lstat()
            found[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return found


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ServerServices]:
    with build_server(Settings(data_dir=tmp_path / "data")) as rt:
        rt.storages.get("media").put_bytes("up/keep.mp4", b"keep")
        yield rt


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_400_and_touch_nothing(
    runtime: ServerServices, tmp_path: Path, key: str
) -> None:
    assert runtime.admin_key is not None
    headers = {"Authorization": f"Bearer {runtime.admin_key.secret_key}"}
    url = f"/v1/buckets/media/objects/{key}"
    with TestClient(create_app(runtime)) as client:
        before = snapshot(tmp_path)
        answers = [
            client.put(url, content=b"payload", headers=headers),
            client.get(url, headers=headers),
            client.head(url, headers=headers),
            client.delete(url, headers=headers),
        ]
    for answer in answers:
        assert answer.status_code == 400, (answer.request.method, answer.text)
        if answer.request.method != "HEAD":
            assert answer.json()["error"]["code"] == "InvalidParameterValue.Key"
        assert snapshot(tmp_path) == before
    assert not (tmp_path / "escape.mp4").exists()
    assert runtime.storages.get("media").read_bytes("up/keep.mp4") == b"keep"
