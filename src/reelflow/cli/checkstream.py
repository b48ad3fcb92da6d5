"""``reelflow check-stream``: check an HLS or DASH ladder against the authoring rules.

A thin front of ``reelflow.media.streamcheck``: it prints one line per rule result (failures
first, naming the rendition and the segment) or the JSON of the whole check, and exits 0 when
every rule passed, 1 when one failed, 2 when the manifest itself could not be read.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from reelflow.errors import ReelflowError

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_UNREADABLE = 2


def check_stream_command(
    location: Annotated[
        str, typer.Argument(help="The master playlist or MPD: a file path or an http(s) URL.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole check as one JSON document.")
    ] = False,
    show_passed: Annotated[
        bool, typer.Option("--passed/--failures-only", help="List the rules that passed too.")
    ] = True,
) -> None:
    """Check an HLS or DASH ladder: master and media playlists or the MPD, and every segment.

    Rules (ids in docs/streaming.md): declared bandwidths, codecs, resolution and frame rate
    against the measured segments; target and segment durations; a keyframe at each segment
    start; boundaries aligned across renditions; I-frame playlists; decodable first and last
    segments. URLs are read through the egress policy (REELFLOW_EGRESS_ALLOW). Exit code 0
    when every rule passed, 1 when one failed, 2 when the manifest cannot be read.
    """
    from reelflow.media.streamcheck import check_stream
    from reelflow.media.streamcheck.fetch import StreamReader, is_url

    egress = None
    timeout = 30.0
    if is_url(location):
        from reelflow.cli.settings import settings_or_exit
        from reelflow.net.egress import EgressPolicy

        settings = settings_or_exit()
        egress = EgressPolicy.from_settings(settings)
        timeout = settings.url_timeout
    try:
        with StreamReader(egress=egress, timeout=timeout) as reader:
            result = check_stream(location, reader=reader)
    except ReelflowError as exc:
        if as_json:
            error = {"source": location, "error": {"code": exc.code, "message": exc.message}}
            typer.echo(json.dumps(error, indent=2))
        else:
            typer.echo(f"reelflow: cannot check {location}: {exc.message}", err=True)
        raise typer.Exit(EXIT_UNREADABLE) from None
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    else:
        for item in result.results:
            if item.passed and not show_passed:
                continue
            status = "pass" if item.passed else "FAIL"
            line = f"{status}  {item.rule:<32} {item.where}"
            typer.echo(f"{line}: {item.message}" if item.message else line)
        for rendition in result.renditions:
            declared = (
                f", declared {rendition.declared_bandwidth}"
                if rendition.declared_bandwidth is not None
                else ""
            )
            typer.echo(
                f"rendition {rendition.name}: {rendition.kind} {','.join(rendition.codecs)}, "
                f"{rendition.segments} segments, peak {rendition.bandwidth_peak} bit/s, "
                f"average {rendition.bandwidth_average} bit/s{declared}"
            )
        failed = len(result.failures)
        verdict = "passed" if result.passed else f"FAILED ({failed} failures)"
        typer.echo(f"{result.format.upper()} ladder {result.source}: {verdict}")
    raise typer.Exit(EXIT_PASSED if result.passed else EXIT_FAILED)
