"""Stream playback in the console, in Chromium: ladders packaged by reelflow (HLS with TS
segments, MPEG-DASH, and CMAF's two manifests over one set of segments) play with hls.js
and dash.js from the bucket browser's Play link, show the rendition on screen, and a
rendition forced with the selector replaces it while playback goes on without a stall; an
HLS transcode output plays on its task page; a server without the players says how to
install them.

The players are hls.js and dash.js from ``make players`` (``npm ci``): without them these
tests skip with that reason, and fail under ``CI=true``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from reelflow.console.players import Players
from reelflow.media.ladder import package_ladder
from reelflow.media.probe import probe
from reelflow.media.runner import FFmpegRunner
from reelflow.planner.ladder import select_rungs
from reelflow.specs.ladders import LadderTemplate, PackageNames
from reelflow.specs.templates import TRUSTED
from tests.clips import ClipCache
from tests.integration.console.browser import LAPTOP, screenshot_path
from tests.integration.console.conftest import sign_in
from tests.integration.server.process import ServerProcess, Servers, wait_finished

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DURATION = 12  # seconds: 6 segments, room to switch after 3 s and keep playing
PLAY_MS = 60_000
HLS_LD = 100210  # preset HLS-LD (360p, one rendition)
MAX_STALL_MS = 2_000
VIDEO = "figure[data-player] video"


def require_players() -> None:
    if Players.configured(None).installed:
        return
    problem = "hls.js and dash.js are not installed (make players)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem}; CI=true: the playback tests must run")
    pytest.skip(problem)


FORMATS = {"hls": "HLS", "dash": "MPEG-DASH", "cmaf": "CMAF"}
NAMES = PackageNames.default("clip", 1001)
# Two rungs below the 320x180 source, 2 s segments (the player can switch at each).
RUNGS = ((90, 150), (180, 400))


def package(clips: ClipCache, ffmpeg_bin: Path, fmt: str, out: Path) -> Path:
    """``fmt``'s ladder of a :data:`DURATION` s clip, as reelflow packages it, in ``out``."""
    source = clips(duration=float(DURATION), width=320, height=180)
    info = probe(source)
    infos = [{"video": {"codec": "h264", "height": height, "bitrate": kbps},
              "audio": {"codec": "aac", "bitrate": 64, "sample_rate": 48000}}
             for height, kbps in RUNGS]  # fmt: skip
    template = LadderTemplate.model_validate(
        {"format": fmt, "segment_seconds": 2, "stream_infos": infos}, context=TRUSTED
    )
    ladder = select_rungs(template, info, definition=1001)
    runner = FFmpegRunner(ffmpeg_bin)
    package_ladder(runner, str(source), info, ladder, out, names=NAMES, video_preset="ultrafast")
    return out


def upload_folder(server: ServerProcess, folder: Path, prefix: str) -> None:
    with server.client() as api:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = f"{prefix}{path.relative_to(folder).as_posix()}"
            stored = api.put(f"/v1/buckets/media/objects/{key}", content=path.read_bytes())
            assert stored.status_code in (200, 201), stored.text


@pytest.fixture(scope="module")
def ladders(
    server: ServerProcess,
    clips: ClipCache,
    ffmpeg_bin: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> ServerProcess:
    """The server, with a ladder of each format under ``streams/{hls,dash,cmaf}/``."""
    require_players()
    made = tmp_path_factory.mktemp("ladders")
    for folder, fmt in FORMATS.items():
        upload_folder(server, package(clips, ffmpeg_bin, fmt, made / folder), f"streams/{folder}/")
    return server


class Traffic:
    """What a page asked for and what its console reported, from now on."""

    def __init__(self, page: Page, server: ServerProcess) -> None:
        self.paths: list[str] = []
        self.elsewhere: list[str] = []
        self.errors: list[str] = []
        local = urlsplit(server.url).netloc

        def seen(url: str) -> None:
            parts = urlsplit(url)
            if parts.netloc == local:
                self.paths.append(parts.path)
            elif parts.scheme not in ("data", "blob"):
                self.elsewhere.append(url)

        page.on("request", lambda request: seen(request.url))
        page.on(
            "console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None
        )


def start_playing(page: Page) -> None:
    page.wait_for_selector("figure[data-player][data-player-state=ready]")
    page.evaluate(
        f"() => {{ const v = document.querySelector('{VIDEO}'); v.muted = true; return v.play(); }}"
    )
    page.wait_for_function(
        f"() => document.querySelector('{VIDEO}').currentTime >= 3", timeout=PLAY_MS
    )


def watch_stalls(page: Page) -> None:
    """From now on, record each ``waiting`` of the video and how long until ``playing``."""
    page.evaluate(
        f"""() => {{
        const video = document.querySelector('{VIDEO}');
        const log = (window.stalls = {{ done: [], since: null }});
        video.addEventListener('waiting', () => {{ log.since = performance.now(); }});
        video.addEventListener('playing', () => {{
            if (log.since !== null) log.done.push(performance.now() - log.since);
            log.since = null;
        }});
    }}"""
    )


def stalls(page: Page) -> list[float]:
    """Each recorded stall in ms (one still going counts up to now)."""
    found: list[float] = page.evaluate(
        "() => window.stalls.done.concat(window.stalls.since === null ? [] :"
        " [performance.now() - window.stalls.since])"
    )
    return found


def renditions(page: Page) -> list[str]:
    """The selector's renditions as ``WxH`` (its first option is Auto)."""
    options = page.locator("[data-rendition-select] option")
    options.nth(2).wait_for(state="attached")
    texts = options.all_inner_texts()
    assert texts[0] == "Auto", texts
    return [text.split(" ·")[0] for text in texts[1:]]


def force_the_other_rendition(page: Page) -> dict[str, Any]:
    """Pick the rendition not playing; wait until it is on screen and 1 s more has played."""
    sizes = renditions(page)
    heights = {i: int(size.split("x")[1]) for i, size in enumerate(sizes)}
    figure = page.locator("figure[data-player]")
    playing = int(figure.get_attribute("data-rendition-index") or "0")
    before = page.inner_text("[data-rendition]")
    assert f"x{heights[playing]}" in before and "(auto)" in before, before
    other = 1 - playing
    watch_stalls(page)
    page.select_option("[data-rendition-select]", str(other))
    page.wait_for_function(
        f"""() => {{
        const figure = document.querySelector('figure[data-player]');
        return figure.dataset.renditionIndex === '{other}'
            && figure.querySelector('video').videoHeight === {heights[other]};
    }}""",
        timeout=PLAY_MS,
    )
    after = page.inner_text("[data-rendition]")
    switched_at = page.evaluate(f"() => document.querySelector('{VIDEO}').currentTime")
    page.wait_for_function(
        f"() => document.querySelector('{VIDEO}').currentTime >= {switched_at + 1}",
        timeout=PLAY_MS,
    )
    return {"before": before, "after": after, "forced": sizes[other], "at": switched_at}


@pytest.mark.parametrize(
    ("folder", "manifest"),
    [("hls", "m3u8"), ("dash", "mpd"), ("cmaf", "m3u8"), ("cmaf", "mpd")],
)
def test_a_ladder_plays_and_switches_rendition(
    admin_page: Page, ladders: ServerProcess, folder: str, manifest: str
) -> None:
    page = admin_page
    traffic = Traffic(page, ladders)
    key = f"streams/{folder}/{NAMES.master}.{manifest}"
    page.goto(f"/console/buckets/media?prefix=streams/{folder}/")
    page.locator(f"tr[data-key='{key}'] a[data-play]").click()
    page.wait_for_url("**/console/play?**")
    assert sorted(renditions(page)) == ["160x90", "320x180"]
    start_playing(page)
    switch = force_the_other_rendition(page)
    assert switch["forced"] in switch["after"] and "(auto)" not in switch["after"], switch
    page.screenshot(path=str(screenshot_path(f"30-play-{folder}-{manifest}")))
    assert max(stalls(page), default=0.0) < MAX_STALL_MS, stalls(page)
    # Everything from reelflow: the player (hls.js in its worker) and the media, through the
    # console's object route; nothing refused by the page's Content-Security-Policy.
    assert traffic.elsewhere == [] and traffic.errors == [], (traffic.elsewhere, traffic.errors)
    if manifest == "m3u8":
        players = {"/console/players/hls.min.js", "/console/players/hls.worker.js"}
    else:
        players = {"/console/players/dash.mediaplayer.min.js"}
    assert players <= set(traffic.paths)
    # Segments of both video renditions (sub-streams 0 and 1), by their relative names.
    objects = f"/console/buckets/media/objects/streams/{folder}/"
    fetched = {path.removeprefix(objects) for path in traffic.paths}
    for stream in (0, 1):
        assert any(name.startswith(NAMES.stream(stream) + "_") for name in fetched), fetched


def test_an_hls_transcode_output_plays_on_its_task_page(
    page: Page, ladders: ServerProcess, clips: ClipCache
) -> None:
    server = ladders
    source = clips(duration=6.0, width=320, height=240)
    with server.client() as api:
        stored = api.put("/v1/buckets/media/objects/in/hls-source.mp4", content=source.read_bytes())
        assert stored.status_code in (200, 201), stored.text
        body = {"input": {"bucket": "media", "key": "in/hls-source.mp4"},
                "media_process_task": {"transcode_task_set": [{"definition": HLS_LD}]}}  # fmt: skip
        created = api.post("/v1/tasks", json=body)
        assert created.status_code == 201, created.text
        task_id = created.json()["task_id"]
        wait_finished(api, task_id, timeout=PLAY_MS / 1000)
    sign_in(page, server.admin_key)
    page.goto(f"/console/tasks/{task_id}")
    player = page.locator(".subtask figure[data-player=hls]")
    assert ".m3u8" in (player.get_attribute("data-src") or "")
    start_playing(page)
    shown = page.inner_text("[data-rendition]")
    assert shown == "320x240", shown  # one rendition (never upscaled): its decoded size
    # While a task runs, htmx replaces the page's live part every second: the player is
    # kept (hx-preserve), playing on.
    page.evaluate(
        f"""() => {{
        document.querySelector('{VIDEO}').dataset.mark = 'kept';
        document.getElementById('task-live').dataset.replaced = 'not yet';
    }}"""
    )
    playing_at = page.evaluate(f"() => document.querySelector('{VIDEO}').currentTime")
    page.evaluate(
        f"() => htmx.ajax('GET', '/console/tasks/{task_id}/live',"
        " {target: '#task-live', swap: 'outerHTML'})"
    )
    page.wait_for_function(
        f"""() => {{
        const video = document.querySelector('{VIDEO}');
        const live = document.getElementById('task-live');
        return !live.dataset.replaced && live.contains(video)
            && video.dataset.mark === 'kept' && !video.paused
            && video.currentTime >= {playing_at + 1};
    }}""",
        timeout=PLAY_MS,
    )
    page.screenshot(path=str(screenshot_path("32-task-hls-output")), full_page=True)


@pytest.fixture
def bare_page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    """Signed in to a server whose player folder is empty, with a playlist in its bucket."""
    servers = Servers()
    empty = tmp_path / "no-players"
    empty.mkdir()
    try:
        server = servers.start(tmp_path / "data", player_dir=str(empty))
        with server.client() as api:
            playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg0.ts\n#EXT-X-ENDLIST\n"
            api.put("/v1/buckets/media/objects/streams/only.m3u8", content=playlist)
        context = browser.new_context(base_url=server.url, viewport=LAPTOP)
        context.set_default_timeout(15_000)
        try:
            page = context.new_page()
            sign_in(page, server.admin_key)
            yield page
        finally:
            context.close()
    finally:
        servers.close()


def test_without_the_players_the_page_says_how_to_install_them(bare_page: Page) -> None:
    page = bare_page
    page.goto("/console/play?bucket=media&key=streams/only.m3u8")
    missing = page.locator("[data-players-missing]")
    assert "make players" in missing.inner_text()
    assert page.locator("figure[data-player] video").count() == 0
    page.screenshot(path=str(screenshot_path("33-players-missing")))
    script = page.request.get("/console/players/hls.min.js")
    assert script.status == 404 and "make players" in script.text()
