"""``reelflow events listen QUEUE``: tail an embedded notification queue of a running
server, print each event and acknowledge it. Ctrl-C stops; a message being printed when
it does is not acknowledged and comes back after its visibility timeout."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.console import Console

from reelflow.cli.client import (
    ApiClient,
    ApiError,
    DataDirOption,
    KeyOption,
    UrlOption,
    find_server,
)
from reelflow.errors import ReelflowError

events_app = typer.Typer(help="Event notifications of a running server.", no_args_is_help=True)
WAIT_SECONDS = 20


def summary(body: dict[str, Any]) -> str:
    """One line for an event: task, kind, status and how its sub-tasks ended."""
    # A schedule's task (ScheduleTaskEvent) lists its results per activity.
    task = body.get("WorkflowTaskEvent") or body.get("ScheduleTaskEvent") or {}
    results = task.get("MediaProcessResultSet") or [
        {"Type": r.get("ActivityType"), **(r.get("ActivityResItem") or {})}
        for r in task.get("ActivityResultSet") or []
    ]
    states: list[str] = []
    failures: list[str] = []
    for result in results:
        member: dict[str, Any] = next((v for k, v in result.items() if k != "Type" and v), {})
        status = str(member.get("Status", "?"))
        states.append(status)
        if status == "FAIL":
            failures.append(
                f"{result.get('Type')}: {member.get('ErrCodeExt') or member.get('Message')}"
            )
    ok = states.count("SUCCESS")
    line = (
        f"{body.get('EventId', '?')} #{body.get('Sequence', '?')} {task.get('TaskId', '?')} "
        f"{body.get('EventKind', 'task.finished')} {task.get('Status', '?')} "
        f"{ok}/{len(states)} sub-tasks succeeded"
    )
    if body.get("SubTaskIndex") is not None:
        node = f"sub-task {body['SubTaskIndex']}"
        if body.get("SubTaskId"):
            node += f" {body['SubTaskId']!r}"
        if body.get("SubTaskInput"):
            node += f" reading {body['SubTaskInput']!r}"
        vmaf = (body.get("Quality") or {}).get("Vmaf") or {}
        if vmaf:
            node += f", VMAF {vmaf.get('Mean', 0):.1f} min {vmaf.get('Min', 0):.1f}"
        line += f" ({node})"
    if task.get("ErrCodeExt"):
        line += f"; task error {task['ErrCodeExt']}: {task.get('Message', '')}"
    if failures:
        line += "; " + "; ".join(failures)
    return line


def listen(
    client: ApiClient, queue: str, *, as_json: bool, count: int | None, visibility: int
) -> int:
    """Receive, print and acknowledge until ``count`` events were printed (or forever)."""
    path = f"/v1/queues/{quote(queue, safe='')}/messages"
    seen = 0
    while count is None or seen < count:
        wanted = 10 if count is None else min(10, count - seen)
        answer = client.request(
            "POST",
            f"{path}:receive",
            json={
                "wait_seconds": WAIT_SECONDS,
                "visibility_timeout": visibility,
                "max_messages": wanted,
            },
        )
        for message in answer["messages"]:
            body = message["body"]
            text = json.dumps(body, ensure_ascii=False) if as_json else summary(body)
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
            try:
                client.request("DELETE", f"{path}/{quote(message['receipt'], safe='')}")
            except ApiError as exc:
                if exc.status != 404:
                    raise
                # Its visibility timeout ended first: it will come again, same EventId.
                Console(stderr=True).print(f"[yellow]not acknowledged[/yellow]: {exc.message}")
            seen += 1
    return seen


@events_app.command("listen")
def listen_command(
    queue: Annotated[str, typer.Argument(help="The queue's name (a target's `name`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print each event's full JSON.")] = False,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Stop after this many events.")
    ] = None,
    visibility: Annotated[
        int,
        typer.Option(
            "--visibility", min=1, max=43_200, help="Seconds an event stays hidden until acked."
        ),
    ] = 30,
    url: UrlOption = None,
    key: KeyOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print each event of QUEUE as it arrives and acknowledge it (Ctrl-C stops)."""
    client: ApiClient | None = None
    try:
        client = ApiClient(find_server(url, key, data_dir), timeout=WAIT_SECONDS + 15.0)
        listen(client, queue, as_json=as_json, count=count, visibility=visibility)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except ReelflowError as exc:
        Console(stderr=True).print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        if client is not None:
            client.close()
