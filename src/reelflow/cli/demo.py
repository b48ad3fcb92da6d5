"""``reelflow demo``: make a sample clip with FFmpeg's test sources and process it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated

import typer

from reelflow.cli.process import run_process
from reelflow.cli.settings import settings_or_exit
from reelflow.media.ffmpeg import find_ffmpeg


def make_sample(ffmpeg: Path, path: Path, *, seconds: int = 8) -> None:
    """A 1280x720 25 fps H.264 clip with a 440 Hz tone: small, made here, never committed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(ffmpeg),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=1280x720:rate=25:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        ],
        check=True,
    )


def demo_command(
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Where to put everything.")] = Path(
        "demo-output"
    ),
) -> None:
    """Generate a sample clip and run it through the default workflow."""
    settings = settings_or_exit()
    sample = out_dir / "sample.mp4"
    typer.echo(f"making a sample clip at {sample}")
    make_sample(find_ffmpeg(settings.ffmpeg), sample)
    code = run_process(str(sample), None, out_dir / "outputs", as_json=False, settings=settings)
    raise typer.Exit(code)
