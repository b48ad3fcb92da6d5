"""What a task made, for the CLI: every output object of a task document (``GET /v1/tasks/
{id}``) with its bucket, key, size and where to download it from the server.

Sub-task outputs are in the compatible API's shapes (``reelflow.executors.outputs``):
renditions and animated images have one ``Path`` and a ``Size``; screenshots, samples and
sprite sheets list paths (``PicInfoSet``, ``ImagePathSet``, ``WebVttPath``) without sizes,
which are then read from the server (HEAD).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from reelflow.cli.client import ApiClient


@dataclass(frozen=True)
class TaskOutput:
    """One object a sub-task wrote."""

    subtask: int
    bucket: str
    key: str
    size: int | None  # bytes; None when the result does not say


def _bucket(output: dict[str, Any], fallback: str) -> str:
    for member in ("OutputStorage", "Storage"):
        storage = output.get(member) or {}
        bucket = (storage.get("CosOutputStorage") or {}).get("Bucket")
        if bucket:
            return str(bucket)
    return fallback


def _paths(output: dict[str, Any]) -> Iterator[tuple[str, int | None]]:
    if output.get("Path"):
        size = output.get("Size")
        yield str(output["Path"]), int(size) if isinstance(size, int) else None
    for pic in output.get("PicInfoSet") or []:
        if pic.get("Path"):
            yield str(pic["Path"]), None
    for path in output.get("ImagePathSet") or []:
        yield str(path), None
    if output.get("MpdPath"):  # a CMAF package's MPD, beside its master playlist
        yield str(output["MpdPath"]), None
    if output.get("WebVttPath"):
        yield str(output["WebVttPath"]), None


def task_outputs(doc: dict[str, Any]) -> list[TaskOutput]:
    """Every output of the task's succeeded sub-tasks, in sub-task order."""
    fallback = str((doc.get("input") or {}).get("bucket") or "")
    found: list[TaskOutput] = []
    for sub in doc.get("subtasks") or []:
        output = sub.get("outputs")
        if sub.get("status") != "SUCCESS" or not isinstance(output, dict):
            continue
        bucket = _bucket(output, fallback)
        for path, size in _paths(output):
            found.append(TaskOutput(int(sub["index"]), bucket, path.lstrip("/"), size))
    return found


def _size_text(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # not reached: the loop returns at GiB


def show_outputs(client: ApiClient, doc: dict[str, Any], console: Console) -> None:
    """One line per output: sub-task, bucket/key, size and download URL (never wrapped, so
    each can be copied); sizes the result lacks are read from the server."""
    outputs = task_outputs(doc)
    if not outputs:
        console.print("no outputs", soft_wrap=True)
        return
    console.print(f"{len(outputs)} outputs (sub-task, object, size, download URL):")
    for item in outputs:
        size = item.size if item.size is not None else client.object_size(item.bucket, item.key)
        line = (
            f"  #{item.subtask} {item.bucket}/{item.key}  {_size_text(size)}  "
            f"{client.object_url(item.bucket, item.key)}"
        )
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    console.print(
        f"the URLs need the API key ({client.server.key_from}): "
        "curl -O -H 'Authorization: Bearer <secret_key>' URL",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
