"""The ladder checker: does an HLS or DASH ladder follow the authoring rules?

``check_stream(location)`` reads a master playlist or an MPD (a local path or an http(s)
URL, through the egress policy), every media playlist, I-frame playlist and Representation it
names, and measures the segments with PyAV. It returns a :class:`StreamCheck`: one
:class:`RuleResult` per rule and place (failures first), and per rendition the codecs and the
measured peak and average bitrates. The rules and their stable ids are in :data:`RULES`.

    model.py     results, summaries and the rule table
    fetch.py     reading local files and URLs (byte ranges, egress policy)
    segments.py  measuring one segment with PyAV
    codecs.py    codec strings (avc1.64001f, mp4a.40.2) and their comparison
    ladder.py    renditions and the rules HLS and DASH share
    hls.py       HLS master, media and I-frame playlists
    dash.py      DASH MPDs
"""

from __future__ import annotations

from reelflow.errors import InvalidMedia
from reelflow.media.streamcheck.fetch import StreamReader, display
from reelflow.media.streamcheck.model import RULES, RenditionSummary, RuleResult, StreamCheck
from reelflow.net.egress import EgressPolicy

__all__ = [
    "RULES",
    "RenditionSummary",
    "RuleResult",
    "StreamCheck",
    "StreamReader",
    "check_stream",
]

_SNIFF = 4096


def check_stream(
    location: str,
    *,
    egress: EgressPolicy | None = None,
    reader: StreamReader | None = None,
) -> StreamCheck:
    """Check the ladder whose manifest is at ``location`` (path or http(s) URL).

    Raises:
        InvalidMedia: the manifest is neither an HLS playlist nor a DASH MPD.
        ObjectNotFound, AccessDenied, StorageError, UrlNotAllowed, LimitExceeded: the manifest
            itself cannot be read (a segment that cannot be read is a rule failure instead).
    """
    own = reader is None
    active = reader if reader is not None else StreamReader(egress=egress)
    try:
        raw = active.read(location)
        text = raw.decode("utf-8", "replace").lstrip("\ufeff")
        head = text[:_SNIFF].lstrip()
        if head.startswith("#EXTM3U"):
            from reelflow.media.streamcheck.hls import check_hls

            return check_hls(active, location, text)
        if "<MPD" in head:
            from reelflow.media.streamcheck.dash import check_dash

            return check_dash(active, location, text)
        raise InvalidMedia(
            f"{display(location)} is neither an HLS playlist (#EXTM3U) nor a DASH MPD (<MPD>)"
        )
    finally:
        if own:
            active.close()
