"""``reelflow process INPUT``: one task, in this process, through the same engine."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from reelflow.compat.render import RESULT_MEMBERS, workflow_task
from reelflow.config import Settings
from reelflow.engine.views import SubTaskView, TaskView
from reelflow.errors import ReelflowError, SpecError
from reelflow.media.probe import probe
from reelflow.net.egress import EgressPolicy
from reelflow.presets.default_workflow import default_media_process_task
from reelflow.specs.base import spec_error
from reelflow.specs.media import MediaInfo
from reelflow.specs.requests import TaskRequest, TaskSource
from reelflow.specs.states import SubTaskState, TaskState
from reelflow.specs.tasks import MediaProcessTask
from reelflow.storage.local.backend import LocalStorage
from reelflow.storage.registry import StorageRegistry
from reelflow.storage.urls import UrlSources
from reelflow.wiring.process import KnownProbe, ProcessServices, build_process, file_stamp

OUTPUT_BUCKET = "output"
EXIT_FAILED = 1
EXIT_USAGE = 2
# The task is read again when one of its jobs ends; this often too in case its end is not
# a job's (a lease that ran out), and as often as the bars are redrawn when they are shown.
SAFETY_POLL = 0.5
REDRAW = 0.2

_STATE_STYLE = {
    SubTaskState.PENDING: "dim",
    SubTaskState.RUNNING: "cyan",
    SubTaskState.SUCCEEDED: "green",
    SubTaskState.FAILED: "red",
    SubTaskState.CANCELLED: "yellow",
}


def load_workflow(path: Path) -> MediaProcessTask:
    """A workflow file: a ``MediaProcessTask`` object, or an object holding one under
    ``MediaProcessTask`` / ``media_process_task`` (so a saved workflow works too)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"workflow file {path} does not exist", field="workflow") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"workflow file {path} is not valid JSON: {exc}", field="workflow") from exc
    if isinstance(data, dict):
        data = data.get("MediaProcessTask", data.get("media_process_task", data))
    try:
        return MediaProcessTask.model_validate(data)
    except ValidationError as exc:
        raise spec_error(exc, f"workflow {path}") from exc


def make_source(value: str) -> TaskSource:
    if value.startswith(("http://", "https://")):
        return TaskSource(type="url", url=value)
    return TaskSource(type="file", path=str(Path(value).expanduser().absolute()))


def _quiet_probe(
    source: TaskSource, settings: Settings
) -> tuple[MediaInfo | None, KnownProbe | None]:
    """Probe once to choose the default workflow; a bad source is reported by the task.
    Also returns the probe of a local file for the task to reuse (it probes it again only
    if the file changed meanwhile).

    A URL is fetched through the egress policy first (FFmpeg and PyAV only read local
    files), into a temporary folder removed at once; the task fetches and probes it again."""
    try:
        if source.type != "url":
            stamp = file_stamp(source.path)
            info = probe(source.path, max_pixels=settings.max_input_pixels)
            return info, None if stamp is None else KnownProbe(source.path, stamp, info)
        urls = UrlSources(
            settings.url_max_bytes,
            settings.url_timeout,
            egress=EgressPolicy.from_settings(settings),
        )
        with tempfile.TemporaryDirectory(prefix="reelflow-probe-") as folder:
            copy = urls.fetch(source.url, Path(folder) / "source")
            return probe(copy, max_pixels=settings.max_input_pixels), None
    except ReelflowError:
        return None, None


def scratch_parent(out_dir: Path) -> Path | None:
    """Where the task's scratch folder goes: the system's temporary folder (None), unless
    that is on another file system than ``out_dir``, whose outputs would then be copied
    rather than renamed into place: then a hidden folder in ``out_dir``, removed at the end."""
    try:
        if os.stat(tempfile.gettempdir()).st_dev == os.stat(out_dir).st_dev:
            return None
    except OSError:
        return None
    return out_dir


def _label(sub: SubTaskView) -> str:
    return f"{sub.kind.value} {sub.spec.definition}"


def watch_task(services: ProcessServices, task_id: str, console: Console, show: bool) -> TaskView:
    """Follow the task until it ends (read again as each of its jobs ends), drawing one
    progress bar per sub-task when ``show``."""
    engine = services.engine

    def next_view(wait: float) -> TaskView:
        services.job_ended.wait(wait)
        services.job_ended.clear()  # before reading: a job ending from now on wakes us again
        return engine.task_view(task_id)

    view = engine.task_view(task_id)
    if not show:
        while not view.state.is_terminal:
            view = next_view(SAFETY_POLL)
        return view
    columns = (
        TextColumn("{task.description}", justify="left"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bars:
        ids: dict[int, TaskID] = {
            sub.index: bars.add_task(_label(sub), total=100, state="pending")
            for sub in view.subtasks
        }
        while True:
            for sub in view.subtasks:
                style = _STATE_STYLE[sub.state]
                done = 100.0 if sub.state is SubTaskState.SUCCEEDED else sub.progress
                bars.update(ids[sub.index], completed=done, state=f"[{style}]{sub.state.value}")
            if view.state.is_terminal:
                break
            view = next_view(REDRAW)
    return view


def summary(view: TaskView, console: Console) -> None:
    table = Table(title=f"task {view.id}: {view.state.value}")
    for column in ("#", "sub-task", "status", "outputs / error"):
        table.add_column(column)
    for sub in view.subtasks:
        style = _STATE_STYLE[sub.state]
        detail = _outputs_text(sub.output) if sub.output else f"{sub.err_code}: {sub.message}"
        if sub.quality is not None:
            detail += f" (VMAF {sub.quality.vmaf.mean:.1f}, min {sub.quality.vmaf.min:.1f})"
        table.add_row(str(sub.index), _label(sub), f"[{style}]{sub.api_status}", detail)
    console.print(table)
    if view.err_code:
        console.print(f"[red]{view.err_code}[/red]: {view.message}")


def _outputs_text(output: dict[str, Any]) -> str:
    paths = [output[k] for k in ("Path", "MpdPath", "WebVttPath") if output.get(k)]
    paths += output.get("ImagePathSet", [])
    paths += [p["Path"] for p in output.get("PicInfoSet", [])]
    if len(paths) > 3:
        return f"{paths[0]} ... ({len(paths)} files)"
    return ", ".join(paths)


def with_quality(result: dict[str, Any], view: TaskView) -> dict[str, Any]:
    """``result`` (the compatible ``WorkflowTask``) with a ``Quality`` object beside the
    ``Output`` of each scored rendition: result.json is reelflow's own file, so it may say
    more than the compatible API, which never shows the scores."""
    for item, sub in zip(result["MediaProcessResultSet"], view.subtasks, strict=True):
        body = item.get(RESULT_MEMBERS[sub.kind])
        if sub.quality is not None and body is not None:
            body["Quality"] = sub.quality.to_json()
    return result


def run_process(
    input_value: str,
    workflow: Path | None,
    out_dir: Path,
    *,
    as_json: bool,
    settings: Settings | None = None,
    quality: bool = False,
) -> int:
    """Run one task and write ``result.json``; returns the exit code. ``quality``: score
    each video rendition (a ``Quality`` object beside its ``Output``)."""
    console = Console(stderr=as_json)
    source = make_source(input_value)
    base = settings or Settings()
    known: KnownProbe | None = None
    try:
        if workflow is not None:
            mpt = load_workflow(workflow)
        else:
            info, known = _quiet_probe(source, base)
            mpt = default_media_process_task(info)
        request = TaskRequest(
            source=source, media_process_task=mpt, output_bucket=OUTPUT_BUCKET, quality=quality
        )
    except SpecError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.message}")
        return EXIT_USAGE
    out_dir.mkdir(parents=True, exist_ok=True)
    parent = scratch_parent(out_dir)
    prefix = "reelflow-process-" if parent is None else ".reelflow-process-"
    with tempfile.TemporaryDirectory(prefix=prefix, dir=parent) as scratch:
        # One task, one process: a throwaway database; outputs go to OUTDIR.
        local = base.model_copy(
            update={"data_dir": Path(scratch), "database_url": "", "executor": "local"}
        )
        storages = StorageRegistry([LocalStorage(OUTPUT_BUCKET, out_dir)])
        with build_process(local, storages, known=known) as services:
            try:
                task_id = services.engine.submit(request)
            except SpecError as exc:
                console.print(f"[red]{exc.code}[/red]: {exc.message}")
                return EXIT_USAGE
            services.scheduler.start()
            try:
                view = watch_task(services, task_id, console, show=not as_json)
            except KeyboardInterrupt:
                services.engine.cancel(task_id)
                console.print("[yellow]cancelled[/yellow]")
                return 130
    result = with_quality(workflow_task(view), view)
    (out_dir / "result.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        summary(view, console)
        console.print(f"outputs and result.json in {out_dir}")
    return 0 if view.state is TaskState.SUCCEEDED else EXIT_FAILED


def process_command(
    input: Annotated[str, typer.Argument(help="A media file path or an http(s) URL.")],
    workflow: Annotated[
        Path | None,
        typer.Option("-w", "--workflow", help="A workflow / MediaProcessTask JSON file."),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("-o", "--out", help="Folder for the outputs and result.json.")
    ] = Path("reelflow-output"),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON instead of tables.")
    ] = False,
    quality: Annotated[
        bool,
        typer.Option(
            "--quality", help="Score each video rendition against the source (VMAF, PSNR, SSIM)."
        ),
    ] = False,
) -> None:
    """Process one file through a workflow (default: renditions, screenshots, sprite, GIF)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    raise typer.Exit(run_process(input, workflow, out_dir, as_json=as_json, quality=quality))
