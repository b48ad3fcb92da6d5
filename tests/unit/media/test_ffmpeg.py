"""Where the FFmpeg binary comes from (no FFmpeg run: lookups are faked)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from reelflow.errors import FFmpegNotFound
from reelflow.media.ffmpeg import find_ffmpeg


def fake_which(found: dict[str, str]) -> object:
    return found.get


def fake_imageio(monkeypatch: pytest.MonkeyPatch, exe: str | None) -> None:
    module = types.ModuleType("imageio_ffmpeg")

    def get_ffmpeg_exe() -> str:
        if exe is None:
            raise RuntimeError("no binary for this platform")
        return exe

    module.get_ffmpeg_exe = get_ffmpeg_exe  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", module)


def test_configured_value_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    found = {"/opt/ff/ffmpeg": "/opt/ff/ffmpeg", "ffmpeg": "/usr/bin/ffmpeg"}
    monkeypatch.setattr("shutil.which", fake_which(found))
    assert find_ffmpeg("/opt/ff/ffmpeg") == Path("/opt/ff/ffmpeg")


def test_configured_but_missing_is_an_error_not_a_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("shutil.which", fake_which({"ffmpeg": "/usr/bin/ffmpeg"}))
    with pytest.raises(FFmpegNotFound, match="REELFLOW_FFMPEG='ffmpeg-typo'"):
        find_ffmpeg("ffmpeg-typo")


def test_path_before_the_bundled_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", fake_which({"ffmpeg": "/usr/bin/ffmpeg"}))
    fake_imageio(monkeypatch, "/wheel/ffmpeg")
    assert find_ffmpeg() == Path("/usr/bin/ffmpeg")


def test_bundled_binary_last(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", fake_which({}))
    fake_imageio(monkeypatch, "/wheel/ffmpeg")
    assert find_ffmpeg() == Path("/wheel/ffmpeg")


@pytest.mark.parametrize("installed", [True, False])
def test_nothing_found_names_the_three_places(
    monkeypatch: pytest.MonkeyPatch, installed: bool
) -> None:
    monkeypatch.setattr("shutil.which", fake_which({}))
    if installed:
        fake_imageio(monkeypatch, None)
    else:
        monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import raises ImportError
    with pytest.raises(FFmpegNotFound) as caught:
        find_ffmpeg()
    message = caught.value.message
    assert "REELFLOW_FFMPEG" in message and "PATH" in message and "imageio-ffmpeg" in message
    assert caught.value.code == "ConfigError.FFmpegNotFound"
