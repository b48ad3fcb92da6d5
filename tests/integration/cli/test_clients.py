"""The client commands against a real ``reelflow serve``: found from the data dir in the
working directory (as a new user runs them), from REELFLOW_URL/REELFLOW_KEY and from
--url/--key; ``submit --wait`` and ``task ID`` list every output with a download URL that
works; ``doctor`` changes nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clips import ClipCache
from tests.integration.server.process import ServerProcess, Servers

pytestmark = pytest.mark.integration

# "  #0 media/uploads/1a2b3c4d/clip_transcode_100010.mp4  12.3 KiB  http://..."
OUTPUT_LINE = re.compile(r"^  #(\d+) (\S+?)/(\S+)  (\d+ B|[\d.]+ [KMG]iB)  (http://\S+)$", re.M)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    started = Servers()
    try:
        yield started.start(tmp_path_factory.mktemp("cli") / "reelflow-data")
    finally:
        started.close()


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The CLI with no REELFLOW_* from the caller (only ``env``), wide enough not to wrap."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REELFLOW_")}
    return subprocess.run(
        [sys.executable, "-m", "reelflow.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**clean, "COLUMNS": "200", **(env or {})},
        check=False,
    )


def outputs_listed(stdout: str) -> list[tuple[str, str, str, str]]:
    return [(b, k, size, url) for _, b, k, size, url in OUTPUT_LINE.findall(stdout)]


def test_submit_wait_from_the_data_dir_lists_every_output(
    server: ServerProcess, clips: ClipCache
) -> None:
    clip = clips(duration=2.0, width=320, height=180)
    # As the README says it: in the folder that holds ./reelflow-data, no option, no variable.
    done = run_cli("submit", str(clip), "--wait", cwd=server.data_dir.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = outputs_listed(done.stdout)
    task_id = re.search(r"task (\S+): FINISH", done.stdout)
    assert task_id, done.stdout
    with server.client() as client:
        doc = client.get(f"/v1/tasks/{task_id.group(1)}").json()
        assert doc["phase"] == "succeeded"
        # Every object the task wrote, and nothing else.
        prefix = doc["input"]["key"].rsplit("/", 1)[0] + "/"
        listing = client.get("/v1/buckets/media/objects", params={"prefix": prefix}).json()
        written = {o["key"] for o in listing["objects"]} - {doc["input"]["key"]}
        assert {key for _, key, _, _ in listed} == written
        assert len(listed) == len(written) >= 7
        for bucket, key, size, url in listed:
            assert bucket == "media"
            assert url == f"{server.url}/v1/buckets/media/objects/{key}"
            got = client.get(url)
            assert got.status_code == 200, url
            if size.endswith(" B"):
                assert len(got.content) == int(size.split()[0])
            else:
                assert size != "?"

    again = run_cli("task", task_id.group(1), cwd=server.data_dir.parent)
    assert again.returncode == 0, again.stderr
    assert outputs_listed(again.stdout) == listed


@pytest.fixture(scope="module")
def tid(server: ServerProcess, clips: ClipCache) -> str:
    """A small task of the server (one screenshot)."""
    with server.client() as client, clips(duration=1.0, width=160, height=90).open("rb") as f:
        assert client.put("/v1/buckets/media/objects/env/c.mp4", content=f).status_code == 200
        body = {
            "input": {"bucket": "media", "key": "env/c.mp4"},
            "media_process_task": {
                "snapshot_by_time_offset_task_set": [
                    {"definition": 10, "ext_time_offset_set": ["0s"]}
                ]
            },
        }
        response = client.post("/v1/tasks", json=body)
        assert response.status_code == 201, response.text
        task_id: str = response.json()["task_id"]
        return task_id


def test_environment_and_options_find_the_server(
    server: ServerProcess, tid: str, tmp_path: Path
) -> None:
    env = {"REELFLOW_URL": server.url, "REELFLOW_KEY": server.admin_key}
    by_env = run_cli("task", tid, "--json", cwd=tmp_path, env=env)
    assert by_env.returncode == 0, by_env.stderr
    assert json.loads(by_env.stdout)["id"] == tid
    by_option = run_cli(
        "task", tid, "--json", "--url", server.url, "--key", server.admin_key, cwd=tmp_path
    )
    assert by_option.returncode == 0, by_option.stderr
    by_dir = run_cli("task", tid, "--json", "--data-dir", str(server.data_dir), cwd=tmp_path)
    assert by_dir.returncode == 0, by_dir.stderr
    by_env_dir = run_cli(
        "task", tid, "--json", cwd=tmp_path, env={"REELFLOW_DATA_DIR": str(server.data_dir)}
    )
    assert by_env_dir.returncode == 0, by_env_dir.stderr
    # An option beats the environment: a wrong key in --key is refused.
    refused = run_cli("task", tid, "--key", "wrong", cwd=tmp_path, env=env)
    assert refused.returncode == 1
    assert "HTTP 401" in refused.stderr


def test_no_server_found_names_every_place(tmp_path: Path) -> None:
    for command in (("submit", "x.mp4"), ("task", "abc"), ("events", "listen", "q")):
        done = run_cli(*command, cwd=tmp_path)
        assert done.returncode == 1, (command, done.stderr)
        text = " ".join(done.stderr.split())
        for place in ("--url/--key", "REELFLOW_URL/REELFLOW_KEY", "admin-key.json",
                      "--data-dir", "REELFLOW_DATA_DIR", "./reelflow-data",
                      "http://127.0.0.1:8080"):  # fmt: skip
            assert place in text, (command, place, text)
        assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder``: size and mtime (ns)."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


def test_doctor_outside_a_data_dir_creates_nothing(tmp_path: Path) -> None:
    done = run_cli("doctor", cwd=tmp_path, env={"REELFLOW_URL": "http://127.0.0.1:9"})
    text = " ".join(done.stdout.split())
    assert "reelflow-data does not exist" in text, text
    assert "not reachable at http://127.0.0.1:9 (from REELFLOW_URL)" in text
    assert done.returncode == 1  # a server named by REELFLOW_URL that is down is a failure
    assert list(tmp_path.iterdir()) == []
    quiet = run_cli("doctor", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stdout  # nothing named, nothing wrong
    assert list(tmp_path.iterdir()) == []


def test_doctor_on_a_live_data_dir_checks_and_changes_nothing(server: ServerProcess) -> None:
    before = {k: v for k, v in tree(server.data_dir).items() if "reelflow.db" not in k}
    db_before = (server.data_dir / "reelflow.db").stat().st_size
    done = run_cli("doctor", cwd=server.data_dir.parent)
    text = " ".join(done.stdout.split())
    assert done.returncode == 0, text
    database = (server.data_dir / "reelflow.db").resolve()
    assert f"✓ database: SQLite {database} (migration" in text, text
    assert "✓ bucket media" in text, text
    assert f"✓ server: up at {server.url}" in text and "key from" in text, text
    after = {k: v for k, v in tree(server.data_dir).items() if "reelflow.db" not in k}
    assert after == before
    assert (server.data_dir / "reelflow.db").stat().st_size == db_before
    assert not (server.data_dir / "buckets" / "media" / ".doctor").exists()
    refused = run_cli("doctor", "--key", "wrong", cwd=server.data_dir.parent)
    assert refused.returncode == 1
    assert "refused (HTTP 401)" in " ".join(refused.stdout.split())
