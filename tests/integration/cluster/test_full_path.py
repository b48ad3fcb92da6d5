"""The whole path on a real cluster, on each broker: an upload to an S3 bucket fires a
workflow; its sub-tasks fan out as separate jobs that two ``reelflow worker`` processes run
at the same time; the outputs land in S3; the finish event reaches the queue."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from tests.clips import ClipCache
from tests.integration.cluster.conftest import MakeCluster
from tests.integration.cluster.flows import (
    EVENT_QUEUE,
    create_workflow,
    job_runs,
    overlapping,
    receive,
)
from tests.integration.server.media import upload
from tests.s3server import MotoServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_upload_workflow_fan_out_outputs_in_s3_and_event(
    make_cluster: MakeCluster, broker: str, moto: MotoServer, clips: ClipCache, tmp_path: Path
) -> None:
    cluster = make_cluster(broker)
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
    paths = [r["TranscodeTask"]["Output"]["Path"] for r in results if r["Type"] == "Transcode"]
    snapshots = [r for r in results if r["Type"] == "SnapshotByTimeOffset"]
    pictures = [p["Path"] for p in snapshots[0]["SnapshotByTimeOffsetTask"]["Output"]["PicInfoSet"]]

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
    assert heights == {144, 180}

    # One probe, then three media jobs (fan-out); each ran once, and two workers ran
    # some of them at the same moment.
    jobs = cluster.rows("SELECT kind, state, attempt FROM jobs WHERE task_id = :t", t=task_id)
    assert sorted((j.kind, j.state, j.attempt) for j in jobs) == [
        ("media", "succeeded", 1),
        ("media", "succeeded", 1),
        ("media", "succeeded", 1),
        ("probe", "succeeded", 1),
    ]
    runs = [run for run in job_runs(workers) if run.task_id == task_id]
    assert len(runs) == 4 and all(run.outcome == "ok" for run in runs), runs
    media = [run for run in runs if run.kind == "media"]
    assert {run.worker for run in media} == {0, 1}
    assert overlapping(media), media
