from __future__ import annotations

from pathlib import Path

import pytest

from reelflow.errors import FFmpegFailed, FFmpegNotFound
from reelflow.media.ffmpeg import ffmpeg_version

pytestmark = pytest.mark.integration


def test_version_of_the_real_binary(ffmpeg_bin: Path) -> None:
    version = ffmpeg_version(ffmpeg_bin)
    assert version and " " not in version


def test_version_of_something_else(tmp_path: Path) -> None:
    impostor = tmp_path / "impostor"
    impostor.write_text("#!/bin/sh\necho hello\n")
    impostor.chmod(0o755)
    with pytest.raises(FFmpegFailed):
        ffmpeg_version(impostor)
    with pytest.raises(FFmpegNotFound):
        ffmpeg_version(tmp_path / "missing")
