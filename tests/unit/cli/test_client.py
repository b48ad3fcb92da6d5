"""How the client commands find the server: --url/--key, REELFLOW_URL/REELFLOW_KEY, the data
dir's files, then http://127.0.0.1:8080; and what a task's outputs are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reelflow.cli.client import find_server
from reelflow.cli.outputs import TaskOutput, task_outputs
from reelflow.errors import ConfigError


def served(folder: Path, url: str = "http://127.0.0.1:9999", secret: str = "from-file") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "server.json").write_text(json.dumps({"url": url}))
    (folder / "admin-key.json").write_text(json.dumps({"secret_id": "i", "secret_key": secret}))
    return folder


def test_options_come_first(tmp_path: Path) -> None:
    env = {"REELFLOW_URL": "http://env:1", "REELFLOW_KEY": "env-key"}
    found = find_server("http://opt:2/", "opt-key", served(tmp_path / "d"), env=env)
    assert (found.url, found.key, found.url_from, found.key_from) == (
        "http://opt:2",
        "opt-key",
        "--url",
        "--key",
    )


def test_environment_before_the_data_dir(tmp_path: Path) -> None:
    env = {"REELFLOW_URL": "http://env:1", "REELFLOW_KEY": "env-key"}
    found = find_server(None, None, served(tmp_path / "d"), env=env)
    assert (found.url, found.key) == ("http://env:1", "env-key")
    assert (found.url_from, found.key_from) == ("REELFLOW_URL", "REELFLOW_KEY")


def test_data_dir_option_then_env_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served(tmp_path / "opt", secret="opt")
    served(tmp_path / "env", secret="env")
    served(tmp_path / "reelflow-data", secret="cwd")
    monkeypatch.chdir(tmp_path)
    env = {"REELFLOW_DATA_DIR": str(tmp_path / "env")}
    assert find_server(data_dir=tmp_path / "opt", env=env).key == "opt"
    assert find_server(env=env).key == "env"
    found = find_server(env={})
    assert (found.key, found.url) == ("cwd", "http://127.0.0.1:9999")
    assert found.key_from == "reelflow-data/admin-key.json"


def test_default_address_with_a_key_only(tmp_path: Path) -> None:
    found = find_server(None, None, tmp_path, env={"REELFLOW_KEY": "k"})
    assert (found.url, found.url_from) == ("http://127.0.0.1:8080", "the default address")


def test_no_key_names_every_place_looked_at(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        find_server(None, None, tmp_path / "none", env={})
    message = caught.value.message
    for place in ("--url/--key", "REELFLOW_URL/REELFLOW_KEY", "admin-key.json", "--data-dir",
                  "REELFLOW_DATA_DIR", "./reelflow-data", "http://127.0.0.1:8080"):  # fmt: skip
        assert place in message, place
    assert str((tmp_path / "none" / "admin-key.json").resolve()) in message


def test_a_broken_key_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "admin-key.json").write_text("{")
    with pytest.raises(ConfigError, match=r"admin-key\.json"):
        find_server(None, None, tmp_path, env={})


def test_outputs_of_every_kind() -> None:
    cos = {"Type": "COS", "CosOutputStorage": {"Bucket": "other", "Region": ""}}
    doc = {
        "input": {"bucket": "media", "key": "in/a.mp4"},
        "subtasks": [
            {"index": 0, "status": "SUCCESS",
             "outputs": {"OutputStorage": cos, "Path": "/out/a.mp4", "Size": 1234}},
            {"index": 1, "status": "SUCCESS",
             "outputs": {"PicInfoSet": [{"Path": "/out/a_1.jpg"}, {"Path": "/out/a_2.jpg"}]}},
            {"index": 2, "status": "SUCCESS",
             "outputs": {"Storage": cos, "ImagePathSet": ["/out/s_0.jpg"],
                         "WebVttPath": "/out/s.vtt"}},
            {"index": 3, "status": "FAIL", "outputs": {"Path": "/out/never.gif"}},
        ],
    }  # fmt: skip
    assert task_outputs(doc) == [
        TaskOutput(0, "other", "out/a.mp4", 1234),
        TaskOutput(1, "media", "out/a_1.jpg", None),
        TaskOutput(1, "media", "out/a_2.jpg", None),
        TaskOutput(2, "other", "out/s_0.jpg", None),
        TaskOutput(2, "other", "out/s.vtt", None),
    ]
