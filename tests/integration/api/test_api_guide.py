"""docs/api.md's examples, run: every ``sh`` block of the guide, in order, in one bash shell
(``set -euo pipefail``; the guide's success paths use ``curl -f``) against a real
``reelflow serve`` whose data dir is ``./reelflow-data``, as a reader runs them.

The guide's placeholders for the outside world are pointed at loopback: its server address,
the URL input (a local HTTP server with the clip) and the webhook (a closed port, so the
delivery dies and the guide replays it). The server lets tasks reach loopback with
REELFLOW_EGRESS_ALLOW, since the egress policy refuses it by default.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clips import ClipCache
from tests.integration.api.doc_examples import DEFAULT_URL, REPO, require_tools, sh_blocks
from tests.integration.server.process import ServerProcess, Servers
from tests.servers import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GUIDE = REPO / "docs" / "api.md"
CLIP_URL = "https://media.example.com/clip.mp4"
HOOK_URL = "https://hooks.example.com/reelflow"


@pytest.fixture
def clip_server(tmp_path: Path, clips: ClipCache) -> Iterator[str]:
    """An HTTP server on loopback with ``clip.mp4``; yields its URL of the clip."""
    folder = tmp_path / "web"
    folder.mkdir()
    shutil.copy(clips(duration=1.0, width=160, height=90), folder / "clip.mp4")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that hangs up early is not the test's business

    with Quiet(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/clip.mp4"
        finally:
            httpd.shutdown()
            thread.join(timeout=10)


def test_every_example_of_the_guide_runs(
    tmp_path: Path, clips: ClipCache, clip_server: str
) -> None:
    require_tools("the guide", "bash", "curl", "jq")
    found = sh_blocks(GUIDE)
    assert len(found) >= 15, "the guide lost its examples"
    work = tmp_path / "reader"
    work.mkdir()
    shutil.copy(clips(duration=2.0, width=320, height=180), work / "clip.mp4")
    started = Servers()
    try:
        server: ServerProcess = started.start(
            work / "reelflow-data",
            default_workflow="true",
            egress_allow="127.0.0.1/32",
            notify_max_retry_seconds="3",
            notify_retry_base_seconds="0.5",
        )
        closed = f"http://127.0.0.1:{free_port()}/hook"
        script = ["set -euo pipefail"]
        for line, text in found:
            pointed = text.replace(DEFAULT_URL, server.url)
            pointed = pointed.replace(CLIP_URL, clip_server).replace(HOOK_URL, closed)
            script += [f"echo '=== docs/api.md line {line}' >&2", pointed]
        env = {k: v for k, v in os.environ.items() if not k.startswith("REELFLOW_")}
        # `reelflow` as the reader has it: this interpreter's console script.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        done = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=480,
            check=False,
        )
        failed_at = [m for m in done.stderr.splitlines() if m.startswith("=== ")][-1:]
        assert done.returncode == 0, (
            f"the guide failed after {failed_at}:\n{done.stderr[-3000:]}\n{done.stdout[-3000:]}"
        )
        out = done.stdout
        (tmp_path / "guide.out").write_text(out + "\n--- stderr\n" + done.stderr)
        # What a reader sees: the objects listed, the tasks succeeded, the 404 and 401.
        assert "2024/clip.mp4 " in out
        assert re.search(r"^started rf-\w+$", out, re.M), out
        assert out.count("succeeded") >= 3, out
        assert "from-url/clip_animatedGraphic_20000.gif" in out
        assert "SnapshotByTimeOffset id=null input=wm720 SUCCESS" in out, out
        assert re.search(r"^/api/abr/clip_adaptiveDynamicStreaming_\d+\.m3u8$", out, re.M), out
        assert "check passed: true" in out and "#EXT-X-STREAM-INF:BANDWIDTH=" in out, out
        assert re.search(r"^404$", out, re.M) and re.search(r"^401$", out, re.M), out
        assert '"state": "pending"' in out  # the replayed delivery
        assert (work / "first-100-bytes.bin").stat().st_size == 100
        with server.client() as client:
            listing = client.get("/v1/buckets/media/objects", params={"prefix": "previews/"})
            assert any(o["key"].endswith(".mp4") for o in listing.json()["objects"])
    finally:
        started.close()
