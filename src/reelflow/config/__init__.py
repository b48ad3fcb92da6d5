"""Typed settings from ``REELFLOW_*`` environment variables and ``reelflow.toml``.

Built once at start-up and passed down; nothing reads the environment elsewhere. Precedence,
highest first: arguments (``Settings(data_dir=...)``), the environment, ``reelflow.toml``,
defaults. The file is ``$REELFLOW_CONFIG`` if set (it must exist), else
``<data dir>/reelflow.toml`` if present. Its top-level keys are the settings below
(``workers = 4``); the egress policy is the ``[network]`` table, buckets are tables (see
``reelflow.config.buckets``)::

    [network]
    egress_allow = ["10.0.0.0/8"]      # or REELFLOW_EGRESS_ALLOW=10.0.0.0/8,127.0.0.2/32

    [buckets.media]
    backend = "local"                  # <data dir>/buckets/media unless `path` is given
    [buckets.archive]
    backend = "s3"
    endpoint = "http://127.0.0.1:9000"
    region = "ap-guangzhou"
    bucket = "archive"
    access_key = "..."
    secret_key = "..."

Use :func:`load_settings` at start-up: it turns every problem into one ``ConfigError`` that
names the offending keys and the file.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from reelflow.config.buckets import BucketConfig
from reelflow.config.networks import Network, parse_networks
from reelflow.errors import ConfigError, InvalidKey
from reelflow.object_keys import validate_bucket_name

CONFIG_FILE = "reelflow.toml"
CONFIG_ENV = "REELFLOW_CONFIG"

X264Preset = Literal[
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
]
X264_PRESETS: tuple[str, ...] = get_args(X264Preset)


class Settings(BaseSettings):
    """Every knob of a reelflow process."""

    model_config = SettingsConfigDict(env_prefix="REELFLOW_", extra="ignore")

    data_dir: Path = Field(default=Path("reelflow-data"))
    config: Path | None = None  # REELFLOW_CONFIG: the reelflow.toml to read
    database_url: str = ""
    executor: Literal["local", "celery"] = "local"
    # Cluster mode (executor "celery"): the Celery broker (redis://... or amqp://...), the
    # queue jobs are sent to, how many jobs one scheduler keeps in flight (waiting in the
    # broker or running on a worker: about the workers' total concurrency divided by the
    # number of `serve` processes), and how long a dispatched job may wait for a worker
    # before the engine takes it back (a message lost by a broker restart comes back then).
    broker_url: str = ""
    celery_queue: str = Field(default="reelflow", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    cluster_slots: int = Field(default=16, ge=1, le=10_000)
    # A cluster runs the same jobs as one machine: every sub-task that reads the same input
    # is fused into one FFmpeg process (one fetch and one decode of the source per task).
    # True: each sub-task is its own job instead, so several workers start one short task
    # at once (the lowest latency on an idle cluster) at about 1.26x the CPU of every task
    # (each job decodes the source again; docs/deploy.md). Ignored by the local executor,
    # which always fuses.
    cluster_fanout: bool = False
    dispatch_timeout: float = Field(default=300.0, gt=1)
    # Jobs sent but adopted by no worker for this long, while no worker runs one of this
    # server's jobs: nobody reads the queue. The server takes them back and only probes it
    # (one job, re-sent with a growing interval) until a worker takes one.
    dispatch_stall_seconds: float = Field(default=60.0, ge=1)
    # A worker with a free thread that receives nothing for this long while messages wait
    # in its queue has a dead broker consumer: it exits (non-zero) to be restarted.
    worker_stall_seconds: float = Field(default=10.0, ge=2, le=3600)
    ffmpeg: str = ""
    workers: int = Field(default=max(1, min(4, (os.cpu_count() or 2) // 2)), ge=1, le=64)
    video_preset: X264Preset = "medium"
    # Threads of each FFmpeg process (decoder, filters, every encoder; 0 = FFmpeg's own
    # choice, about one per core). 1 makes N single-threaded workers on one machine stand in
    # for N machines in tests and benchmarks.
    ffmpeg_threads: int = Field(default=0, ge=0, le=256)
    # Chunked encoding (docs/chunking.md): a video output of a source longer than twice this
    # many seconds is encoded as chunks of about this length, in parallel; 0 turns it off.
    chunk_seconds: float = Field(default=60.0, ge=0, le=24 * 3600.0)
    # A first pass per chunk for H.264 at a bitrate (on), or one pass with a higher rate on
    # each chunk's first 0.5 s (off, the default): both keep the seams within the quality
    # bar (docs/chunking.md); the first pass costs about 1.5x the CPU of the chunks.
    chunk_first_pass: bool = False
    # Renditions at a VBR or ABR bitrate: each chunk's difficulty is probed first (a small
    # fast encode per chunk, in parallel) and the bitrate shared out over the chunks by it,
    # as a one-shot encode spends it (on, the default); off: every chunk aims at the
    # template's bitrate, and a hard chunk next to easy ones starves (docs/chunking.md).
    chunk_rates: bool = True
    # At most this many chunk boundaries per split job: a long output's split (a scene scan
    # around each boundary) runs as several jobs at once, each a contiguous range of the
    # boundaries (docs/chunking.md, "The split in parallel"); 0: one split job per output.
    chunk_split_boundaries: int = Field(default=8, ge=0, le=100_000)
    job_timeout: float = Field(default=6 * 3600.0, gt=0)
    lease_seconds: float = Field(default=30.0, gt=1)
    max_attempts: int = Field(default=3, ge=1, le=20)
    # Fair share between accounts (docs/scheduling.md): ready jobs are claimed round-robin
    # across the accounts that have some, ``account_weights`` times as often for a weighted
    # account (REELFLOW_ACCOUNT_WEIGHTS='{"7": 3}': account 7 gets three turns to another's
    # one), and at most ``max_running_per_account`` jobs of one account run at once (0: no cap).
    account_weights: dict[int, float] = Field(default_factory=dict)
    max_running_per_account: int = Field(default=0, ge=0, le=100_000)
    # Admission (docs/scheduling.md): an account with this many unfinished tasks (queued or
    # running) is refused another (LimitExceeded.TooManyQueuedTasks, REST 429); a workflow
    # or schedule triggered over it is deferred until the account is under it again.
    max_queued_tasks: int = Field(default=100_000, ge=1, le=100_000_000)
    # Retention: finished tasks older than this many days are deleted with their sub-tasks,
    # jobs, events and deliveries, in small batches by the scheduler (0: kept for ever).
    # Their outputs in buckets are never touched.
    task_retention_days: int = Field(default=30, ge=0, le=36_500)
    # Sub-tasks (the nodes of the task graph) in one task; a request never has more than 100.
    max_task_nodes: int = Field(default=100, ge=1, le=100)
    # A job that fails because a dependency is away (StorageError.Unavailable) is retried
    # with backoff, without counting attempts, until the outage has lasted this long.
    outage_budget_seconds: float = Field(default=900.0, gt=0, le=7 * 24 * 3600.0)
    max_upload_bytes: int = Field(default=50 * 1024**3, ge=1)
    max_json_bytes: int = Field(default=1024**2, ge=1024)
    # The first start of `reelflow serve` on a new database creates the enabled workflow
    # `default` (media/in/ -> media/out/); false: start with no workflow.
    default_workflow: bool = True
    # /metrics for Prometheus: a dedicated bearer token (REELFLOW_METRICS_TOKEN; an admin API
    # key works too), or no authentication at all (metrics_public = true, for a scraper on a
    # private network).
    metrics_token: SecretStr = SecretStr("")
    metrics_public: bool = False
    # Buckets by name; ``media`` (local) is added when not configured.
    buckets: dict[str, BucketConfig] = Field(default_factory=dict)
    # Folder watcher: a copied file fires once its size and mtime are stable this long.
    watch_settle_ms: int = Field(default=2000, ge=50, le=600_000)
    # http(s) sources: refused when larger (Content-Length) than this; network timeout.
    url_max_bytes: int = Field(default=20 * 1024**3, ge=1)
    url_timeout: float = Field(default=30.0, gt=0, le=3600)
    # The egress policy (reelflow.net.egress): CIDRs that URL inputs and notification
    # targets may reach besides public unicast addresses. Environment: comma-separated.
    egress_allow: Annotated[tuple[Network, ...], NoDecode] = ()
    # Sources with more pixels per video frame fail their probe (InvalidInput.TooLarge).
    # At most 178956970: still images beyond that are refused by the header reader anyway.
    max_input_pixels: int = Field(default=8192 * 8192, ge=64 * 64, le=178_956_970)
    # Notifications: how long a delivery is retried after its event (then it is dead),
    # the backoff between attempts, and the dispatcher's send threads.
    notify_max_retry_seconds: float = Field(default=24 * 3600.0, gt=0)
    notify_retry_base_seconds: float = Field(default=1.0, gt=0)
    notify_retry_cap_seconds: float = Field(default=600.0, gt=0)
    notify_workers: int = Field(default=8, ge=1, le=256)
    notify_per_target: int = Field(default=4, ge=1, le=256)
    notify_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # The console's stream players (hls.js, dash.js): a node_modules folder made by `npm ci`
    # from the checkout's package.json (`make players`). Unset: the checkout's own
    # node_modules (a source or editable install); a wheel installed elsewhere names one.
    player_dir: Path | None = None

    @field_validator("buckets")
    @classmethod
    def _check_bucket_names(cls, value: dict[str, BucketConfig]) -> dict[str, BucketConfig]:
        for name in value:
            try:
                validate_bucket_name(name)
            except InvalidKey as exc:
                raise ValueError(exc.message) from None
        return value

    @field_validator("account_weights")
    @classmethod
    def _check_weights(cls, value: dict[int, float]) -> dict[int, float]:
        for account, weight in value.items():
            if not 0.01 <= weight <= 1000:
                raise ValueError(
                    f"account {account}: a weight is between 0.01 and 1000, not {weight}"
                    " (REELFLOW_ACCOUNT_WEIGHTS)"
                )
        return value

    @field_validator("egress_allow", mode="before")
    @classmethod
    def _parse_egress_allow(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            try:
                return parse_networks(value)
            except ValueError as exc:
                raise ValueError(f"{exc} (network.egress_allow / REELFLOW_EGRESS_ALLOW)") from None
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'reelflow.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlSource(settings_cls), file_secret_settings)


def config_path(state: dict[str, Any]) -> tuple[Path | None, bool]:
    """The TOML file to read given the higher-priority values, and whether it was named
    explicitly (an explicit file must exist)."""
    explicit = state.get("config")
    if explicit:
        return Path(explicit), True
    data_dir = Path(state.get("data_dir") or "reelflow-data")
    return data_dir / CONFIG_FILE, False


class TomlSource(PydanticBaseSettingsSource):
    """``reelflow.toml``, located from the values of the arguments and the environment."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole file

    def __call__(self) -> dict[str, Any]:
        path, explicit = config_path(self.current_state)
        if path is None or not path.is_file():
            if explicit:
                raise ConfigError(f"{CONFIG_ENV} names {path}, which is not a file")
            return {}
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from exc
        data = _flatten_network(path, data)
        known = set(self.settings_cls.model_fields) - {"config", "data_dir", *_NETWORK_KEYS}
        unknown = sorted(set(data) - known - set(_NETWORK_KEYS))
        if unknown:
            raise ConfigError(
                f"{path}: unknown key(s) {', '.join(unknown)}; valid top-level keys: "
                f"{', '.join(sorted(known | {'network'}))} (data_dir and config come from the "
                "environment "
                "or the command line)"
            )
        return data


_NETWORK_KEYS = ("egress_allow",)


def _flatten_network(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The ``[network]`` table's keys as the top-level settings they are."""
    network = data.pop("network", None)
    if network is None:
        return data
    if not isinstance(network, dict):
        raise ConfigError(f"{path}: network must be a table ([network])")
    unknown = sorted(set(network) - set(_NETWORK_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) network.{', network.'.join(unknown)}; valid: "
            f"{', '.join('network.' + key for key in _NETWORK_KEYS)}"
        )
    return {**data, **network}


def load_settings(**overrides: Any) -> Settings:
    """``Settings(**overrides)``, every problem raised as one ``ConfigError`` naming the keys
    (``buckets.archive.endpoint: Field required``) and where settings come from."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        path, _ = config_path(
            {
                "config": overrides.get("config") or os.environ.get(CONFIG_ENV),
                "data_dir": overrides.get("data_dir") or os.environ.get("REELFLOW_DATA_DIR"),
            }
        )
        where = f"{path} and " if path is not None and path.is_file() else ""
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise ConfigError(
            f"invalid settings (from {where}REELFLOW_* variables): {problems}"
        ) from None
    return settings


def _describe(error: Any) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()) if part not in ("local", "s3"))
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "union_tag_invalid" or error.get("type") == "union_tag_not_found":
        message = "backend must be 'local' or 's3'"
    return f"{location or '(top level)'}: {message}"
