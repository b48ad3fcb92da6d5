"""Adaptive streaming on a real server: a custom ladder template made through the REST API,
a task packaging it as HLS, DASH and CMAF, read back from the bucket the way a player and a
validator would (``m3u8``, ``mpegdash``), with the checker's verdict in the result; and a
ladder of a watermarked rendition (a node of the task graph)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import av
import httpx
import m3u8
import pytest
from mpegdash.parser import MPEGDASHParser
from PIL import Image

from tests.clips import ClipCache
from tests.integration.server.media import submit, upload
from tests.integration.server.process import ServerProcess, wait_finished
from tests.integration.server.test_graph import MAGENTA_MARK, magenta

pytestmark = pytest.mark.integration


def ladder(fmt: str, rungs: tuple[int, ...] = (144, 180), **extra: Any) -> dict[str, Any]:
    """A small custom ladder template: one H.264/AAC rung per short side, 2 s segments."""
    return {
        "name": f"small {fmt}",
        "format": fmt,
        "segment_seconds": 2,
        "stream_infos": [
            {
                "video": {"codec": "h264", "height": h, "bitrate": 150 + h, "fps": 25},
                "audio": {"codec": "aac", "bitrate": 64, "sample_rate": 44100},
            }
            for h in rungs
        ],
        **extra,
    }


def create(admin: httpx.Client, template: dict[str, Any]) -> int:
    response = admin.post("/v1/templates/AdaptiveDynamicStreaming", json=template)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["kind"], created["type"]) == ("AdaptiveDynamicStreaming", "Custom")
    definition: int = created["definition"]
    return definition


def get(admin: httpx.Client, path: str) -> bytes:
    response = admin.get(f"/v1/buckets/media/objects{path}")
    assert response.status_code == 200, (path, response.status_code)
    return response.content


def object_file(server: ServerProcess, path: str) -> Path:
    """The local bucket's file of the object ``path`` (``/key``)."""
    return server.data_dir / "buckets" / "media" / path.lstrip("/")


def folder_of(path: str) -> str:
    return path.rsplit("/", 1)[0] + "/"


def read_back(admin: httpx.Client, out: dict[str, Any]) -> tuple[list[str], list[str], bytes]:
    """Read a package as a player would: (every manifest's path, the HLS segments' paths,
    the first video segment with its init section). DASH: the MPD parsed with mpegdash."""
    folder = folder_of(out["Path"])
    hls = out["Path"].endswith(".m3u8")
    manifests = [out["Path"]] + ([out["MpdPath"]] if out["MpdPath"] else [])
    segments: list[str] = []
    first_media = b""
    if hls:
        master = m3u8.loads(get(admin, out["Path"]).decode())
        assert master.is_variant and len(master.playlists) == 2
        for variant in master.playlists:
            assert variant.stream_info.bandwidth > 0 and variant.stream_info.codecs
            media = m3u8.loads(get(admin, folder + variant.uri).decode())
            manifests.append(folder + variant.uri)
            segments += [folder + s.uri for s in media.segments]
            if not first_media and variant.stream_info.resolution:
                init = media.segments[0].init_section
                first_media = get(admin, folder + init.uri) if init else b""
                first_media += get(admin, folder + media.segments[0].uri)
            assert media.target_duration >= 2 and len(media.segments) >= 3
    if not hls or out["MpdPath"]:
        mpd = MPEGDASHParser.parse(get(admin, out["MpdPath"] or out["Path"]).decode())
        representations = [r for a in mpd.periods[0].adaptation_sets for r in a.representations]
        assert len(representations) == 3  # two video rungs, one shared audio rendition
        assert all(r.bandwidth and r.bandwidth > 0 for r in representations)
    return manifests, segments, first_media


@pytest.mark.parametrize(
    ("fmt", "segment_type"),
    [("HLS", None), ("HLS", "mp4-segment"), ("MPEG-DASH", None), ("CMAF", None)],
)
def test_a_ladder_lands_in_the_bucket_checked_and_manifests_last(
    server: ServerProcess,
    admin: httpx.Client,
    clips: ClipCache,
    fmt: str,
    segment_type: str | None,
) -> None:
    extra = {"segment_type": segment_type} if segment_type else {}
    definition = create(admin, ladder(fmt, **extra))
    where = f"abr/{fmt.lower()}-{segment_type or 'default'}"
    upload(admin, f"{where}/clip.mp4", clips(duration=5.0, width=320, height=180))
    task_id = submit(
        admin,
        {
            "input": {"bucket": "media", "key": f"{where}/clip.mp4"},
            "media_process_task": {
                "adaptive_dynamic_streaming_task_set": [{"definition": definition}]
            },
        },
    )
    done = wait_finished(admin, task_id, timeout=120)
    assert done["phase"] == "succeeded", done
    [sub] = done["subtasks"]
    assert sub["kind"] == "AdaptiveDynamicStreaming"
    out = sub["outputs"]
    ext = "mpd" if fmt == "MPEG-DASH" else "m3u8"
    assert out["Path"] == f"/{where}/clip_adaptiveDynamicStreaming_{definition}.{ext}"
    assert (out["Definition"], out["Package"]) == (definition, fmt)
    assert out["Storage"] == {"Type": "COS", "CosOutputStorage": {"Bucket": "media", "Region": ""}}
    check = out["StreamCheck"]
    assert check["Passed"] is True and check["FailedRules"] == [], check
    assert check["Renditions"] and all(r["PeakBandwidth"] > 0 for r in check["Renditions"])
    videos = [r for r in out["Renditions"] if r["Kind"] == "video"]
    assert sorted(r["Height"] for r in videos) == [144, 180]
    assert all(r["Codecs"].startswith("avc1.") for r in videos)

    folder = folder_of(out["Path"])
    listed = admin.get("/v1/buckets/media/objects", params={"prefix": folder.lstrip("/")})
    assert listed.status_code == 200, listed.text
    keys = {o["key"] for o in listed.json()["objects"]} - {f"{where}/clip.mp4"}
    assert len(keys) == out["FileCount"]
    assert all(k.startswith(f"{where}/clip_adaptiveDynamicStreaming_{definition}") for k in keys)

    manifests, segments, first_media = read_back(admin, out)
    segment_keys = [k for k in keys if k.endswith((".ts", ".m4s"))]
    assert segment_keys
    for key in segments or segment_keys:
        assert get(admin, "/" + key.lstrip("/"))
    # Stored in commit order: every manifest's file was put in place after every segment's
    # (the local bucket renames each file into place: its change time is when it landed).
    landed = {k: os.stat(object_file(server, k)).st_ctime_ns for k in keys}
    last_segment = max(landed[k] for k in segment_keys)
    for manifest in manifests:
        assert landed[manifest.lstrip("/")] >= last_segment, manifest
    if first_media:  # a player's first request: the init section (fMP4) then a segment
        with av.open(io.BytesIO(first_media)) as container:
            assert container.streams.video and next(container.decode(video=0))


def test_a_ladder_of_a_watermarked_rendition(
    server: ServerProcess, admin: httpx.Client, clips: ClipCache, tmp_path: Path
) -> None:
    """The ladder reads the transcode ``wm`` (720p, magenta text) instead of the source; a
    second ladder of the source is the reference."""
    definition = create(admin, ladder("HLS", rungs=(360, 720)))
    upload(admin, "abr/wm/clip.mp4", clips(duration=3.0, width=1280, height=720))
    task_id = submit(
        admin,
        {
            "input": {"bucket": "media", "key": "abr/wm/clip.mp4"},
            "media_process_task": {
                "transcode_task_set": [
                    {"definition": 100030, "id": "wm", "watermark_set": [MAGENTA_MARK]}
                ],
                "adaptive_dynamic_streaming_task_set": [
                    {
                        "definition": definition,
                        "input": "wm",
                        "output_object_path": "m/{inputName}.{format}",
                    },
                    {"definition": definition, "output_object_path": "s/{inputName}.{format}"},
                ],
            },
        },
    )
    done = wait_finished(admin, task_id, timeout=180)
    assert done["phase"] == "succeeded", done
    rendition, marked, plain = done["subtasks"]
    assert (marked["input"], plain["input"]) == ("wm", None)
    assert marked["started_at"] >= rendition["finished_at"]

    def top_frame(path: str, name: str) -> Path:
        master = m3u8.loads(get(admin, path).decode())
        top = max(master.playlists, key=lambda p: p.stream_info.resolution[1])
        assert top.stream_info.resolution == (1280, 720)
        folder = folder_of(path)
        media = m3u8.loads(get(admin, folder + top.uri).decode())
        data = get(admin, folder + media.segments[0].uri)
        with av.open(io.BytesIO(data)) as container:
            frame = next(container.decode(video=0))
        image = tmp_path / f"{name}.png"
        frame.to_image().save(image)
        return image

    for sub in (marked, plain):
        assert sub["outputs"]["StreamCheck"]["Passed"] is True
    with_mark = magenta(top_frame(marked["outputs"]["Path"], "marked"), (20, 20, 420, 110))
    without = magenta(top_frame(plain["outputs"]["Path"], "plain"), (20, 20, 420, 110))
    assert with_mark > 2000 and with_mark > 10 * (without + 1), (with_mark, without)
    with Image.open(tmp_path / "marked.png") as opened:
        assert opened.size == (1280, 720)

    # The task page has a player for each ladder's master playlist, with its rungs and the
    # check's verdict.
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        token = re.search(
            r'name="csrf_token" value="([^"]+)"', browser.get("/console/sign-in").text
        )
        assert token is not None
        signed = browser.post(
            "/console/sign-in", data={"csrf_token": token[1], "secret_key": server.admin_key}
        )
        assert signed.status_code == 303, signed.text
        page = browser.get(f"/console/tasks/{task_id}/live").text
    for sub in (marked, plain):
        name = sub["outputs"]["Path"].rsplit("/", 1)[-1]
        assert f"HLS · 360p, 720p · check passed · {name}" in page, page


def test_a_workflow_packages_each_upload(
    server: ServerProcess, admin: httpx.Client, clips: ClipCache
) -> None:
    definition = create(admin, ladder("CMAF"))
    made = admin.post(
        "/v1/workflows",
        json={
            "name": "abr on upload",
            "enabled": True,
            "trigger": {"bucket": "media", "dir": "abr/wf/in/"},
            "media_process_task": {
                "adaptive_dynamic_streaming_task_set": [{"definition": definition}]
            },
            "output_dir": "abr/wf/out/",
        },
    )
    assert made.status_code == 201, made.text
    # The template is in use: it cannot be deleted while the workflow names it.
    refused = admin.delete(f"/v1/templates/AdaptiveDynamicStreaming/{definition}")
    assert refused.status_code == 409, refused.text

    uploaded = upload(admin, "abr/wf/in/clip.mp4", clips(duration=5.0, width=320, height=180))
    [started] = uploaded["tasks"]
    done = wait_finished(admin, started["task_id"], timeout=120)
    assert done["phase"] == "succeeded", done
    out = done["subtasks"][0]["outputs"]
    stem = f"/abr/wf/out/clip_adaptiveDynamicStreaming_{definition}"
    assert (out["Path"], out["MpdPath"]) == (f"{stem}.m3u8", f"{stem}.mpd")
    assert out["StreamCheck"]["Passed"] is True
    assert out["StreamCheck"]["Manifests"] == [f"{stem}.m3u8", f"{stem}.mpd"]
