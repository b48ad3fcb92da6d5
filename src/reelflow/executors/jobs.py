"""Running one job: the same code in the local pool and on a cluster worker.

``JobRuntime`` is built once per process (FFmpeg binary, buckets, scratch folder); calling
it with a ``JobPayload`` runs the job and returns its ``JobResult``. Failures that concern
the whole job raise ``ReelflowError`` (the executor turns it into a failed result, retried
when the error type says so); failures of one sub-task become that sub-task's outcome.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reelflow.errors import ConfigError, FFmpegFailed, JobCancelled, ReelflowError
from reelflow.executors.base import JobContext, JobKind, JobPayload, JobResult, SubTaskOutcome
from reelflow.executors.disk import disk_full_as_error, scratch_full
from reelflow.executors.outputs import commit_work
from reelflow.media.command import build_command
from reelflow.media.probe import MediaInfo, probe
from reelflow.media.progress import Progress
from reelflow.media.runner import FFmpegRunner
from reelflow.planner.works import parse_works
from reelflow.specs.requests import TaskSource
from reelflow.storage.registry import StorageRegistry
from reelflow.storage.urls import UrlSources

log = logging.getLogger(__name__)

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
)


def find_font() -> str:
    """A TrueType font for text watermarks; empty = let FFmpeg's fontconfig choose."""
    return next((p for p in FONT_CANDIDATES if Path(p).exists()), "")


class JobRuntime:
    """Everything a process needs to run jobs; callable as a ``JobRunner``."""

    def __init__(
        self,
        ffmpeg: Path,
        storages: StorageRegistry,
        scratch: Path,
        *,
        url_max_bytes: int = 20 * 1024**3,
        url_timeout: float = 30.0,
    ) -> None:
        self.runner = FFmpegRunner(ffmpeg)
        self.storages = storages
        self.scratch = scratch
        self.font = find_font()
        self.urls = UrlSources(url_max_bytes, url_timeout)

    def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
        if job.kind is JobKind.PROBE:
            return self._probe(job)
        return self._media(job, ctx)

    @contextmanager
    def _source(
        self, source: TaskSource, work_dir: Path, *, expires: float = 3600
    ) -> Iterator[str]:
        """A path or URL FFmpeg and PyAV can read for ``source``.

        A URL is read directly once its size is known to be within the limit (else it is
        fetched, capped); an S3 object through a presigned URL valid for ``expires`` s.
        """
        if source.type == "file":
            yield source.path
            return
        if source.type == "url":
            if self.urls.size(source.url) is not None:
                yield source.url
            else:
                yield str(self.urls.fetch(source.url, work_dir / "source"))
            return
        storage = self.storages.get(source.bucket)
        local = storage.local_path(source.key)
        if local is not None:  # local_path already raised ObjectNotFound if it is missing
            yield str(local)
            return
        # Valid for the whole job: FFmpeg opens the URL again when it seeks (moov at the end).
        url = storage.presigned_url(source.key, expires=int(expires) + 600)
        if url is not None:
            yield url
            return
        yield str(storage.fetch_to(source.key, work_dir / "source"))

    @contextmanager
    def _work_dir(self, job: JobPayload) -> Iterator[Path]:
        self.scratch.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=f"{job.job_id}-", dir=self.scratch))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def _probe(self, job: JobPayload) -> JobResult:
        with self._work_dir(job) as work_dir, self._source(job.source, work_dir) as src:
            info = probe(src)
        return JobResult(job_id=job.job_id, ok=True, media_info=info.to_dict())

    def _media(self, job: JobPayload, ctx: JobContext) -> JobResult:
        with disk_full_as_error(f"job {job.job_id}: writing to the scratch folder"):
            return self._media_in_scratch(job, ctx)

    def _media_in_scratch(self, job: JobPayload, ctx: JobContext) -> JobResult:
        if job.media_info is None:
            raise ConfigError("a media job needs the source's probe (media_info)")
        info = MediaInfo.from_dict(job.media_info)
        works = parse_works(job.works)
        with (
            self._work_dir(job) as work_dir,
            self._source(job.source, work_dir, expires=job.timeout) as src,
        ):
            command = build_command(
                src, info, works, work_dir, video_preset=job.video_preset, font_file=self.font
            )
            for path, data in command.files.items():
                path.write_bytes(data)

            def on_progress(p: Progress) -> None:
                # 95 % at most until the outputs are stored; command.duration is the
                # longest output, which is what out_time runs to (not the source length).
                ctx.progress(95.0 * p.fraction_of(command.duration))

            try:
                self.runner.run(
                    command.args, timeout=job.timeout, on_progress=on_progress, cancel=ctx.cancel
                )
            except FFmpegFailed as ffmpeg_failed:
                # A full scratch disk is named as such, not as an FFmpeg failure.
                exc: ReelflowError = (
                    scratch_full(work_dir, f"job {job.job_id}: FFmpeg's outputs") or ffmpeg_failed
                )
                log.warning("job %s: FFmpeg failed: %s", job.job_id, exc.message)
                failed = [
                    SubTaskOutcome(
                        index=w.index, ok=False, error_code=exc.code, message=exc.message
                    )
                    for w in works
                ]
                return JobResult(
                    job_id=job.job_id,
                    ok=False,
                    error_code=exc.code,
                    message=exc.message,
                    subtasks=failed,
                )
            outcomes = []
            for work in works:
                if ctx.cancel.is_set():
                    raise JobCancelled("the job was cancelled")
                outcomes.append(commit_work(work, command.outputs[work.index], self.storages.get))
            ctx.progress(100.0)
        return JobResult(job_id=job.job_id, ok=True, subtasks=outcomes)
