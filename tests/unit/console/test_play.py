"""The stream player page and the player files (``reelflow.console.players``), with the
players' folder pointed at a temporary one."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from reelflow.console.players import FILES, Players, stream_format
from reelflow.wiring.server import ServerServices
from tests.unit.api.conftest import OTHER_BUCKET
from tests.unit.console.conftest import Console


def install(folder: Path) -> Path:
    """Stand-ins for what ``npm ci`` puts in ``node_modules``."""
    for relative in FILES.values():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"/* {relative} */")
    for package, version in (("hls.js", "1.7.4"), ("dashjs", "5.2.1")):
        (folder / package / "package.json").write_text(json.dumps({"version": version}))
    return folder


def use_players(console: Console, folder: Path) -> None:
    state = console.client.app.state  # type: ignore[attr-defined]
    state.console = dataclasses.replace(state.console, players=Players(folder))


@pytest.fixture
def playlist(runtime: ServerServices) -> str:
    body = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg0.ts\n#EXT-X-ENDLIST\n"
    runtime.storages.get("media").put_bytes("out/hls/master.m3u8", body)
    return "out/hls/master.m3u8"


def test_players_are_installed_when_every_file_is_there(tmp_path: Path) -> None:
    players = Players(tmp_path)
    assert not players.installed and players.versions() == {}
    install(tmp_path)
    assert players.installed
    assert players.versions() == {"dashjs": "5.2.1", "hls.js": "1.7.4"}
    assert players.path("hls.min.js") == tmp_path / "hls.js/dist/hls.min.js"
    assert players.path("../package.json") is None
    (tmp_path / FILES["dash.mediaplayer.min.js"]).unlink()
    assert not players.installed


def test_stream_format_by_suffix() -> None:
    assert stream_format("a/b/master.m3u8") == "hls"
    assert stream_format("a/MANIFEST.MPD") == "dash"
    assert stream_format("a/clip.mp4") is None


def test_the_play_page_loads_the_players_from_this_server(
    console: Console, playlist: str, tmp_path: Path
) -> None:
    use_players(console, install(tmp_path))
    page = console.client.get("/console/play", params={"bucket": "media", "key": playlist})
    assert page.status_code == 200, page.text
    assert 'data-player="hls"' in page.text
    assert 'data-src="/console/buckets/media/objects/out/hls/master.m3u8"' in page.text
    assert 'data-hls-script="/console/players/hls.min.js?v=1.7.4"' in page.text
    # MediaSource reaches <video> through a blob: URL the page's own script makes.
    assert "media-src 'self' blob:" in page.headers["content-security-policy"]
    script = console.client.get("/console/players/hls.min.js")
    assert script.status_code == 200 and script.text == "/* hls.js/dist/hls.min.js */"
    assert script.headers["content-type"].startswith("text/javascript")


def test_without_players_the_page_says_how_to_install_them(
    console: Console, playlist: str, tmp_path: Path
) -> None:
    use_players(console, tmp_path)
    page = console.client.get("/console/play", params={"bucket": "media", "key": playlist})
    assert page.status_code == 200
    assert "data-players-missing" in page.text and "make players" in page.text
    assert "<video" not in page.text
    missing = console.client.get("/console/players/hls.min.js")
    assert missing.status_code == 404 and "make players" in missing.text


def test_the_play_page_refuses_what_it_cannot_play(
    console: Console, runtime: ServerServices
) -> None:
    runtime.storages.get("media").put_bytes("out/a.mp4", b"x")
    other = console.client.get("/console/play", params={"bucket": "media", "key": "out/a.mp4"})
    assert other.status_code == 400 and ".m3u8" in other.text
    gone = console.client.get("/console/play", params={"bucket": "media", "key": "no/x.mpd"})
    assert gone.status_code == 404
    foreign = {"bucket": OTHER_BUCKET, "key": "x.m3u8"}
    assert console.client.get("/console/play", params=foreign).status_code == 404


def test_the_bucket_page_offers_play_for_streams_only(
    console: Console, runtime: ServerServices, playlist: str
) -> None:
    runtime.storages.get("media").put_bytes("out/hls/seg0.ts", b"x")
    page = console.client.get("/console/buckets/media", params={"prefix": "out/hls/"})
    assert page.text.count("data-play") == 1
    assert "/console/play?bucket=media&amp;key=out%2Fhls%2Fmaster.m3u8" in page.text
