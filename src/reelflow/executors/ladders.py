"""An adaptive-streaming sub-task in a job: once the job's one FFmpeg command has encoded
the ladder beside its other outputs (``reelflow.media.command``: one decode), publish the
package in scratch, check it with the stream checker, then commit its files in the
package's commit order.

The package is written whole into the job's work folder (``reelflow.media.ladder``), checked
there (``reelflow.media.streamcheck``: every manifest, every segment), and only a package
that passed is stored: segments and init sections first, then media and I-frame playlists,
then the MPD and the master playlist (``LadderPackage.files`` is in that order), so a reader
never finds a manifest naming a segment that is not stored yet. A failed check fails the
sub-task with ``FailedOperation.StreamCheck`` naming the rule ids, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reelflow.errors import (
    MediaError,
    ReelflowError,
    SpecError,
    StorageError,
    StorageUnavailable,
    StreamCheckFailed,
)
from reelflow.executors.outputs import Committer
from reelflow.media.ladder import LadderCommand, publish_ladder
from reelflow.media.streamcheck import StreamCheck, check_stream
from reelflow.specs.jobs import SubTaskOutcome
from reelflow.specs.outputs import (
    MAX_CHECK_FAILURES,
    AdaptiveStreamingResult,
    CheckedRendition,
    CheckFailure,
    StreamCheckSummary,
)
from reelflow.specs.packages import LadderPackage
from reelflow.specs.works import LadderWork
from reelflow.storage.base import Storage


def check_package(package: LadderPackage, out_dir: Path) -> StreamCheckSummary:
    """Every manifest of ``package`` (in ``out_dir``) through the stream checker: both for a
    CMAF package. ``manifests`` are the package's own names (keys once stored)."""
    manifests = [name for name in (package.master, package.mpd) if name]
    checks = [check_stream(str(out_dir / name)) for name in manifests]
    return summarize(checks, manifests)


def summarize(checks: list[StreamCheck], manifests: list[str]) -> StreamCheckSummary:
    failures = [failure for check in checks for failure in check.failures]
    return StreamCheckSummary(
        passed=all(check.passed for check in checks),
        manifests=manifests,
        failed_rules=sorted({failure.rule for failure in failures}),
        failures=[
            CheckFailure(rule=f.rule, where=f.where, message=f.message)
            for f in failures[:MAX_CHECK_FAILURES]
        ],
        renditions=[
            CheckedRendition(
                name=r.name,
                kind=r.kind,
                codecs=list(r.codecs),
                segments=r.segments,
                bandwidth_peak=r.bandwidth_peak,
                bandwidth_average=r.bandwidth_average,
                declared_bandwidth=r.declared_bandwidth,
                declared_average_bandwidth=r.declared_average_bandwidth,
            )
            for check in checks
            for r in check.renditions
        ],
    )


def check_error(summary: StreamCheckSummary) -> StreamCheckFailed | None:
    """The sub-task's error for a check that failed (None when it passed): one code,
    ``FailedOperation.StreamCheck``, and the failed rule ids first in the message, then the
    first failure's place and words."""
    if summary.passed:
        return None
    rules = ", ".join(summary.failed_rules) or "unknown"
    first = summary.failures[0] if summary.failures else None
    detail = f"; first: {first.where}: {first.message}" if first else ""
    return StreamCheckFailed(
        f"the packaged ladder failed the stream check (rules: {rules}){detail}"
    )


def commit_package(
    work: LadderWork,
    package: LadderPackage,
    out_dir: Path,
    summary: StreamCheckSummary,
    storage_for: Callable[[str], Storage],
    *,
    patience: float = 0.0,
) -> SubTaskOutcome:
    """Store the checked package in commit order and describe it; never raises for the
    sub-task's own failure. ``StorageUnavailable`` (after removing what was stored) is the
    job's: an outage, tried again."""
    try:
        committer = Committer(storage_for(work.bucket), patience)
    except ReelflowError as exc:
        return SubTaskOutcome(index=work.index, ok=False, error_code=exc.code, message=exc.message)
    try:
        for file in package.files:
            committer.put(work.folder + file.path, out_dir / file.path)
    except StorageUnavailable as exc:
        committer.rollback()
        raise StorageUnavailable(
            f"output could not be written to bucket {work.bucket!r}: {exc.message}",
            dependency=exc.dependency or f"bucket '{work.bucket}'",
        ) from exc
    except StorageError as exc:
        committer.rollback()
        message = f"output could not be written to bucket {work.bucket!r}: {exc.message}"
        return SubTaskOutcome(index=work.index, ok=False, error_code=exc.code, message=message)
    entry = package.master or package.mpd
    result = AdaptiveStreamingResult(
        definition=work.definition,
        bucket=work.bucket,
        format=package.format,
        segment_type=package.segment_type,
        path=work.folder + entry,
        mpd_path=work.folder + package.mpd if package.master and package.mpd else "",
        file_count=len(package.files),
        size=package.total_size,
        renditions=package.renditions,
        # The manifests as stored (the checker read them under their names in scratch).
        check=summary.model_copy(
            update={"manifests": [work.folder + name for name in summary.manifests]}
        ),
    )
    return SubTaskOutcome(index=work.index, ok=True, output=result)


def finish_ladder(
    work: LadderWork,
    command: LadderCommand,
    work_dir: Path,
    storage_for: Callable[[str], Storage],
    *,
    patience: float = 0.0,
) -> SubTaskOutcome:
    """After the job's command ran: publish the ladder FFmpeg wrote (``command``) into the
    package folder, check it, commit it: the sub-task's outcome. A media failure (a segment
    that cannot be read back, a failed check) fails this sub-task only; ``StorageUnavailable``
    is the job's."""
    out_dir = work_dir / f"ladder{work.index}"
    try:
        package = publish_ladder(command, work.ladder, out_dir, work.names)
        summary = check_package(package, out_dir)
        error = check_error(summary)
        if error is not None:
            raise error
    except (MediaError, SpecError) as exc:
        return SubTaskOutcome(index=work.index, ok=False, error_code=exc.code, message=exc.message)
    return commit_package(work, package, out_dir, summary, storage_for, patience=patience)
