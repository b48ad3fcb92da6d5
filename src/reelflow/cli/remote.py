"""``reelflow submit`` and ``reelflow task``: clients of a running server."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from reelflow.cli.client import ApiClient, DataDirOption, KeyOption, UrlOption, find_server
from reelflow.cli.outputs import show_outputs
from reelflow.errors import ReelflowError
from reelflow.media.probe import probe
from reelflow.presets.default_workflow import default_media_process_task

UPLOAD_BUCKET = "media"
_STYLE = {"SUCCESS": "green", "FAIL": "red", "PROCESSING": "cyan", "WAITING": "dim"}


def _fail(exc: ReelflowError) -> typer.Exit:
    Console(stderr=True).print(f"[red]{exc.code}[/red]: {exc.message}")
    return typer.Exit(1)


def _finished(doc: dict[str, Any]) -> bool:
    return bool(doc["state"] == "FINISH")


def watch(client: ApiClient, task_id: str, console: Console) -> dict[str, Any]:
    """Live progress bars until the task finishes; returns the final document."""
    doc = client.task(task_id)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[status]}"),
        console=console,
    ) as bars:
        ids: dict[int, TaskID] = {}
        while True:
            for sub in doc["subtasks"]:
                label = f"{sub['kind']} {sub['definition']}"
                if sub["index"] not in ids:
                    ids[sub["index"]] = bars.add_task(label, total=100, status="")
                done = 100.0 if sub["status"] == "SUCCESS" else float(sub["progress"])
                style = _STYLE.get(sub["status"], "")
                status = f"[{style}]{sub['status']}"
                bars.update(ids[sub["index"]], completed=done, status=status)
            if _finished(doc):
                return doc
            time.sleep(0.5)
            doc = client.task(task_id)


def show(doc: dict[str, Any], console: Console, client: ApiClient) -> None:
    """The task's sub-tasks, its error if any, and every output it made."""
    table = Table(title=f"task {doc['id']}: {doc['state']} ({doc['phase']})")
    for column in ("#", "sub-task", "status", "progress", "error"):
        table.add_column(column)
    for sub in doc["subtasks"]:
        style = _STYLE.get(sub["status"], "")
        error = f"{sub['err_code']}: {sub['message']}" if sub["err_code"] else ""
        table.add_row(
            str(sub["index"]),
            f"{sub['kind']} {sub['definition']}",
            f"[{style}]{sub['status']}",
            f"{sub['progress']:.0f}%",
            error,
        )
    console.print(table)
    if doc.get("err_code"):
        console.print(f"[red]{doc['err_code']}[/red]: {doc['message']}")
    show_outputs(client, doc, console)


def submit_command(
    source: Annotated[str, typer.Argument(help="A local media file (uploaded first) or URL.")],
    workflow: Annotated[
        int | None, typer.Option("-w", "--workflow", help="Run this workflow id.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait and show progress.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the task document.")] = False,
    url: UrlOption = None,
    key: KeyOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Submit one file to a running server (the default workflow unless -w is given)."""
    console = Console(stderr=as_json)
    try:
        client = ApiClient(find_server(url, key, data_dir))
        body: dict[str, Any] = {}
        info = None
        if source.startswith(("http://", "https://")):
            body["input"] = {"url": source}
            body["output"] = {"bucket": UPLOAD_BUCKET}
        else:
            path = Path(source)
            if not path.is_file():
                console.print(f"[red]InvalidParameterValue.Input[/red]: no such file: {source}")
                raise typer.Exit(2)
            object_key = f"uploads/{uuid.uuid4().hex[:8]}/{path.name}"
            client.upload(UPLOAD_BUCKET, object_key, path)
            body["input"] = {"bucket": UPLOAD_BUCKET, "key": object_key}
            try:
                info = probe(path)
            except ReelflowError:
                info = None  # the server reports the source's problem on the task
        if workflow is not None:
            body["workflow_id"] = workflow
        else:
            body["media_process_task"] = default_media_process_task(info).to_json()
        task_id = client.submit(body)
        if not (wait or as_json):
            console.print(task_id)
            return
        doc = watch(client, task_id, console) if wait else client.task(task_id)
        if as_json:
            sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        else:
            show(doc, console, client)
    except ReelflowError as exc:
        raise _fail(exc) from exc
    if wait and doc["phase"] != "succeeded":
        raise typer.Exit(1)


def task_command(
    task_id: Annotated[str, typer.Argument(help="The task id.")],
    watch_it: Annotated[bool, typer.Option("--watch", help="Follow live progress.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the task document.")] = False,
    url: UrlOption = None,
    key: KeyOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Show one task of a running server."""
    console = Console(stderr=as_json)
    try:
        client = ApiClient(find_server(url, key, data_dir))
        doc = watch(client, task_id, console) if watch_it else client.task(task_id)
        if as_json:
            sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        else:
            show(doc, console, client)
    except ReelflowError as exc:
        raise _fail(exc) from exc
