"""README.md's first steps with a server, run as a new user pastes them: every ``sh`` block
that talks to the server (the first upload to the workflow ``default``, following its task,
listing and downloading its outputs; the metrics scrape) in one bash shell (``set -euo
pipefail``) in the folder of a real ``reelflow serve`` on a new ``./reelflow-data``.

The README's address is pointed at the test server's and its ``.venv/bin/`` at this
interpreter's scripts; nothing else of the text is changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clips import ClipCache
from tests.integration.api.doc_examples import DEFAULT_URL, REPO, require_tools, sh_blocks
from tests.integration.server.process import Servers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

README = REPO / "README.md"
SCRAPE_TOKEN = "readme-scrape-token"


def test_the_readme_first_upload_and_scrape_run_as_written(
    tmp_path: Path, clips: ClipCache
) -> None:
    require_tools("README.md", "bash", "curl", "python3")
    found = [(line, text) for line, text in sh_blocks(README) if DEFAULT_URL in text]
    assert len(found) >= 2, "README.md lost its upload or metrics example"
    assert any("/metrics" in text for _, text in found)
    work = tmp_path / "reader"
    work.mkdir()
    shutil.copy(clips(duration=3.0, width=320, height=180), work / "clip.mp4")
    started = Servers()
    try:
        # As README's `reelflow serve --data-dir reelflow-data`, on a new data dir, with
        # the scrape token the README's metrics section sets.
        server = started.start(
            work / "reelflow-data", default_workflow="true", metrics_token=SCRAPE_TOKEN
        )
        scripts = f"{Path(sys.executable).parent}/"
        script = ["set -euo pipefail"]
        for line, text in found:
            pointed = text.replace(DEFAULT_URL, server.url).replace(".venv/bin/", scripts)
            script += [f"echo '=== README.md line {line}' >&2", pointed]
        env = {k: v for k, v in os.environ.items() if not k.startswith("REELFLOW_")}
        env["REELFLOW_METRICS_TOKEN"] = SCRAPE_TOKEN  # the scraper's copy of the token
        done = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        failed_at = [m for m in done.stderr.splitlines() if m.startswith("=== ")][-1:]
        assert done.returncode == 0, (
            f"README.md failed after {failed_at}:\n{done.stderr[-3000:]}\n{done.stdout[-3000:]}"
        )
        out = done.stdout
        # The upload's answer names the task the workflow `default` started.
        answer = json.loads((work / "upload.json").read_text())
        [task] = answer["tasks"]
        with server.client() as client:
            [workflow] = client.get("/v1/workflows").json()["workflows"]
            assert (task["workflow_id"], workflow["name"]) == (workflow["id"], "default")
            doc = client.get(f"/v1/tasks/{task['task_id']}").json()
        assert doc["phase"] == "succeeded", doc
        # `reelflow task --watch` ended with every output and its download URL ...
        listed = re.findall(r"^  #\d+ media/(out/\S+)  \S+ \S+  (\S+)$", out, re.M)
        assert len(listed) >= 7, out
        assert all(url == f"{server.url}/v1/buckets/media/objects/{key}" for key, url in listed)
        # ... the listing shows them, and the download is the stored rendition.
        keys = {key for key, _ in listed}
        assert {"out/clip_transcode_100010.mp4", "out/clip_imageSprite_10.vtt"} <= keys, out
        assert '"key":"out/clip_transcode_100010.mp4"' in out
        downloaded = work / "clip_transcode_100010.mp4"
        stored = server.data_dir / "buckets" / "media" / "out" / "clip_transcode_100010.mp4"
        assert downloaded.read_bytes() == stored.read_bytes()
        assert downloaded.read_bytes()[4:8] == b"ftyp"
        # The scrape with REELFLOW_METRICS_TOKEN, after the task ended.
        assert 'reelflow_tasks{state="succeeded"} 1.0' in out
    finally:
        started.close()
