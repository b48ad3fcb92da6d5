"""Running one job: the same code in the local pool and on a cluster worker.

``JobRuntime`` is built once per process (FFmpeg binary, buckets, scratch folder); calling
it with a ``JobPayload`` runs the job and returns its ``JobResult``. Failures that concern
the whole job raise ``ReelflowError`` (the executor turns it into a failed result, retried
when the error type says so); failures of one sub-task become that sub-task's outcome.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path, PurePosixPath

from reelflow.backoff import Patience
from reelflow.errors import (
    AccessDenied,
    ConfigError,
    FFmpegFailed,
    JobCancelled,
    MediaError,
    ReelflowError,
    SpecError,
    StorageUnavailable,
)
from reelflow.executors.base import JobContext
from reelflow.executors.chunks import ChunkJobs
from reelflow.executors.disk import disk_full_as_error, scratch_full
from reelflow.executors.edits import edit_command, head_tail_command
from reelflow.executors.ladders import finish_ladder
from reelflow.executors.outputs import commit_work
from reelflow.executors.pertitle import (
    PerTitlePlan,
    analyse_ladder,
    analyse_set,
    annotate_transcode,
    per_title_outcome,
    per_title_set,
    reencode_misses,
    reencode_set_miss,
)
from reelflow.executors.quality import (
    Scored,
    ScoringPlan,
    plan_scoring,
    score_works,
    scored,
    scored_output,
)
from reelflow.executors.scratch import Scratch
from reelflow.executors.source_cache import SourceCache
from reelflow.media.command import Command, WorkFiles, build_command
from reelflow.media.probe import MAX_INPUT_PIXELS, probe
from reelflow.media.progress import Progress
from reelflow.media.runner import FFmpegRunner
from reelflow.net.egress import EgressPolicy
from reelflow.specs.jobs import JobKind, JobPayload, JobResult, SubTaskOutcome
from reelflow.specs.media import MediaInfo
from reelflow.specs.requests import TaskSource
from reelflow.specs.works import EditWork, LadderWork, TranscodeWork, Work
from reelflow.storage.base import Storage, retry_unavailable
from reelflow.storage.registry import StorageRegistry
from reelflow.storage.urls import UrlSources, read_head, redact, refuse_manifest

log = logging.getLogger(__name__)


def _per_title_figures(
    work: Work, outcome: SubTaskOutcome, plan: PerTitlePlan | None
) -> SubTaskOutcome:
    """A stored sub-task's outcome with its per-title choices (a ladder's rungs, a
    transcode of a per-title set)."""
    if isinstance(work, TranscodeWork):
        return annotate_transcode(outcome, plan, work)
    return per_title_outcome(outcome, plan)


_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")

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


def _suffix(url: str) -> str:
    """The URL path's extension (``.mp4``), kept on the local copy for formats FFmpeg
    recognises by name; empty when there is none that is plain."""
    match = _SUFFIX.search(redact(url).rsplit("/", 1)[-1])
    return match.group(0).lower() if match else ""


def _named(job: JobPayload) -> str:
    """The job's source as the account named it (``bucket/key``, the URL without its query),
    for messages: never the path of the server's copy."""
    source = job.source
    if source.type == "url":
        return redact(source.url)
    if source.type == "file":
        return source.path
    return f"{source.bucket}/{source.key}"


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
        outage_patience: float = OUTAGE_PATIENCE,
    ) -> None:
        self.runner = FFmpegRunner(ffmpeg)
        self.storages = storages
        self.scratch = self.runner.records = Scratch(scratch)  # it notes FFmpeg's children
        self.font = find_font()
        # URL inputs are fetched through the egress policy (default: public addresses only).
        self.urls = UrlSources(url_max_bytes, url_timeout, egress=egress)
        self.max_input_pixels = max_input_pixels
        self.outage_patience = outage_patience
        # Sources fetched to this machine (URL inputs and objects of remote buckets), shared
        # by the jobs of a task and by every process using this scratch folder.
        self.sources = SourceCache(scratch / "source-cache")
        self._chunk_jobs = ChunkJobs(self)

    def __call__(self, job: JobPayload, ctx: JobContext) -> JobResult:
        if job.kind is JobKind.PROBE:
            return self._probe(job)
        if job.kind in (JobKind.CHUNK, JobKind.JOIN):
            return self._chunked(job, ctx)
        return self._media(job, ctx)

    def _chunked(self, job: JobPayload, ctx: JobContext) -> JobResult:
        """A part of a chunked group (``reelflow.executors.chunks``); every part but the
        join reads the source (a URL's copy stays in the source cache until the join), and
        the join too when its outputs are scored."""
        with (
            disk_full_as_error(f"job {job.job_id}: writing to the scratch folder"),
            self._work_dir(job) as work_dir,
        ):
            if job.kind is JobKind.JOIN and not any(scored(w) for w in job.works):
                self._done_with_url(job)
                return self._chunk_jobs(job, ctx, "", work_dir)
            if job.kind is JobKind.JOIN:
                # Scores asked for: the joined outputs are scored against the source.
                with self._source(job, work_dir) as src:
                    result = self._chunk_jobs(job, ctx, src, work_dir)
                self._done_with_url(job)
                return result
            with self._source(job, work_dir) as src:
                return self._chunk_jobs(job, ctx, src, work_dir)

    @contextmanager
    def _source(self, job: JobPayload, work_dir: Path) -> Iterator[str]:
        """A path or URL FFmpeg and PyAV can read for the job's source.

        A URL input is fetched through the egress policy (capped by ``url_max_bytes``;
        ``UrlNotAllowed`` for a refused address or a playlist) and an object of a bucket
        whose files are not local with ranged reads that resume after a cut (retried while
        the store is away: ``StorageUnavailable``, never bad media or an FFmpeg failure).
        Either is fetched once per machine (see :meth:`_fetched`) into the job's work folder:
        FFmpeg and PyAV only ever read local files. A playlist or manifest, from a URL or a
        bucket, is refused (``UrlNotAllowed``).
        """
        source = job.source
        if source.type == "file":
            yield source.path
            return
        if source.type == "url":
            yield str(self._url_copy(job, work_dir))
            return
        yield str(self._bucket_copy(source, work_dir))

    def _bucket_copy(self, source: TaskSource, work_dir: Path) -> Path:
        """The bucket object's local file (or a copy fetched into ``work_dir``); a playlist
        in a bucket would make FFmpeg open the URLs (or other buckets' files) it names, so
        it is refused as for a URL input."""
        storage = self.storages.get(source.bucket)
        local = storage.local_path(source.key)  # raises ObjectNotFound if it is missing
        path = local if local is not None else self._fetched(storage, source.key, work_dir)
        try:
            with path.open("rb") as file:
                head = read_head(file)
        except OSError as exc:
            raise AccessDenied(f"source {source.bucket}/{source.key} is not readable") from exc
        refuse_manifest(head, f"{source.bucket}/{source.key}")
        return path

    def probe_source(self, source: TaskSource) -> MediaInfo:
        """Probe ``source`` now, as a task's probe job would (a URL fetched through the
        egress policy, a playlist refused, the pixel limit), for an answer that cannot wait
        for a task (the compatible ``DescribeMediaMetaData``). The URL's copy is not kept."""
        self.scratch.dir.mkdir(parents=True, exist_ok=True)
        work_dir = Path(tempfile.mkdtemp(prefix="probe-", dir=self.scratch.dir))
        try:
            if source.type == "url":
                label = redact(source.url)
                path = self.urls.fetch(source.url, work_dir / f"source{_suffix(source.url)}")
            elif source.type == "bucket":
                label = f"{source.bucket}/{source.key}"
                path = self._bucket_copy(source, work_dir)
            else:  # a server folder: only ``reelflow process`` reads those
                raise SpecError("only a bucket object or a URL can be probed here")
            return probe(path, max_pixels=self.max_input_pixels, label=label)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)

    def _fetched(self, storage: Storage, key: str, work_dir: Path) -> Path:
        """``key`` copied into ``work_dir``: fetched with ranged reads that resume where a
        cut stopped them, retried for ``outage_patience`` s of outage, then shared through
        the machine's source cache with the task's other jobs (keyed by the ETag)."""
        patience = self.outage_patience
        info = retry_unavailable(lambda: storage.stat(key), Patience(patience))
        suffix = PurePosixPath(key).suffix[:16]

        def fill(entry: Path) -> None:
            # One line per fetch: a task's jobs on this machine share it (a cluster test
            # counts them).
            log.info("source %s/%s: fetching %d bytes", storage.name, key, info.size)
            storage.fetch_to(key, entry, patience=patience, info=info)

        return self.sources.link(
            f"{storage.name}/{key}",
            info.etag,
            work_dir / f"source{suffix}",
            fill,
            suffix=suffix,
            size=info.size,
        )

    def _keep_for_readers(self, work: TranscodeWork, made: Path | None) -> None:
        """A rendition other sub-tasks read (the next stage of the task graph), stored in a
        bucket whose objects are not local files, is kept in the machine's source cache
        under the version just stored: a reader that runs on this machine links it from
        scratch instead of fetching it back (:meth:`_fetched`); elsewhere it is fetched.
        Only a speed-up: when it cannot be kept, the reader fetches."""
        if made is None or not made.exists() or work.template.container == "hls":
            return
        try:
            storage = self.storages.get(work.bucket)
            if storage.local_path(work.key) is not None:
                return  # the reader opens the bucket's own file
            version = storage.stat(work.key).etag
            suffix = PurePosixPath(work.key).suffix[:16]
            self.sources.seed(f"{storage.name}/{work.key}", version, made, suffix)
        except (ReelflowError, OSError) as exc:
            log.info("rendition %s/%s not kept for its readers: %s", work.bucket, work.key, exc)

    def _url_copy(self, job: JobPayload, work_dir: Path) -> Path:
        """The URL source as a file in ``work_dir``, fetched through the egress policy once
        per task and machine: the probe fills the source cache, keyed by the task (a URL has
        no version a server must tell), and the task's media job links to the same copy.
        The entry is dropped once no job of the task needs it (:meth:`_done_with_url`)."""
        url = job.source.url
        suffix = _suffix(url)
        return self.sources.link(
            f"url:{url}",
            f"task:{job.task_id}",
            work_dir / f"source{suffix}",
            lambda entry: self._fetch_url(url, entry),
            suffix=suffix,
        )

    def _done_with_url(self, job: JobPayload) -> None:
        """Drop the task's cached copy of its URL source: after a failed probe (no media job
        follows) or once the media job has read it. Another media job of the same task on
        this machine would fetch it again."""
        if job.source.type == "url":
            url = job.source.url
            self.sources.drop(f"url:{url}", f"task:{job.task_id}", _suffix(url))

    def _fetch_url(self, url: str, entry: Path) -> None:
        """Fill a cache entry atomically: fetched beside it, then renamed into place."""
        part = entry.with_name(f"{entry.name}.{uuid.uuid4().hex}.part")
        try:
            os.replace(self.urls.fetch(url, part), entry)
        finally:
            part.unlink(missing_ok=True)

    @contextmanager
    def _work_dir(self, job: JobPayload) -> Iterator[Path]:
        self.scratch.dir.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=f"{job.job_id}-", dir=self.scratch.dir))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def _probe(self, job: JobPayload) -> JobResult:
        try:
            with self._work_dir(job) as work_dir, self._source(job, work_dir) as src:
                info = probe(src, max_pixels=self.max_input_pixels, label=_named(job))
        except BaseException:
            self._done_with_url(job)
            raise
        return JobResult(job_id=job.job_id, ok=True, media_info=info)

    def _media(self, job: JobPayload, ctx: JobContext) -> JobResult:
        with disk_full_as_error(f"job {job.job_id}: writing to the scratch folder"):
            return self._media_in_scratch(job, ctx)

    def _media_in_scratch(self, job: JobPayload, ctx: JobContext) -> JobResult:
        if job.media_info is None:
            raise ConfigError("a media job needs the source's probe (media_info)")
        with (
            self._work_dir(job) as work_dir,
            self._source(job, work_dir) as src,
        ):
            self._done_with_url(job)  # this job holds its own link to the copy
            outcomes: list[SubTaskOutcome] = []
            edits = [w for w in job.works if isinstance(w, EditWork)]
            for edit in edits:  # an edit task's one job holds its one work
                try:
                    outcomes.append(self._edit(job, ctx, src, edit, work_dir, 95.0))
                except StorageUnavailable as exc:
                    return self._outage(job, exc, outcomes)
            if len(edits) < len(job.works):
                failed = self._fused(job, ctx, src, work_dir, outcomes)
                if failed is not None:
                    return failed
            ctx.progress(100.0)
        return JobResult(job_id=job.job_id, ok=True, subtasks=outcomes)

    def _edit(
        self, job: JobPayload, ctx: JobContext, src: str, work: EditWork, work_dir: Path,
        share: float,
    ) -> SubTaskOutcome:  # fmt: skip
        """Fetch and probe the join's other inputs (the first is the job's source), run its
        command and commit the file. A bad input or cut fails the sub-task; an input that
        cannot be read fails the job (retried when the error says so)."""
        assert job.media_info is not None
        with ExitStack() as stack:
            inputs = [(src, job.media_info)]
            for i, piece in enumerate(work.pieces[1:], start=1):
                other = job.model_copy(update={"source": piece.source})
                folder = work_dir / f"input{i}"
                folder.mkdir()
                path = stack.enter_context(self._source(other, folder))
                self._done_with_url(other)
                info = probe(path, max_pixels=self.max_input_pixels, label=_named(other))
                inputs.append((path, info))
            try:
                command = edit_command(work, inputs, work_dir, video_preset=job.video_preset)
            except SpecError as exc:
                return SubTaskOutcome(
                    index=work.index, ok=False, error_code=exc.code, message=exc.message
                )
            for path_, data in command.files.items():
                path_.write_bytes(data)

            def on_progress(p: Progress) -> None:
                ctx.progress(share * p.fraction_of(command.duration))

            try:
                self.runner.run(
                    command.args, timeout=job.timeout, on_progress=on_progress, cancel=ctx.cancel
                )
            except FFmpegFailed as exc:
                log.warning("job %s: join failed: %s", job.job_id, exc.message)
                return SubTaskOutcome(
                    index=work.index, ok=False, error_code=exc.code, message=exc.message
                )
        return commit_work(
            work, WorkFiles(main=command.output), self.storages.get, patience=self.outage_patience
        )

    def _outage(
        self, job: JobPayload, exc: StorageUnavailable, outcomes: list[SubTaskOutcome]
    ) -> JobResult:
        # An outage: the sub-tasks committed so far keep their outputs, the rest wait for
        # the job's next try (not counted as an attempt by the engine).
        log.warning("job %s: %s", job.job_id, exc.message)
        return JobResult(
            job_id=job.job_id,
            ok=False,
            error_code=exc.code,
            message=exc.message,
            retryable=True,
            subtasks=outcomes,
        )

    def _fused(
        self,
        job: JobPayload,
        ctx: JobContext,
        src: str,
        work_dir: Path,
        outcomes: list[SubTaskOutcome],
    ) -> JobResult | None:
        """Run the job's one FFmpeg command (every work, ladders included: one decode) and
        commit each work's files, adding each outcome to ``outcomes``; a ``JobResult`` when
        the job ends here (FFmpeg failed: every work of the job fails with it; an outage)."""
        job, plans = self._per_title(job, ctx, src, work_dir)
        assert job.media_info is not None
        works = [w for w in job.works if not isinstance(w, EditWork)]
        command = build_command(
            src,
            job.media_info,
            works,
            work_dir,
            video_preset=job.video_preset,
            font_file=self.font,
            threads=job.ffmpeg_threads,
        )
        for path, data in command.files.items():
            path.write_bytes(data)
        for ladder in command.ladders.values():
            ladder.raw_dir.mkdir(parents=True, exist_ok=True)  # the muxer's folder
        # Scores asked for: the same FFmpeg process scores the renditions as they are
        # encoded (one decode of the source; executors/quality.py).
        plan = plan_scoring(job, command, work_dir)
        # 95 % at most until the outputs are stored; the worst moments' pictures (when
        # scores are asked for) take the last twentieth of that.
        share = 95.0
        encode_share = share * 0.95 if plan is not None else share

        def on_progress(p: Progress) -> None:
            # command.duration is the longest output, which is what out_time runs to (not
            # the source length).
            ctx.progress(encode_share * p.fraction_of(command.duration))

        started = time.monotonic()
        try:
            try:
                self.runner.run(
                    plan.command.args if plan is not None else command.args,
                    timeout=job.timeout,
                    on_progress=on_progress,
                    cancel=ctx.cancel,
                )
            except FFmpegFailed as with_scores:
                if plan is None or scratch_full(work_dir, "") is not None:
                    raise
                # A score is an addition: the renditions are encoded once more without it.
                log.warning(
                    "job %s: encode with quality scoring failed, encoding without scores: %s",
                    job.job_id,
                    with_scores.message,
                )
                plan = None
                self.runner.run(
                    command.args,
                    timeout=job.timeout - (time.monotonic() - started),
                    on_progress=on_progress,
                    cancel=ctx.cancel,
                )
        except FFmpegFailed as ffmpeg_failed:
            # A full scratch disk is named as such, not as an FFmpeg failure.
            exc: ReelflowError = (
                scratch_full(work_dir, f"job {job.job_id}: FFmpeg's outputs") or ffmpeg_failed
            )
            log.warning("job %s: FFmpeg failed: %s", job.job_id, exc.message)
            failed = [
                SubTaskOutcome(index=w.index, ok=False, error_code=exc.code, message=exc.message)
                for w in job.works
            ]
            return JobResult(
                job_id=job.job_id,
                ok=False,
                error_code=exc.code,
                message=exc.message,
                subtasks=failed,
            )
        scores = self._scores(job, ctx, src, works, plan, started)
        ctx.progress(share)
        for planned in works:
            if ctx.cancel.is_set():
                raise JobCancelled("the job was cancelled")
            work = self._retry_misses(
                job, ctx, src, command, planned, plans.get(planned.index), scores, work_dir,
                job.timeout - (time.monotonic() - started),
            )  # fmt: skip
            if isinstance(work, TranscodeWork) and (work.heads or work.tails):
                joined = self._heads_tails(job, ctx, work, command.outputs[work.index], work_dir)
                if joined is not None:
                    outcomes.append(joined)
                    continue
            try:
                if isinstance(work, LadderWork):
                    outcome = finish_ladder(
                        work,
                        command.ladders[work.index],
                        work_dir,
                        self.storages.get,
                        patience=self.outage_patience,
                    )
                else:
                    outcome = commit_work(
                        work,
                        command.outputs[work.index],
                        self.storages.get,
                        patience=self.outage_patience,
                    )
            except StorageUnavailable as outage:
                return self._outage(job, outage, outcomes)
            found = scores.get(work.index)
            if found and outcome.ok:
                # The rendition is stored: its worst moment's pictures go next to it.
                output = scored_output(
                    work, outcome.output, found, self.storages.get, patience=self.outage_patience
                )
                outcome = outcome.model_copy(update={"output": output})
            outcome = _per_title_figures(work, outcome, plans.get(work.index))
            outcomes.append(outcome)
            if outcome.ok and isinstance(work, TranscodeWork) and work.read:
                self._keep_for_readers(work, command.outputs[work.index].main)
        return None

    def _retry_misses(
        self, job: JobPayload, ctx: JobContext, src: str, command: Command, work: Work,
        chosen: PerTitlePlan | None, scores: dict[int, list[Scored]], work_dir: Path,
        timeout: float,
    ) -> Work:  # fmt: skip
        """``work``, or for a per-title ladder whose rungs missed their targets the ladder
        re-encoded once (``reelflow.executors.pertitle``), its new scores in ``scores``;
        the same for a per-title transcode that missed its target."""
        if isinstance(work, TranscodeWork) and chosen is not None and work.index in scores:
            again, scores[work.index] = reencode_set_miss(
                self.runner, job, src, command, work, chosen, scores[work.index], work_dir,
                font_file=self.font, timeout=timeout, cancel=ctx.cancel,
            )  # fmt: skip
            return again
        if not (isinstance(work, LadderWork) and chosen is not None and work.index in scores):
            return work
        redone, scores[work.index] = reencode_misses(
            self.runner, job, src, command, work, chosen, scores[work.index], work_dir,
            timeout=timeout, cancel=ctx.cancel,
        )  # fmt: skip
        return redone

    def _per_title(
        self, job: JobPayload, ctx: JobContext, src: str, work_dir: Path
    ) -> tuple[JobPayload, dict[int, PerTitlePlan]]:
        """The job with its per-title ladders' rungs and its per-title transcodes' sizes
        and bitrates chosen (``reelflow.executors.pertitle``: the transcodes are one set,
        one analysis), and each one's analysis by work index; a ladder or set whose
        analysis fails keeps its fixed rungs (logged)."""
        plans: dict[int, PerTitlePlan] = {}
        works = list(job.works)
        for i, work in enumerate(works):
            if not (isinstance(work, LadderWork) and work.target_vmaf > 0 and work.ladder.video):
                continue
            try:
                works[i], plans[work.index] = analyse_ladder(
                    self.runner, job, src, work, work_dir, timeout=job.timeout, cancel=ctx.cancel
                )
            except MediaError as exc:
                log.warning("job %s: per-title analysis of %s failed, fixed ladder kept: %s",
                            job.job_id, work.index, exc.message)  # fmt: skip
        members = per_title_set(works)
        if members:
            try:
                chosen, plan = analyse_set(
                    self.runner, job, src, members, work_dir, timeout=job.timeout,
                    cancel=ctx.cancel,
                )  # fmt: skip
            except MediaError as exc:
                log.warning("job %s: per-title analysis of transcodes %s failed, templates' "
                            "rates kept: %s", job.job_id, [w.index for w in members],
                            exc.message)  # fmt: skip
            else:
                position = {id(w): i for i, w in enumerate(works)}
                for old, new in zip(members, chosen, strict=True):
                    works[position[id(old)]] = new
                    plans[new.index] = plan
        if not plans:
            return job, plans
        return job.model_copy(update={"works": works}), plans

    def _scores(
        self, job: JobPayload, ctx: JobContext, src: str, works: Sequence[Work],
        plan: ScoringPlan | None, started: float,
    ) -> dict[int, list[Scored]]:  # fmt: skip
        """After the job's FFmpeg run (logged: which sub-tasks one process made; a cluster
        test counts them), the scores of the renditions that asked for one."""
        log.info(
            "job %s: one FFmpeg process made sub-task(s) %s in %.2f s",
            job.job_id,
            ",".join(str(w.index) for w in works),
            time.monotonic() - started,
        )
        if plan is None:
            return {}
        timeout = job.timeout - (time.monotonic() - started)
        return score_works(self.runner, job, src, plan, timeout=timeout, cancel=ctx.cancel)

    def _heads_tails(
        self, job: JobPayload, ctx: JobContext, work: TranscodeWork, files: WorkFiles,
        work_dir: Path,
    ) -> SubTaskOutcome | None:  # fmt: skip
        """Join the work's head and tail clips around its rendition, in place (a second
        encode of the rendition: its own template, its own size and rates). A failed
        sub-task's outcome when a clip is unusable or the join fails; else ``None``."""
        main = files.main
        assert main is not None
        folder = work_dir / f"heads-tails{work.index}"
        folder.mkdir()
        with ExitStack() as stack:

            def fetched(clip: TaskSource, n: int) -> tuple[str, MediaInfo]:
                other = job.model_copy(update={"source": clip})
                into = folder / f"clip{n}"
                into.mkdir()
                path = stack.enter_context(self._source(other, into))
                self._done_with_url(other)
                return path, probe(path, max_pixels=self.max_input_pixels, label=_named(other))

            try:
                heads = [fetched(clip, n) for n, clip in enumerate(work.heads)]
                tails = [fetched(clip, len(heads) + n) for n, clip in enumerate(work.tails)]
                command = head_tail_command(
                    work,
                    (str(main), probe(main)),
                    heads,
                    tails,
                    folder,
                    video_preset=job.video_preset,
                )
                self.runner.run(command.args, timeout=job.timeout, cancel=ctx.cancel)
            except (SpecError, MediaError) as exc:
                log.warning("job %s: heads and tails of %s: %s", job.job_id, work.index, exc)
                return SubTaskOutcome(
                    index=work.index, ok=False, error_code=exc.code, message=exc.message
                )
        os.replace(command.output, main)
        return None
