"""``reelflow check-stream`` as a user runs it: a subprocess on real FFmpeg ladders."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.media.ladders import complete_master, edit, encode_hls

pytestmark = pytest.mark.integration


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reelflow.cli.main", "check-stream", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    master = encode_hls(tmp_path_factory.mktemp("cli") / "ts")
    complete_master(master)
    return master


def test_passing_ladder_exits_0(ladder: Path) -> None:
    done = run_cli(str(ladder))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == f"HLS ladder {ladder}: passed"
    assert "pass  hls.master.codecs" in done.stdout
    assert any(
        line.startswith("rendition v0.m3u8: video+audio avc1.42c00d,mp4a.40.2") for line in lines
    )


def test_failing_ladder_exits_1_failures_first(ladder: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(ladder.parent, tmp_path / "ts")
    edit(folder / "master.m3u8", "BANDWIDTH=", "BANDWIDTH=1000,X-OLD=")
    done = run_cli(str(folder / "master.m3u8"))
    assert done.returncode == 1
    first = done.stdout.splitlines()[0]
    assert first.startswith("FAIL  hls.master.bandwidth")
    assert "v0.m3u8: BANDWIDTH is 1000, below the measured peak" in first
    assert done.stdout.splitlines()[-1].endswith(": FAILED (1 failures)")

    as_json = run_cli(str(folder / "master.m3u8"), "--json")
    assert as_json.returncode == 1
    doc = json.loads(as_json.stdout)
    assert doc["format"] == "hls" and doc["passed"] is False
    assert [(f["rule"], f["where"]) for f in doc["failures"]] == [
        ("hls.master.bandwidth", "v0.m3u8")
    ]
    assert {"rule", "where", "passed", "message"} == set(doc["results"][0])
    v0 = doc["renditions"][0]
    assert v0["name"] == "v0.m3u8" and v0["codecs"] == ["avc1.42c00d", "mp4a.40.2"]
    assert v0["declared_bandwidth"] == 1000
    assert v0["bandwidth_peak"] > v0["bandwidth_average"] > 0
    assert v0["resolution"] == [320, 180] and v0["frame_rate"] == 25.0


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    done = run_cli(str(tmp_path / "missing.m3u8"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    as_json = run_cli(str(text), "--json")
    assert as_json.returncode == 2
    error = json.loads(as_json.stdout)["error"]
    assert error["code"] == "InvalidInput"
    assert "neither an HLS playlist" in error["message"]


def test_url_refused_by_the_egress_policy_exits_2() -> None:
    done = run_cli("http://127.0.0.1:9/master.m3u8")
    assert done.returncode == 2
    assert "loopback" in done.stderr
