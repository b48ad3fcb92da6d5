"""The whole path on a real cluster, on each broker: an upload to an S3 bucket fires a
workflow; its sub-tasks run as one fused job (one fetch of the source, one FFmpeg process),
as on one machine, on one of two ``reelflow worker`` processes; the outputs land in S3; the
finish event reaches the queue. With ``REELFLOW_CLUSTER_FANOUT`` the sub-tasks fan out as
separate jobs that the two workers run at the same time."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from tests.clips import ClipCache
from tests.integration.cluster.conftest import MakeCluster
from tests.integration.cluster.flows import (
    EVENT_QUEUE,
    create_workflow,
    ffmpeg_runs,
    job_runs,
    overlapping,
    receive,
    source_fetches,
)
from tests.integration.cluster.processes import Cluster, WorkerProcess
from tests.integration.server.media import upload
from tests.s3server import MotoServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def run_workflow(
    cluster: Cluster, moto: MotoServer, clips: ClipCache, tmp_path: Path
) -> tuple[str, list[WorkerProcess]]:
    """Upload a clip that fires the workflow; check its event and its outputs in S3 (as a
    user would); returns the task's id and the two workers."""
    bucket = cluster.s3_buckets["media"]
    server = cluster.serve()
    workers = [cluster.worker(), cluster.worker()]
    with server.client() as client:
        create_workflow(client, "media", "in/")
        upload(client, "in/clip.mp4", clips(duration=3.0, width=640, height=360))
        messages = receive(client, EVENT_QUEUE, wait=20)
        assert len(messages) == 1, cluster.logs()
        event = messages[0]["body"]["WorkflowTaskEvent"]
        task_id = event["TaskId"]
        doc = client.get(f"/v1/tasks/{task_id}").json()
        assert receive(client, EVENT_QUEUE, wait=1) == []  # one event, once

    assert (event["Status"], event["ErrCode"]) == ("FINISH", 0), event
    assert (doc["state"], doc["phase"]) == ("FINISH", "succeeded"), doc
    results = event["MediaProcessResultSet"]
    assert sorted(r["Type"] for r in results) == ["SnapshotByTimeOffset", "Transcode", "Transcode"]
    # Each sub-task keeps its own status and output.
    assert [r["TranscodeTask"]["Status"] for r in results if r["Type"] == "Transcode"] == [
        "SUCCESS",
        "SUCCESS",
    ]
    paths = [r["TranscodeTask"]["Output"]["Path"] for r in results if r["Type"] == "Transcode"]
    snapshots = [r for r in results if r["Type"] == "SnapshotByTimeOffset"]
    pictures = [p["Path"] for p in snapshots[0]["SnapshotByTimeOffsetTask"]["Output"]["PicInfoSet"]]
    assert len(pictures) == 2

    # Every output is an object of the S3 bucket, and a whole one.
    s3 = moto.client()
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {p.lstrip("/") for p in paths + pictures} <= keys
    heights = set()
    for path in paths:
        local = tmp_path / path.rsplit("/", 1)[-1]
        s3.download_file(bucket, path.lstrip("/"), str(local))
        with av.open(str(local)) as container:
            heights.add(container.streams.video[0].codec_context.height)
            assert container.streams.video[0].frames == 75  # 3 s at 25 fps, whole
    assert heights == {144, 180}
    return task_id, workers


def test_upload_workflow_one_fused_job_outputs_in_s3_and_event(
    make_cluster: MakeCluster, broker: str, moto: MotoServer, clips: ClipCache, tmp_path: Path
) -> None:
    cluster = make_cluster(broker)
    task_id, workers = run_workflow(cluster, moto, clips, tmp_path)

    # One probe, then one media job for the three sub-tasks (fused as on one machine); each
    # ran once.
    jobs = cluster.rows(
        "SELECT id, kind, state, attempt, subtasks FROM jobs WHERE task_id = :t", t=task_id
    )
    assert sorted((j.kind, j.state, j.attempt) for j in jobs) == [
        ("media", "succeeded", 1),
        ("probe", "succeeded", 1),
    ]
    [media] = [j for j in jobs if j.kind == "media"]
    assert sorted(media.subtasks) == [0, 1, 2]
    runs = [run for run in job_runs(workers) if run.task_id == task_id]
    assert len(runs) == 2 and all(run.outcome == "ok" for run in runs), runs
    # One FFmpeg process made the three outputs; the source was fetched from S3 at most
    # once by each worker (the probe's copy is reused when the media job runs there too),
    # and once by the worker that ran the media job.
    assert [(job, subtasks) for _, job, subtasks in ffmpeg_runs(workers)] == [
        (str(media.id), (0, 1, 2))
    ]
    fetches = source_fetches(workers, "media", "in/clip.mp4")
    assert 1 <= len(fetches) <= 2 and len(set(fetches)) == len(fetches), fetches


def test_cluster_fanout_runs_one_job_per_sub_task_on_both_workers(
    make_cluster: MakeCluster, redis_broker: str, moto: MotoServer, clips: ClipCache,
    tmp_path: Path,
) -> None:  # fmt: skip
    cluster = make_cluster(redis_broker, cluster_fanout="true")
    task_id, workers = run_workflow(cluster, moto, clips, tmp_path)

    # One probe, then three media jobs (fan-out), three FFmpeg processes; each ran once,
    # and two workers ran some of them at the same moment.
    jobs = cluster.rows("SELECT kind, state, attempt FROM jobs WHERE task_id = :t", t=task_id)
    assert sorted((j.kind, j.state, j.attempt) for j in jobs) == [
        ("media", "succeeded", 1),
        ("media", "succeeded", 1),
        ("media", "succeeded", 1),
        ("probe", "succeeded", 1),
    ]
    assert sorted(subtasks for _, _, subtasks in ffmpeg_runs(workers)) == [(0,), (1,), (2,)]
    runs = [run for run in job_runs(workers) if run.task_id == task_id]
    assert len(runs) == 4 and all(run.outcome == "ok" for run in runs), runs
    media = [run for run in runs if run.kind == "media"]
    assert {run.worker for run in media} == {0, 1}
    assert overlapping(media), media
