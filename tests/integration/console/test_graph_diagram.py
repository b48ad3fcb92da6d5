"""A chained task (a rendition, then screenshots of it) drawn in Chromium: the downstream
box to the right of its upstream's, an arrow between them, both succeeded; on a phone the
screenshots sit under the rendition, indented, with the arrow down."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.clips import ClipCache
from tests.integration.console.browser import PHONE, screenshot_path
from tests.integration.console.conftest import sign_in
from tests.integration.server.media import submit, upload
from tests.integration.server.process import ServerProcess, wait_finished

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LD_MP4 = 100010  # preset MP4-LD (360p)
SNAPSHOT = 10  # preset JPG, source size


def box(locator: Locator) -> dict[str, float]:
    """The shape's box in the drawing's own units (its viewBox), stroke and marker left out."""
    found: dict[str, float] = locator.evaluate(
        "(e) => { const b = e.getBBox();"
        " return {x: b.x, y: b.y, width: b.width, height: b.height}; }"
    )
    return found


def test_a_chained_task_is_drawn_left_to_right_with_an_arrow(
    page: Page, server: ServerProcess, clips: ClipCache
) -> None:
    with server.client() as api:
        upload(api, "chain/clip.mp4", clips(duration=2.0, width=320, height=240))
        task_id = submit(
            api,
            {
                "input": {"bucket": "media", "key": "chain/clip.mp4"},
                "media_process_task": {
                    "transcode_task_set": [{"definition": LD_MP4, "id": "ld"}],
                    "snapshot_by_time_offset_task_set": [
                        {"definition": SNAPSHOT, "ext_time_offset_set": ["50%"], "input": "ld"}
                    ],
                },
            },
        )
        assert wait_finished(api, task_id, timeout=120)["phase"] == "succeeded"
    sign_in(page, server.admin_key)
    page.goto(f"/console/tasks/{task_id}")
    page.wait_for_selector("#task-live[data-task-state=succeeded]")
    wide = page.locator("svg.diagram.wide")
    assert "in 2 stages" in (wide.get_attribute("aria-label") or "")
    upstream = wide.locator("g.node[data-index='0']")
    downstream = wide.locator("g.node[data-index='1'][data-upstream='0']")
    assert upstream.get_attribute("data-state") == "succeeded"
    assert downstream.get_attribute("data-state") == "succeeded"
    assert "reads the output of #0" in downstream.locator("title").text_content()
    up, down = box(upstream.locator("rect.box")), box(downstream.locator("rect.box"))
    assert down["x"] >= up["x"] + up["width"]  # to the right of its upstream
    assert abs((down["y"] + down["height"] / 2) - (up["y"] + up["height"] / 2)) < 1
    arrow = wide.locator("path.edge.chain")
    assert arrow.count() == 1
    assert "done" in (arrow.get_attribute("class") or "")  # coloured succeeded
    assert (arrow.get_attribute("marker-end") or "").startswith("url(#arrow-wide")
    span = box(arrow)  # the arrow runs from the upstream's right side to the downstream's left
    assert abs(span["x"] - (up["x"] + up["width"])) < 0.5
    assert abs(span["x"] + span["width"] - down["x"]) < 0.5
    colour = downstream.locator("rect.box").evaluate("(r) => getComputedStyle(r).stroke")
    assert colour == upstream.locator("rect.box").evaluate("(r) => getComputedStyle(r).stroke")
    page.screenshot(path=str(screenshot_path("20-task-chain")), full_page=True)

    page.set_viewport_size(PHONE)
    tall = page.locator("svg.diagram.tall")
    assert tall.is_visible()
    up = box(tall.locator("g.node[data-index='0'] rect.box"))
    down = box(tall.locator("g.node[data-index='1'] rect.box"))
    assert down["y"] >= up["y"] + up["height"] and down["x"] > up["x"]  # below, indented
    assert tall.locator("path.edge.chain.done").count() == 1
    page.screenshot(path=str(screenshot_path("21-task-chain-phone")), full_page=True)
