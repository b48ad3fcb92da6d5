"""``reelflow demo``: make a sample clip with FFmpeg's test sources and process it.

It runs the default workflow with one change: the image sprite uses a demo template whose
grid the clip fills (10 cells, one every 10% of the duration), where the preset sprite
(a cell every 10 s in a 10 x 10 grid) would show one thumbnail on a mostly black sheet for a
short clip. It ends by listing every file made, with its size, and where it is.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from reelflow.cli.outputs import task_outputs
from reelflow.cli.process import summary, watch_task
from reelflow.cli.settings import settings_or_exit
from reelflow.compat.render import workflow_task
from reelflow.config import Settings
from reelflow.engine.views import TaskView
from reelflow.errors import ReelflowError
from reelflow.media.ffmpeg import find_ffmpeg
from reelflow.media.probe import probe
from reelflow.presets.default_workflow import default_media_process_task
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.states import TaskState
from reelflow.specs.tasks import ImageSpriteTaskInput
from reelflow.specs.templates import ImageSpriteTemplate, TemplateKind
from reelflow.storage.local.backend import LocalStorage
from reelflow.storage.registry import StorageRegistry
from reelflow.wiring.process import build_process

DEMO_BUCKET = "demo"
SAMPLE_NAME = "sample.mp4"
OUTPUT_DIR = "outputs/"
# Percent sampling makes the cell count independent of the clip's length: 10 cells.
DEMO_SPRITE = ImageSpriteTemplate(
    name="Demo-sprite-5x2",
    comment="JPG, 256x144 cells, 5 x 2 per sheet, every 10% of the duration",
    format="jpg",
    width=256,
    height=144,
    resolution_adaptive="close",
    sample_type="Percent",
    sample_interval=10,
    row_count=2,
    column_count=5,
)


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


def _size_text(size: int) -> str:
    return f"{size / 1024:.0f} KiB" if size >= 1024 else f"{size} B"


def made(view: TaskView, out_dir: Path, console: Console) -> None:
    """Every file the task wrote, by sub-task, with its size and path."""
    doc: dict[str, Any] = {
        "input": {"bucket": DEMO_BUCKET},
        "subtasks": [
            {"index": s.index, "status": s.api_status, "outputs": s.output} for s in view.subtasks
        ],
    }
    labels = {s.index: f"{s.kind.value} {s.spec.definition}" for s in view.subtasks}
    outputs = task_outputs(doc)
    console.print(f"\nmade {len(outputs)} files in {(out_dir / OUTPUT_DIR).resolve()}:")
    for item in outputs:
        path = out_dir / item.key
        size = path.stat().st_size if path.exists() else 0
        line = f"  {labels[item.subtask]:<28} {path}  {_size_text(size)}"
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    console.print(
        f"source: {out_dir / SAMPLE_NAME}; results in the compatible API's shape: "
        f"{out_dir / 'result.json'}",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


def run_demo(sample: Path, out_dir: Path, settings: Settings, console: Console) -> int:
    """Process ``sample`` (inside ``out_dir``) with the demo workflow; returns the exit code."""
    mpt = default_media_process_task(probe(sample))
    with tempfile.TemporaryDirectory(prefix="reelflow-demo-") as scratch:
        local = settings.model_copy(
            update={"data_dir": Path(scratch), "database_url": "", "executor": "local"}
        )
        storages = StorageRegistry([LocalStorage(DEMO_BUCKET, out_dir)])
        with build_process(local, storages) as services:
            admin = services.admin_account.id
            sprite = services.templates.create(admin, TemplateKind.IMAGE_SPRITE, DEMO_SPRITE)
            sprites = [ImageSpriteTaskInput(definition=sprite.definition)]
            mpt = mpt.model_copy(update={"image_sprite_task_set": sprites})
            request = TaskRequest(
                source=TaskSource(type="bucket", bucket=DEMO_BUCKET, key=sample.name),
                media_process_task=mpt,
                output_dir=OUTPUT_DIR,
            )
            task_id = services.engine.submit(request, account_id=admin)
            services.scheduler.start()
            view = watch_task(services, task_id, console, show=True)
    (out_dir / "result.json").write_text(
        json.dumps(workflow_task(view), indent=2, ensure_ascii=False)
    )
    summary(view, console)
    made(view, out_dir, console)
    return 0 if view.state is TaskState.SUCCEEDED else 1


def demo_command(
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Where to put everything.")] = Path(
        "demo-output"
    ),
) -> None:
    """Generate a sample clip and run it through the default workflow (with a sprite sheet
    the short clip fills); list what was made and where."""
    settings = settings_or_exit()
    console = Console()
    sample = out_dir / SAMPLE_NAME
    typer.echo(f"making a sample clip at {sample}")
    try:
        make_sample(find_ffmpeg(settings.ffmpeg), sample)
        code = run_demo(sample, out_dir, settings, console)
    except ReelflowError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(1) from exc
    raise typer.Exit(code)
