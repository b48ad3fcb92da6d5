"""Locate the FFmpeg binary and report its version.

Nothing is looked up at import time: the caller (start-up code holding the settings)
asks once and passes the resulting path down.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from reelflow.errors import FFmpegFailed, FFmpegNotFound

_VERSION_TIMEOUT = 10.0
_VERSION_LINE = re.compile(r"^ffmpeg version (\S+)")


def find_ffmpeg(configured: str = "") -> Path:
    """Return the FFmpeg executable to use.

    Looks in this order: ``configured`` (the ``REELFLOW_FFMPEG`` setting; a command name
    on ``PATH`` or a path), then ``ffmpeg`` on ``PATH``, then the binary shipped in the
    ``imageio-ffmpeg`` wheel. An explicitly configured value that does not resolve is an
    error rather than a silent fallback, so a typo in the settings cannot switch builds.

    Raises:
        FFmpegNotFound: nothing usable was found; the message names all three places.
    """
    if configured:
        found = shutil.which(os.path.expanduser(configured))
        if found is None:
            raise FFmpegNotFound(
                f"REELFLOW_FFMPEG={configured!r} is not an executable file nor a command "
                "on PATH; fix the setting, or unset it to use 'ffmpeg' on PATH or the "
                "binary of the imageio-ffmpeg package"
            )
        return Path(found)
    on_path = shutil.which("ffmpeg")
    if on_path is not None:
        return Path(on_path)
    bundled = _imageio_ffmpeg_exe()
    if bundled is not None:
        return bundled
    raise FFmpegNotFound(
        "no FFmpeg binary found: set REELFLOW_FFMPEG to its path, put 'ffmpeg' on PATH, "
        "or install the imageio-ffmpeg package (it ships a static build)"
    )


def ffmpeg_version(path: Path) -> str:
    """Return the version token of ``path -version`` (e.g. ``n9.0.2-17-g2a571b6068``).

    Raises:
        FFmpegNotFound: ``path`` cannot be executed.
        FFmpegFailed: it ran but did not answer like FFmpeg.
    """
    try:
        done = subprocess.run(
            [str(path), "-hide_banner", "-version"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=_VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FFmpegNotFound(f"cannot run {path} -version: {exc}") from exc
    first_line = done.stdout.decode("utf-8", "replace").partition("\n")[0]
    match = _VERSION_LINE.match(first_line)
    if done.returncode != 0 or match is None:
        tail = done.stderr.decode("utf-8", "replace")[-2000:]
        raise FFmpegFailed(
            f"{path} -version did not report an FFmpeg version (exit code {done.returncode})",
            stderr_tail=tail,
        )
    return match.group(1)


def _imageio_ffmpeg_exe() -> Path | None:
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:  # the wheel has no binary for this platform
        return None
    return Path(exe)
