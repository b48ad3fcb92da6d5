"""reelflow.toml: buckets and settings, precedence, and errors that name the key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from reelflow.config import load_settings
from reelflow.config.buckets import LocalBucketConfig, S3BucketConfig
from reelflow.errors import ConfigError
from reelflow.storage.local.backend import LocalStorage
from reelflow.storage.registry import build_storages

S3_BUCKET = """
[buckets.archive]
backend = "s3"
endpoint = "http://127.0.0.1:9000/"
region = "ap-guangzhou"
bucket = "archive"
access_key = "AK"
secret_key = "SK"
prefix = "/reelflow/"
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REELFLOW_CONFIG", "REELFLOW_DATA_DIR", "REELFLOW_WORKERS", "REELFLOW_BUCKETS"):
        monkeypatch.delenv(name, raising=False)


def write(data_dir: Path, text: str) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "reelflow.toml"
    path.write_text(text)
    return path


def test_a_fresh_data_dir_has_the_local_media_bucket(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.buckets == {}
    registry = build_storages(settings)
    assert registry.names() == ["media"]
    media = registry.get("media")
    assert isinstance(media, LocalStorage)
    assert media.root == (tmp_path / "buckets" / "media").resolve()


def test_buckets_from_the_data_dir_file(tmp_path: Path) -> None:
    write(
        tmp_path, 'workers = 3\n[buckets.clips]\nbackend = "local"\npath = "/tmp/x"\n' + S3_BUCKET
    )
    settings = load_settings(data_dir=tmp_path)
    assert settings.workers == 3
    clips = settings.buckets["clips"]
    assert isinstance(clips, LocalBucketConfig)
    assert clips.path == Path("/tmp/x")
    assert clips.watch is True
    archive = settings.buckets["archive"]
    assert isinstance(archive, S3BucketConfig)
    assert archive.endpoint == "http://127.0.0.1:9000"
    assert archive.prefix == "reelflow/"
    assert (archive.owner, archive.events, archive.poll_interval) == ("admin", False, 60.0)


def test_s3_buckets_are_built_with_their_region(tmp_path: Path) -> None:
    write(tmp_path, S3_BUCKET)
    registry = build_storages(load_settings(data_dir=tmp_path))
    assert registry.names() == ["archive", "media"]
    archive = registry.get("archive")
    assert type(archive).__name__ == "S3Storage"
    assert archive.region == "ap-guangzhou"
    assert registry.get("media").region == ""


def test_missing_boto3_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, S3_BUCKET)
    monkeypatch.setitem(sys.modules, "reelflow.storage.s3.backend", None)  # import fails
    with pytest.raises(ConfigError, match=r"bucket 'archive'.*pip install 'reelflow\[s3\]'"):
        build_storages(load_settings(data_dir=tmp_path))


def test_environment_beats_the_file_and_arguments_beat_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "workers = 3\n")
    monkeypatch.setenv("REELFLOW_WORKERS", "5")
    assert load_settings(data_dir=tmp_path).workers == 5
    assert load_settings(data_dir=tmp_path, workers=7).workers == 7


def test_reelflow_config_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "etc", "workers = 2\n")
    monkeypatch.setenv("REELFLOW_CONFIG", str(path))
    assert load_settings(data_dir=tmp_path / "data").workers == 2
    monkeypatch.setenv("REELFLOW_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"REELFLOW_CONFIG names .*missing\.toml"):
        load_settings(data_dir=tmp_path / "data")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[buckets.a1]\nbackend = "s3"\nregion = "r"\n', r"buckets\.a1\.bucket: Field required"),
        ('[buckets.a1]\npath = "/x"\n', r"buckets\.a1: backend must be 'local' or 's3'"),
        ('[buckets.a1]\nbackend = "ftp"\n', r"buckets\.a1: backend must be 'local' or 's3'"),
        ('[buckets.a1]\nbackend = "local"\npth = "/x"\n', r"buckets\.a1\.pth: Extra inputs"),
        (
            S3_BUCKET.replace('"http://127.0.0.1:9000/"', '"ftp://x"'),
            r"buckets\.archive\.endpoint: .*http:// or https://",
        ),
        (
            S3_BUCKET.replace('secret_key = "SK"\n', ""),
            r"buckets\.archive: .*both access_key and secret_key",
        ),
        ('[buckets.Bad_Name]\nbackend = "local"\n', r"buckets: .*invalid bucket name 'Bad_Name'"),
        ("workers = 0\n", r"workers: Input should be greater than or equal to 1"),
        ("bogus = 1\n", r"unknown key\(s\) bogus"),
        ("workers = \n", r"not valid TOML"),
    ],
)
def test_errors_name_the_key_and_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(data_dir=tmp_path)
    assert str(path) in caught.value.message


def test_secrets_are_not_echoed_in_errors(tmp_path: Path) -> None:
    write(tmp_path, S3_BUCKET.replace('region = "ap-guangzhou"\n', ""))
    with pytest.raises(ConfigError) as caught:
        load_settings(data_dir=tmp_path)
    assert "SK" not in caught.value.message.replace("SKIP", "")
    assert "buckets.archive.region: Field required" in caught.value.message


def test_fair_share_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REELFLOW_ACCOUNT_WEIGHTS", '{"7": 3, "9": 0.5}')
    monkeypatch.setenv("REELFLOW_MAX_RUNNING_PER_ACCOUNT", "8")
    settings = load_settings(data_dir=tmp_path)
    assert settings.account_weights == {7: 3.0, 9: 0.5}
    assert settings.max_running_per_account == 8
    monkeypatch.setenv("REELFLOW_ACCOUNT_WEIGHTS", '{"7": 0}')
    with pytest.raises(ConfigError, match=r"account 7: a weight is between 0\.01 and 1000"):
        load_settings(data_dir=tmp_path)


def test_admission_and_retention_settings_default_and_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = load_settings(data_dir=tmp_path)
    assert (defaults.max_queued_tasks, defaults.task_retention_days) == (100_000, 30)
    monkeypatch.setenv("REELFLOW_MAX_QUEUED_TASKS", "250")
    monkeypatch.setenv("REELFLOW_TASK_RETENTION_DAYS", "0")
    settings = load_settings(data_dir=tmp_path)
    assert (settings.max_queued_tasks, settings.task_retention_days) == (250, 0)
    monkeypatch.setenv("REELFLOW_MAX_QUEUED_TASKS", "0")
    with pytest.raises(ConfigError, match="max_queued_tasks"):
        load_settings(data_dir=tmp_path)


def test_ffmpeg_threads_and_chunk_seconds_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert (settings.ffmpeg_threads, settings.chunk_seconds) == (0, 60.0)
    monkeypatch.setenv("REELFLOW_FFMPEG_THREADS", "1")
    monkeypatch.setenv("REELFLOW_CHUNK_SECONDS", "0")
    settings = load_settings(data_dir=tmp_path)
    assert (settings.ffmpeg_threads, settings.chunk_seconds) == (1, 0.0)
    assert not settings.chunk_first_pass  # one pass, warmed up
    monkeypatch.setenv("REELFLOW_CHUNK_FIRST_PASS", "true")
    assert load_settings(data_dir=tmp_path).chunk_first_pass
    assert settings.chunk_rates  # a bitrate shared out over the chunks by their difficulty
    monkeypatch.setenv("REELFLOW_CHUNK_RATES", "false")
    assert not load_settings(data_dir=tmp_path).chunk_rates
    assert settings.chunk_split_boundaries == 8  # boundaries per split job
    monkeypatch.setenv("REELFLOW_CHUNK_SPLIT_BOUNDARIES", "0")
    assert load_settings(data_dir=tmp_path).chunk_split_boundaries == 0
    monkeypatch.setenv("REELFLOW_FFMPEG_THREADS", "-1")
    with pytest.raises(ConfigError, match="ffmpeg_threads"):
        load_settings(data_dir=tmp_path)
