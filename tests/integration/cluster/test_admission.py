"""Admission over a real ``reelflow serve``, on SQLite and on PostgreSQL (issue 21): with
``max_queued_tasks`` unfinished tasks, the REST API refuses another with 429 and the
compatible API (through the official SDK) with the same code in its error envelope; an
upload that triggers a workflow then is stored and deferred, and starts exactly one task
once the account has room.

The tasks that fill the account stay unfinished for real: their source is a URL on a
listener that never answers (the probe waits for it; one worker, so the others queue).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from reelflow.catalog.accounts import Accounts
from reelflow.catalog.buckets import Buckets
from reelflow.config import Settings
from reelflow.db.session import create_db_engine, migrate, session_factory
from reelflow.engine.service import Engine
from reelflow.errors import TooManyQueuedTasks
from reelflow.specs.requests import TaskSource
from tests.clips import ClipCache
from tests.integration.mps.conftest import REGION, admin_credential, sdk_client
from tests.integration.mps.sdk import call
from tests.integration.server.process import ServerProcess, Servers, wait_for
from tests.unit.engine.fakes import FakePlanner, make_request

pytestmark = pytest.mark.integration

LIMIT = 2
SPEC = {"transcode_task_set": [{"definition": 100010}]}


@pytest.fixture(params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServerProcess]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the SDK honours HTTP_PROXY otherwise
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    settings = {
        "max_queued_tasks": str(LIMIT),
        "egress_allow": "127.0.0.1/32",
        "url_timeout": "3600",
        "default_workflow": "true",  # media/in/ -> media/out/
    }
    if request.param == "postgresql":
        settings["database_url"] = request.getfixturevalue("pg_url")
    servers = Servers()
    try:
        yield servers.start(tmp_path / "data", **settings)
    finally:
        servers.close()


@pytest.fixture
def silent_url(server: ServerProcess) -> Iterator[str]:
    """A URL whose server takes the connection and never answers. Closed before the
    server stops (set up after it): the waiting probe then fails at once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # never accepted: the kernel completes the connection, nobody reads
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/clip.mp4"
    finally:
        listener.close()


def test_a_submit_over_the_limit_is_refused_by_both_apis(
    server: ServerProcess, silent_url: str
) -> None:
    body = {"input": {"url": silent_url}, "media_process_task": SPEC, "output": {"bucket": "media"}}
    with server.client() as client:
        accepted = [client.post("/v1/tasks", json=body) for _ in range(LIMIT)]
        assert [answer.status_code for answer in accepted] == [201] * LIMIT

        refused = client.post("/v1/tasks", json=body)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "LimitExceeded.TooManyQueuedTasks"
        assert int(refused.headers["Retry-After"]) > 0

        mps = sdk_client(server, admin_credential(server))
        params = {
            "InputInfo": {"Type": "URL", "UrlInputInfo": {"Url": silent_url}},
            "OutputStorage": {
                "Type": "COS",
                "CosOutputStorage": {"Bucket": "media", "Region": REGION},
            },
            "OutputDir": "/out/",
            "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]},
        }
        with pytest.raises(TencentCloudSDKException) as caught:
            call(mps, "ProcessMedia", params)
        assert caught.value.get_code() == "LimitExceeded.TooManyQueuedTasks"

        # One task ends (cancelled): there is room for exactly one more.
        first = accepted[0].json()["task_id"]
        assert client.post(f"/v1/tasks/{first}:cancel").status_code == 200
        assert call(mps, "ProcessMedia", params).TaskId.startswith("rf-")
        assert client.post("/v1/tasks", json=body).status_code == 429


def test_an_upload_over_the_limit_is_deferred_and_later_starts_one_task(
    server: ServerProcess, silent_url: str, clips: ClipCache
) -> None:
    body = {"input": {"url": silent_url}, "media_process_task": SPEC, "output": {"bucket": "media"}}
    with server.client() as client:
        holders = [client.post("/v1/tasks", json=body).json()["task_id"] for _ in range(LIMIT)]
        clip = clips(duration=1.0).read_bytes()

        stored = client.put("/v1/buckets/media/objects/in/late.mp4", content=clip)
        assert stored.status_code == 200, stored.text
        answer = stored.json()
        assert answer["tasks"] == []
        [deferred] = answer["deferred"]
        assert deferred["schedule"] is False
        workflow_id = deferred["workflow_id"]
        # The object is stored; the start is listed as deferred, not lost.
        assert client.head("/v1/buckets/media/objects/in/late.mp4").status_code == 200
        [listed] = client.get("/v1/deferred-triggers").json()["deferred"]
        assert (listed["workflow_id"], listed["key"]) == (workflow_id, "in/late.mp4")

        def workflow_tasks() -> list[dict[str, object]]:
            page = client.get("/v1/tasks", params={"workflow_id": workflow_id}).json()
            return list(page["tasks"])

        assert workflow_tasks() == []
        assert client.post(f"/v1/tasks/{holders[0]}:cancel").status_code == 200

        def drained() -> bool | None:
            return client.get("/v1/deferred-triggers").json()["deferred"] == [] or None

        wait_for(drained, 30, "the deferred start to be resumed")
        [started] = workflow_tasks()
        assert started["input"]["key"] == "in/late.mp4"  # type: ignore[index]
        # Further passes start nothing more, and the account is full again.
        assert client.post("/v1/tasks", json=body).status_code == 429
        assert len(workflow_tasks()) == 1


def test_concurrent_submissions_never_pass_the_limit(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL, where writers do not queue behind one lock: many threads submit at once
    for one account, through two engines with their own pools; exactly the limit is taken."""
    pools = [create_db_engine(pg_url) for _ in range(2)]
    migrate(pools[0])
    try:
        settings = Settings(data_dir=tmp_path, max_queued_tasks=5)
        sessions = session_factory(pools[0])
        alice = Accounts(sessions).create_account("alice")
        Buckets(sessions).ensure("alice-in", alice.id)
        engines = [Engine(session_factory(pool), FakePlanner(), settings) for pool in pools]
        source = TaskSource(type="bucket", bucket="alice-in", key="up/clip.mp4")
        request = make_request(1).model_copy(update={"source": source})
        start = threading.Barrier(12)

        def submit(n: int) -> bool:
            start.wait()
            try:
                engines[n % 2].submit(request, account_id=alice.id)
            except TooManyQueuedTasks:
                return False
            return True

        with ThreadPoolExecutor(12) as threads:
            accepted = list(threads.map(submit, range(12)))
        assert accepted.count(True) == 5
        assert engines[0].count_tasks(account_id=alice.id) == 5
    finally:
        for pool in pools:
            pool.dispose()
