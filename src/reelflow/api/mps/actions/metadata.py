"""``DescribeMediaMetaData``: the ``MetaData`` of a bucket object or URL, probed now.

The same probe a task's probe job runs (``JobRuntime.probe_source``: the same fetching, the
egress policy for URLs, playlists refused, the pixel limit), rendered by the same function
as a task's ``MetaData`` (``compat.media``), so both answers agree for the same source.
``Mode`` (``slow``: a longer timeout at the vendor) is accepted and changes nothing.
"""

from __future__ import annotations

from typing import Any

from reelflow.api.mps.context import ActionContext, Handler
from reelflow.api.mps.envelope import MpsError
from reelflow.api.mps.locations import INVALID_URL, source
from reelflow.api.mps.params import Params, invalid
from reelflow.compat.media import media_metadata
from reelflow.errors import UrlNotAllowed

_MODES = ("", "slow")


def describe_media_metadata(ctx: ActionContext, p: Params) -> dict[str, Any]:
    p.only(("InputInfo", "Mode"))
    if p.text("Mode") not in _MODES:
        raise invalid("Mode", f"must be slow or empty, got {p.text('Mode')!r}")
    origin = source(ctx, p.obj("InputInfo", required=True) or Params({}))
    try:
        info = ctx.services.probe(origin)
    except UrlNotAllowed as exc:
        # Answered now, so a refused address is a bad parameter, as in ProcessMedia.
        raise MpsError(INVALID_URL, f"InputInfo.UrlInputInfo.Url: {exc.message}") from None
    return {"MetaData": media_metadata(info)}


ACTIONS: dict[str, Handler] = {"DescribeMediaMetaData": describe_media_metadata}
