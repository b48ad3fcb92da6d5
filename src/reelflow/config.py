"""Typed settings from REELFLOW_* environment variables (and, later, reelflow.toml).

Built once at start-up and passed down; nothing reads the environment elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

X264_PRESETS = (
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
)
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


class Settings(BaseSettings):
    """Every knob of a reelflow process."""

    model_config = SettingsConfigDict(env_prefix="REELFLOW_", extra="ignore")

    data_dir: Path = Field(default=Path("reelflow-data"))
    database_url: str = ""
    executor: Literal["local", "celery"] = "local"
    broker_url: str = ""
    ffmpeg: str = ""
    workers: int = Field(default=max(1, min(4, (os.cpu_count() or 2) // 2)), ge=1, le=64)
    video_preset: X264Preset = "medium"
    job_timeout: float = Field(default=6 * 3600.0, gt=0)
    lease_seconds: float = Field(default=30.0, gt=1)
    max_attempts: int = Field(default=3, ge=1, le=20)
    max_upload_bytes: int = Field(default=50 * 1024**3, ge=1)
    max_json_bytes: int = Field(default=1024**2, ge=1024)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'reelflow.db').resolve()}"
