"""Stream playback: the player scripts, and a page that plays one HLS playlist or DASH MPD.

``GET /console/players/{name}`` serves the installed hls.js and dash.js files
(``reelflow.console.players``): public library code, no session needed, revalidated by
ETag. ``GET /console/play?bucket=&key=`` plays any ``.m3u8`` or ``.mpd`` object of a bucket
the account may read (the bucket browser links to it); the task page shows the same player
for its stream outputs. Playlists, segments and MPDs are fetched through the console's
object route with the session cookie, so a playlist's relative segment names resolve to the
objects beside it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, Response

from reelflow.console.deps import UserDep, console_state
from reelflow.console.players import stream_format
from reelflow.console.routing import ConsoleRoute
from reelflow.errors import SpecError
from reelflow.object_keys import validate_key
from reelflow.web.errors import HttpError
from reelflow.web.services import BucketsDep, StoragesDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/players/{name}")
def player_file(request: Request, name: str) -> Response:
    found = console_state(request).players.path(name)
    if found is None:
        raise HttpError(
            404,
            "ResourceNotFound.Player",
            f"{name} is not installed: run `make players` in the reelflow checkout",
        )
    return FileResponse(found, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/play")
def play(
    request: Request,
    buckets: BucketsDep,
    storages: StoragesDep,
    user: UserDep,
    bucket: Annotated[str, Query(max_length=63)],
    key: Annotated[str, Query(max_length=1024)],
) -> Response:
    buckets.check_access(user.account.id, bucket)
    info = storages.get(bucket).stat(validate_key(key))
    if stream_format(info.key) is None:
        raise SpecError(
            f"{info.key} is not an HLS playlist (.m3u8) or a DASH MPD (.mpd)",
            code="InvalidParameterValue.Key",
        )
    state = console_state(request)
    context = {"bucket": bucket, "info": info, "players": state.players}
    return state.pages.render(request, "play.html", context, user=user)
