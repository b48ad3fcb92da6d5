"""Planned works that name the objects they write, for the trigger ledger's tests."""

from __future__ import annotations

from reelflow.specs.templates import (
    AnimatedGraphicsTemplate,
    ImageSpriteTemplate,
    SampleSnapshotTemplate,
)
from reelflow.specs.works import AnimatedWork, ImageSpriteWork, SampleSnapshotWork, TranscodeWork
from tests.unit.engine.fakes import transcode_template


def transcode(bucket: str, key: str, segments: str = "") -> TranscodeWork:
    return TranscodeWork(
        index=0,
        definition=100010,
        bucket=bucket,
        template=transcode_template(),
        key=key,
        segment_key_pattern=segments,
    )


def sprite(bucket: str, keys: list[str], vtt_key: str) -> ImageSpriteWork:
    template = ImageSpriteTemplate(
        sample_type="Percent", sample_interval=50, row_count=1, column_count=2
    )
    return ImageSpriteWork(
        index=1,
        definition=10,
        bucket=bucket,
        template=template,
        width=160,
        height=90,
        interval=5.0,
        cells=2,
        keys=keys,
        vtt_key=vtt_key,
        duration=10.0,
    )


def samples(bucket: str, keys: list[str]) -> SampleSnapshotWork:
    template = SampleSnapshotTemplate(sample_type="Time", sample_interval=10)
    return SampleSnapshotWork(
        index=2, definition=10, bucket=bucket, template=template, width=160, height=90,
        interval=10.0, keys=keys,
    )  # fmt: skip


def animated(bucket: str, key: str) -> AnimatedWork:
    return AnimatedWork(
        index=3, definition=20000, bucket=bucket, template=AnimatedGraphicsTemplate(fps=10),
        width=160, height=90, start=0.0, end=2.0, key=key,
    )  # fmt: skip
