"""Running one job: the same code in the local pool and on a cluster worker.

``JobRuntime`` is built once per process (FFmpeg binary, buckets, scratch folder); calling
it with a ``JobPayload`` runs the job and returns its ``JobResult``. Failures that concern
the whole job raise ``ReelflowError`` (the executor turns it into a failed result, retried
when the error type says so); failures of one sub-task become that sub-task's outcome.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reelflow.errors import ConfigError, FFmpegFailed, JobCancelled
from reelflow.executors.base import JobContext, JobKind, JobPayload, JobResult, SubTaskOutcome
from reelflow.executors.outputs import commit_work
from reelflow.executors.scratch import Scratch
from reelflow.media.command import build_command
from reelflow.media.probe import MAX_INPUT_PIXELS, MediaInfo, probe
from reelflow.media.progress import Progress
from reelflow.media.runner import FFmpegRunner
from reelflow.net.egress import EgressPolicy
from reelflow.planner.works import parse_works
from reelflow.storage.registry import StorageRegistry
from reelflow.storage.urls import SNIFF_BYTES, UrlSources, redact, refuse_manifest

log = logging.getLogger(__name__)
SOURCES_DIR = "sources"  # <process scratch>/sources/<task id>: a URL source kept for the next job
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
)


def find_font() -> str:
    """A TrueType font for text watermarks; empty = let FFmpeg's fontconfig choose."""
    return next((p for p in FONT_CANDIDATES if Path(p).exists()), "")


def _suffix(url: str) -> str:
    """The URL path's extension (``.mp4``), kept on the local copy for formats FFmpeg
    recognises by name; empty when there is none that is plain."""
    match = _SUFFIX.search(redact(url).rsplit("/", 1)[-1])
    return match.group(0).lower() if match else ""


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
        egress: EgressPolicy | None = None,
        max_input_pixels: int = MAX_INPUT_PIXELS,
    ) -> None:
        self.runner = FFmpegRunner(ffmpeg)
        self.storages = storages
        self.scratch = self.runner.records = Scratch(scratch)  # it notes FFmpeg's children
        self.font = find_font()
        # URL inputs are fetched through the egress policy (default: public addresses only).
        self.urls = UrlSources(url_max_bytes, url_timeout, egress=egress)
        self.max_input_pixels = max_input_pixels

    def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
        if job.kind is JobKind.PROBE:
            return self._probe(job)
        return self._media(job, ctx)

    @contextmanager
    def _source(self, job: JobPayload, work_dir: Path, *, expires: float = 3600) -> Iterator[str]:
        """A path or URL FFmpeg and PyAV can read for the job's source.

        A URL input is fetched to ``work_dir`` through the egress policy (capped by
        ``url_max_bytes``; ``UrlNotAllowed`` for a refused address or a playlist) and read
        from there: FFmpeg never opens a user's URL itself (see :meth:`_url_copy`). An S3
        object of a configured bucket is read through a presigned URL valid for ``expires`` s;
        a playlist or manifest, from a URL or a bucket, is refused (``UrlNotAllowed``).
        """
        source = job.source
        if source.type == "file":
            yield source.path
            return
        if source.type == "url":
            yield str(self._url_copy(job, work_dir))
            return
        storage = self.storages.get(source.bucket)
        # A playlist in a bucket would make FFmpeg open the URLs (or other buckets' files)
        # it names: refused as for a URL input.
        head = storage.read_bytes(source.key, 0, SNIFF_BYTES - 1)
        refuse_manifest(head, f"{source.bucket}/{source.key}")
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

    def _url_copy(self, job: JobPayload, work_dir: Path) -> Path:
        """The URL source as a file in ``work_dir``, fetched once per task and machine where
        possible: a successful probe leaves a hard link in ``<scratch>/sources/<task id>``
        (:meth:`_keep_for_media`) that the task's media job takes over (and removes) instead
        of downloading again. A job that finds none fetches it itself. Hard links make
        removal safe: each job reads its own link, whoever unlinks the shared name."""
        dest = work_dir / ("source" + _suffix(job.source.url))
        shared = self._kept(job)
        if job.kind is JobKind.PROBE:
            shared.unlink(missing_ok=True)  # a probe tried again fetches afresh
        else:
            with contextlib.suppress(OSError):
                os.link(shared, dest)
                shared.unlink()  # the media job was the last to need it
                return dest
        # None kept (another machine probed, or the process restarted): fetch.
        return self.urls.fetch(job.source.url, dest)

    def _keep_for_media(self, job: JobPayload, copy: Path) -> None:
        """Keep the probed copy of a URL source for the task's media job on this machine."""
        shared = self._kept(job)
        shared.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # kept already, or no hard links here: refetch
            os.link(copy, shared)

    def _kept(self, job: JobPayload) -> Path:
        return self.scratch.dir / SOURCES_DIR / f"{job.task_id}{_suffix(job.source.url)}"

    @contextmanager
    def _work_dir(self, job: JobPayload) -> Iterator[Path]:
        self.scratch.dir.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=f"{job.job_id}-", dir=self.scratch.dir))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def _probe(self, job: JobPayload) -> JobResult:
        with self._work_dir(job) as work_dir, self._source(job, work_dir) as src:
            info = probe(src, max_pixels=self.max_input_pixels)
            if job.source.type == "url":
                self._keep_for_media(job, Path(src))
        return JobResult(job_id=job.job_id, ok=True, media_info=info.to_dict())

    def _media(self, job: JobPayload, ctx: JobContext) -> JobResult:
        if job.media_info is None:
            raise ConfigError("a media job needs the source's probe (media_info)")
        info = MediaInfo.from_dict(job.media_info)
        works = parse_works(job.works)
        with (
            self._work_dir(job) as work_dir,
            self._source(job, work_dir, expires=job.timeout) as src,
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
            outcomes = []
            for work in works:
                if ctx.cancel.is_set():
                    raise JobCancelled("the job was cancelled")
                outcomes.append(commit_work(work, command.outputs[work.index], self.storages.get))
            ctx.progress(100.0)
        return JobResult(job_id=job.job_id, ok=True, subtasks=outcomes)
