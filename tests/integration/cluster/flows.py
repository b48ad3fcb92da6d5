"""What the cluster tests send and read: a workflow, its events, the workers' job log."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from tests.integration.cluster.processes import WorkerProcess
from tests.integration.server.media import RAW_180P

EVENT_QUEUE = "cluster-events"

# Two renditions and time-offset screenshots: in a cluster, three independent sub-tasks.
RAW_144P: dict[str, Any] = {
    **RAW_180P,
    "raw_parameter": {
        **RAW_180P["raw_parameter"],
        "video_template": {"codec": "libx264", "height": 144, "bitrate": 200},
    },
    "output_object_path": "{inputName}_144p.{format}",
}
MEDIA_PROCESS_TASK: dict[str, Any] = {
    "transcode_task_set": [RAW_180P, RAW_144P],
    "snapshot_by_time_offset_task_set": [{"definition": 10, "ext_time_offset_set": ["0.5s", "1s"]}],
}


def create_workflow(client: httpx.Client, bucket: str, folder: str) -> int:
    """An enabled workflow on ``bucket``/``folder`` whose events go to ``EVENT_QUEUE``."""
    body = {
        "name": f"cluster-{folder.strip('/')}",
        "trigger": {"bucket": bucket, "dir": folder},
        "media_process_task": MEDIA_PROCESS_TASK,
        "notify": {"type": "queue", "name": EVENT_QUEUE},
        "enabled": True,
    }
    response = client.post("/v1/workflows", json=body)
    assert response.status_code == 201, response.text
    workflow_id: int = response.json()["id"]
    return workflow_id


def receive(client: httpx.Client, queue: str, wait: float) -> list[dict[str, Any]]:
    """Messages of the embedded queue ``queue`` (long-polled for up to ``wait`` s)."""
    body = {"wait_seconds": wait, "max_messages": 10}
    response = client.post(f"/v1/queues/{queue}/messages:receive", json=body)
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


_LINE = re.compile(
    r"^(?P<at>\S+ \S+) INFO reelflow\.executors\.celery\.worker: job (?P<job>\d+) attempt "
    r"(?P<attempt>\d+)(?: \((?P<kind>\w+), task (?P<task>\S+), from (?P<by>\S+)\): running"
    r"|: (?P<end>.+) in)"
)


@dataclass
class JobRun:
    """One job attempt as a worker's log tells it."""

    worker: int
    job_id: str
    attempt: int
    kind: str
    task_id: str
    dispatcher: str
    started: datetime
    ended: datetime | None = None
    outcome: str = ""


def job_runs(workers: list[WorkerProcess]) -> list[JobRun]:
    """Every job attempt the workers started, in the order they started."""
    runs: list[JobRun] = []
    for number, worker in enumerate(workers):
        open_runs: dict[tuple[str, int], JobRun] = {}
        for line in worker.log_path.read_text(errors="replace").splitlines():
            match = _LINE.match(line)
            if match is None:
                continue
            at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f")
            key = (match["job"], int(match["attempt"]))
            if match["end"] is None:
                run = JobRun(number, key[0], key[1], match["kind"], match["task"], match["by"], at)
                open_runs[key] = run
                runs.append(run)
            elif key in open_runs:
                open_runs[key].ended = at
                open_runs[key].outcome = match["end"]
    return sorted(runs, key=lambda run: run.started)


def overlapping(runs: list[JobRun]) -> bool:
    """Whether two of ``runs``, on different workers, were running at the same moment."""
    spans = [(run.worker, run.started, run.ended) for run in runs if run.ended is not None]
    return any(
        w1 != w2 and start1 < end2 and start2 < end1
        for w1, start1, end1 in spans
        for w2, start2, end2 in spans
    )


_FFMPEG = re.compile(r" reelflow\.executors\.jobs: job (?P<job>\d+): one FFmpeg process made "
                     r"sub-task\(s\) (?P<subtasks>[\d,]+) in ")  # fmt: skip


def ffmpeg_runs(workers: list[WorkerProcess]) -> list[tuple[int, str, tuple[int, ...]]]:
    """Every media job's FFmpeg process the workers ran: (worker, job id, its sub-tasks)."""
    found = []
    for number, worker in enumerate(workers):
        for line in worker.log_path.read_text(errors="replace").splitlines():
            if match := _FFMPEG.search(line):
                subtasks = tuple(int(i) for i in match["subtasks"].split(","))
                found.append((number, match["job"], subtasks))
    return found


def source_fetches(workers: list[WorkerProcess], bucket: str, key: str) -> list[int]:
    """The workers (by number, once per fetch) that fetched ``bucket``/``key`` from its store."""
    line = f" reelflow.executors.jobs: source {bucket}/{key}: fetching "
    return [
        number
        for number, worker in enumerate(workers)
        for text in [worker.log_path.read_text(errors="replace")]
        for _ in range(text.count(line))
    ]
