"""A per-title set of transcodes through the official SDK (issue 18): two templates turned
on with ``ModifyTranscodeTemplate``'s ``ContentAdaptStream`` 1 (the SDK has the member on
``VideoTemplateInfoForUpdate`` only), run by ``ProcessMedia``; each output succeeds as its
own sub-task and, in the native task, reports its per-title choice beside its score."""

from __future__ import annotations

import pytest
from tencentcloud.mps.v20190612.mps_client import MpsClient

from tests.clips import ClipCache
from tests.integration.mps.conftest import REGION
from tests.integration.mps.sdk import as_dict, call, wait_finished
from tests.integration.server.media import upload
from tests.integration.server.process import ServerProcess

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp:DeprecationWarning"),
]

FIXED = ((144, 150), (240, 300))  # (height, kbps) of the two templates


@pytest.fixture(scope="module")
def source(server: ServerProcess, clips: ClipCache) -> str:
    with server.client() as client:
        upload(client, "in/pertitle.mp4", clips(duration=3.0, width=320, height=240))
    return "/in/pertitle.mp4"


def test_content_adapt_stream_set_through_the_sdk(
    server: ServerProcess, mps: MpsClient, source: str
) -> None:
    definitions = []
    for height, kbps in FIXED:
        video = {"Codec": "libx264", "Fps": 25, "Bitrate": kbps, "Height": height}
        template = {"Container": "mp4", "VideoTemplate": video, "RemoveAudio": 1}
        definition = call(mps, "CreateTranscodeTemplate", template).Definition
        change = {"Definition": definition, "VideoTemplate": {"ContentAdaptStream": 1}}
        call(mps, "ModifyTranscodeTemplate", change)
        described = as_dict(call(mps, "DescribeTranscodeTemplates", {"Definitions": [definition]}))
        # The SDK's VideoTemplateInfo has no ContentAdaptStream: the answer leaves it out.
        assert "ContentAdaptStream" not in described["TranscodeTemplateSet"][0]["VideoTemplate"]
        definitions.append(int(definition))
    params = {
        "InputInfo": {
            "Type": "COS",
            "CosInputInfo": {"Bucket": "media", "Region": REGION, "Object": source},
        },
        "OutputDir": "/pertitle-out/",
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": d} for d in definitions]},
    }
    task_id = call(mps, "ProcessMedia", params).TaskId
    detail = wait_finished(mps, task_id, timeout=180)
    results = detail["WorkflowTask"]["MediaProcessResultSet"]
    assert [r["TranscodeTask"]["Status"] for r in results] == ["SUCCESS", "SUCCESS"], results
    # The compatible answer keeps the SDK's shape; the native task shows the choice.
    with server.client() as client:
        doc = client.get(f"/v1/tasks/{task_id}").json()
    shown = {}
    for sub in doc["subtasks"]:
        per_title = sub["quality"]["PerTitle"]
        shown[per_title["FixedBitrate"]] = per_title
        assert per_title["AchievedVmaf"] == sub["quality"]["Vmaf"]["Mean"]
    assert sorted(shown) == [kbps for _, kbps in FIXED]
    top = shown[FIXED[-1][1]]
    assert top["TargetVmaf"] <= 93.0
    assert shown[FIXED[0][1]]["TargetVmaf"] < top["TargetVmaf"]
