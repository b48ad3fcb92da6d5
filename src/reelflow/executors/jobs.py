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
from pathlib import Path, PurePosixPath

from reelflow.backoff import Patience
from reelflow.errors import ConfigError, FFmpegFailed, JobCancelled, StorageUnavailable
from reelflow.executors.base import JobContext, JobKind, JobPayload, JobResult, SubTaskOutcome
from reelflow.executors.outputs import commit_work
from reelflow.executors.source_cache import SourceCache
from reelflow.media.command import build_command
from reelflow.media.probe import MediaInfo, probe
from reelflow.media.progress import Progress
from reelflow.media.runner import FFmpegRunner
from reelflow.planner.works import parse_works
from reelflow.specs.requests import TaskSource
from reelflow.storage.base import Storage, retry_unavailable
from reelflow.storage.registry import StorageRegistry
from reelflow.storage.urls import UrlSources

log = logging.getLogger(__name__)

# How long a job waits inside its attempt for a store that is away (reading the source,
# writing outputs) before it gives the attempt up; the engine then requeues the job with
# backoff within the outage budget (see reelflow.engine.outages), so this only saves the
# requeue for a blip of a few seconds.
OUTAGE_PATIENCE = 20.0


def outage_patience(budget: float) -> float:
    """The in-attempt patience for an outage budget of ``budget`` seconds: a small part of
    it, so that the budget, not the patience, decides when a task fails."""
    return min(OUTAGE_PATIENCE, budget / 10)


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
        outage_patience: float = OUTAGE_PATIENCE,
    ) -> None:
        self.runner = FFmpegRunner(ffmpeg)
        self.storages = storages
        self.scratch = scratch
        self.font = find_font()
        self.urls = UrlSources(url_max_bytes, url_timeout)
        self.outage_patience = outage_patience
        self.sources = SourceCache(scratch / "source-cache")

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
        fetched, capped). An object of a bucket whose files are not local is fetched to the
        work folder first (once per machine and version: see :meth:`_fetched`), so FFmpeg
        and PyAV read a local file and a store that is away is reported as such
        (``StorageUnavailable``), never as bad media or an FFmpeg failure.
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
        yield str(self._fetched(storage, source.key, work_dir))

    def _fetched(self, storage: Storage, key: str, work_dir: Path) -> Path:
        """``key`` copied into ``work_dir``: fetched with ranged reads that resume where a
        cut stopped them, retried for ``outage_patience`` s of outage, then shared through
        the machine's source cache with the task's other jobs (keyed by the ETag)."""
        patience = self.outage_patience
        info = retry_unavailable(lambda: storage.stat(key), Patience(patience))
        suffix = PurePosixPath(key).suffix[:16]
        return self.sources.link(
            f"{storage.name}/{key}",
            info.etag,
            work_dir / f"source{suffix}",
            lambda entry: storage.fetch_to(key, entry, patience=patience),
            suffix=suffix,
            size=info.size,
        )

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
            except FFmpegFailed as exc:
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
            outcomes: list[SubTaskOutcome] = []
            for work in works:
                if ctx.cancel.is_set():
                    raise JobCancelled("the job was cancelled")
                try:
                    outcome = commit_work(
                        work,
                        command.outputs[work.index],
                        self.storages.get,
                        patience=self.outage_patience,
                    )
                except StorageUnavailable as exc:
                    # An outage: the sub-tasks committed so far keep their outputs, the rest
                    # wait for the job's next try (not counted as an attempt by the engine).
                    log.warning("job %s: %s", job.job_id, exc.message)
                    return JobResult(
                        job_id=job.job_id,
                        ok=False,
                        error_code=exc.code,
                        message=exc.message,
                        retryable=True,
                        subtasks=outcomes,
                    )
                outcomes.append(outcome)
            ctx.progress(100.0)
        return JobResult(job_id=job.job_id, ok=True, subtasks=outcomes)
