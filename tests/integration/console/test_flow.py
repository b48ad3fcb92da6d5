"""An admin's path through the console in Chromium: sign in, create a workflow through the
form, drop a clip on the bucket page, watch the task it starts end on the task page, check
the diagram and open the previews. Every page is saved as a screenshot under
``test-artifacts/console/`` (git-ignored)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.clips import ClipCache
from tests.integration.console.browser import PHONE, screenshot_path
from tests.integration.server.process import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TASK_TIMEOUT_MS = 120_000
WORKFLOW = "web previews"
LD_MP4 = 100010  # preset MP4-LD (360p)
SNAPSHOT = 10  # preset JPG, source size
GIF = 20000  # preset GIF, 2 fps


def shoot(page: Page, name: str, *, full: bool = True) -> None:
    page.screenshot(path=str(screenshot_path(name)), full_page=full)


def drop_file(page: Page, selector: str, path: Path, mime: str) -> None:
    """Drop ``path`` on ``selector`` as a user dragging it from their desktop would."""
    data = base64.b64encode(path.read_bytes()).decode()
    transfer = page.evaluate_handle(
        """([b64, name, type]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, {type}));
            return dt;
        }""",
        [data, path.name, mime],
    )
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def create_workflow(page: Page) -> None:
    page.goto("/console/workflows/new")
    shoot(page, "03-workflow-new")
    page.fill("#f-name", WORKFLOW)
    page.select_option("#f-trigger_bucket", "media")
    page.fill("#f-trigger_dir", "in/")
    page.fill("#f-formats", "mp4, m o v")  # a bad format first: the field says why
    page.check(f"input[name=transcodes][value='{LD_MP4}']")
    page.check(f"input[name=snapshot][value='{SNAPSHOT}']")
    page.fill("#f-snapshot_offsets", "25%, 75%")
    page.check(f"input[name=gif][value='{GIF}']")
    page.fill("#f-gif_start", "0")
    page.fill("#f-gif_end", "1")
    page.fill("#f-output_dir", "out/")
    page.select_option("#f-notify_type", "queue")
    page.fill("#f-notify_name", "console-test")
    page.check("input[name=enabled]")
    page.click("button[type=submit].primary")
    message = page.locator("[data-error-for=formats]")
    assert "not a file extension" in message.inner_text()
    shoot(page, "04-workflow-errors")
    page.fill("#f-formats", "mp4, mov")
    page.click("button[type=submit].primary")
    page.wait_for_url("**/console/workflows")
    row = page.locator("tr[data-workflow]", has_text=WORKFLOW)
    assert row.locator(".badge.enabled").count() == 1
    shoot(page, "05-workflows")


def upload_clip(page: Page, clip: Path) -> None:
    page.goto("/console/buckets/media?prefix=in/")
    drop_file(page, "#dropzone", clip, "video/mp4")
    page.wait_for_selector(".uploads li.done")
    started = page.locator(".uploads li.done .started")
    assert started.get_attribute("data-tasks") == "1"
    assert started.inner_text().startswith("Started task rf-"), started.inner_text()
    assert (started.locator("a").get_attribute("href") or "").startswith("/console/tasks/rf-")
    shoot(page, "06-bucket-uploaded")
    page.click("a.refresh")
    page.wait_for_selector(f"tr[data-key='in/{clip.name}']")


def open_task(page: Page) -> None:
    page.goto("/console/tasks")
    link = page.locator("tr[data-task] a.title").first
    link.wait_for(timeout=30_000)  # the rows refresh every 2 s until the task shows
    shoot(page, "07-tasks")
    link.click()
    page.wait_for_url("**/console/tasks/rf-*")


def check_task_page(page: Page) -> None:
    page.wait_for_selector("#task-live[data-task-state=succeeded]", timeout=TASK_TIMEOUT_MS)
    nodes = page.locator("svg.diagram.wide g.node")
    assert nodes.count() == 3  # one rounded rectangle per sub-task
    states = {nodes.nth(i).get_attribute("data-state") for i in range(nodes.count())}
    indices = sorted(int(nodes.nth(i).get_attribute("data-index") or -1) for i in range(3))
    assert states == {"succeeded"} and indices == [0, 1, 2]
    for shape in ("start", "fork", "join", "end"):
        assert page.locator(f"svg.diagram.wide [data-shape={shape}]").count() == 1
    assert page.locator("svg.diagram.wide polygon.fork").count() == 1
    assert page.locator("svg.diagram.tall g.node").count() == 3  # the phone drawing
    images = page.locator(".preview img")
    assert images.count() == 3  # two screenshots and the GIF
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=images.nth(i).element_handle()
        )
    video = page.locator(".preview video")
    assert video.count() == 1
    page.wait_for_function(
        "(v) => v.readyState >= 1 && v.duration > 0", arg=video.first.element_handle()
    )
    page.wait_for_selector("#task-events .delivery[data-state=delivered]", timeout=30_000)
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "08-task")


def test_admin_runs_a_workflow_from_the_console(
    page: Page, server: ServerProcess, clips: ClipCache
) -> None:
    page.goto("/console")
    page.wait_for_url("**/console/sign-in?next=*")
    shoot(page, "01-sign-in")
    page.fill("#secret_key", server.admin_key)
    page.click("button[type=submit]")
    page.wait_for_url("**/console")
    create_workflow(page)
    clip = clips(duration=2.0, width=320, height=240)
    upload_clip(page, clip)
    open_task(page)
    check_task_page(page)
    # An opened preview streams through the session with Range support.
    src = page.locator(".preview video").first.get_attribute("src") or ""
    ranged = page.request.get(src, headers={"Range": "bytes=0-99"})
    assert ranged.status == 206 and len(ranged.body()) == 100
    page.goto("/console")
    page.wait_for_selector(".stat.succeeded .value")
    assert page.locator(".stat.succeeded .value").inner_text().strip() == "1"
    shoot(page, "02-dashboard")
    executor = page.locator("section.card", has_text="Executor")
    assert "each square runs one FFmpeg job" in executor.inner_text()
    assert "busy" in executor.locator(".slot-legend").inner_text()
    label = executor.locator(".slots").get_attribute("aria-label") or ""
    assert label.endswith("job slots in use"), label
    page.set_viewport_size(PHONE)
    shoot(page, "11-dashboard-phone")
    page.go_back()
    page.wait_for_selector("svg.diagram.tall")
    assert page.locator("svg.diagram.tall").is_visible()
    assert not page.locator("svg.diagram.wide").is_visible()
    shoot(page, "12-task-phone")


def test_templates_pages_create_a_custom_transcode(page: Page, server: ServerProcess) -> None:
    from tests.integration.console.conftest import sign_in

    sign_in(page, server.admin_key)
    page.goto("/console/templates")
    shoot(page, "09-templates")
    page.click("text=New transcode template")
    page.fill("#f-name", "Tiny WebM")
    page.select_option("#f-container", "webm")
    page.select_option("#f-video_codec", "h264")  # h264 cannot go in webm: said next to it
    page.fill("#f-video_height", "240")
    page.select_option("#f-audio_codec", "opus")
    page.click("button[type=submit].primary")
    assert "cannot go in webm" in page.locator(".error-text").first.inner_text()
    shoot(page, "10-template-errors")
    page.select_option("#f-video_codec", "vp9")
    page.click("button[type=submit].primary")
    page.wait_for_url("**/console/templates?kind=Transcode")
    assert page.locator("tr[data-definition]", has_text="Tiny WebM").count() == 1
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.admin_key}"}
    ) as api:
        found = api.get("/v1/templates", params={"kind": "Transcode", "type": "Custom"}).json()
    assert any(t["name"] == "Tiny WebM" for t in found["templates"])


def test_workflow_is_disabled_edited_and_deleted(page: Page, server: ServerProcess) -> None:
    from tests.integration.console.conftest import sign_in

    sign_in(page, server.admin_key)
    page.goto("/console/workflows/new")
    page.fill("#f-name", "to be removed")
    page.fill("#f-trigger_dir", "later/")
    page.check(f"input[name=transcodes][value='{LD_MP4}']")
    page.check("input[name=enabled]")
    page.click("button[type=submit].primary")
    page.wait_for_url("**/console/workflows")
    row = page.locator("tr[data-workflow]", has_text="to be removed")
    assert row.locator("button", has_text="Delete").count() == 0  # enabled: disable first
    row.locator("button", has_text="Disable").click()
    page.wait_for_url("**/console/workflows")
    assert row.locator(".badge.disabled").count() == 1
    assert row.locator("button", has_text="Delete").count() == 1
    row.locator("a", has_text="Edit").click()
    page.wait_for_url("**/console/workflows/*")
    assert page.input_value("#f-trigger_dir") == "later/"
    assert page.is_checked(f"input[name=transcodes][value='{LD_MP4}']")
    page.fill("#f-priority", "5")
    shoot(page, "14-workflow-edit")
    page.click("button[type=submit].primary")
    page.wait_for_url("**/console/workflows")
    assert "priority 5" in row.inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button", has_text="Delete").click()
    page.wait_for_url("**/console/workflows")
    assert row.count() == 0
    assert "deleted" in page.locator(".notice").inner_text()


def test_an_upload_no_workflow_matches_says_so(
    page: Page, server: ServerProcess, tmp_path: Path
) -> None:
    from tests.integration.console.conftest import sign_in

    loose = tmp_path / "notes.mp4"
    loose.write_bytes(b"not watched by any workflow")
    sign_in(page, server.admin_key)
    page.goto("/console/buckets/media?prefix=elsewhere/")
    drop_file(page, "#dropzone", loose, "video/mp4")
    started = page.locator(".uploads li.done .started")
    started.wait_for()
    assert started.get_attribute("data-tasks") == "0"
    assert "no enabled workflow matches" in started.inner_text()


def test_other_pages_render(page: Page, server: ServerProcess) -> None:
    from tests.integration.console.conftest import sign_in

    sign_in(page, server.admin_key)
    page.goto("/console/buckets")
    shoot(page, "13-buckets")
    page.goto("/console/buckets/media")
    assert page.locator("tr[data-folder]").count() >= 1
    shoot(page, "15-bucket-root")
    page.goto("/console/templates/new?kind=ImageSprite")
    page.fill("#f-body", '{"name": "bad", "row_count": 20, "column_count": 20}')
    page.click("button[type=submit].primary")
    assert "sample_type" in page.locator("[data-error-for=body]").inner_text()
    shoot(page, "16-template-json-errors")
    response = page.goto("/console/tasks/rf-nonexistent")
    assert response is not None and response.status == 404
    shoot(page, "17-not-found")


def test_a_failed_task_shows_its_errors_and_can_be_retried(
    page: Page, server: ServerProcess, tmp_path: Path
) -> None:
    from tests.integration.console.conftest import sign_in

    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.admin_key}"}
    ) as api:
        made = api.post(
            "/v1/workflows",
            json={
                "name": "broken inputs",
                "enabled": True,
                "trigger": {"bucket": "media", "dir": "bad/"},
                "media_process_task": {"transcode_task_set": [{"definition": LD_MP4}]},
            },
        )
        assert made.status_code == 201, made.text
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video at all" * 100)
    sign_in(page, server.admin_key)
    page.goto("/console/buckets/media?prefix=bad/")
    drop_file(page, "#dropzone", broken, "video/mp4")
    page.wait_for_selector(".uploads li.done .started[data-tasks='1']")
    page.click("a.refresh")
    page.wait_for_selector("tr[data-key='bad/broken.mp4']")
    page.goto("/console/tasks?state=failed")
    link = page.locator("tr[data-task] a.title").first
    link.wait_for(timeout=60_000)
    link.click()
    page.wait_for_selector("#task-live[data-task-state=failed]", timeout=TASK_TIMEOUT_MS)
    assert page.locator("svg.diagram.wide g.node[data-state=failed]").count() == 1
    code = page.locator(".subtask .error-box").first.get_attribute("data-error-code")
    assert code  # e.g. InvalidMedia...: the code and its message are shown
    shoot(page, "18-task-failed")
    page.click("text=Retry failed sub-tasks")
    assert "Retrying 1 failed sub-task" in page.locator(".notice").inner_text()
    page.goto("/console")
    assert page.locator(".list li", has_text="broken.mp4").count() >= 1
    shoot(page, "19-dashboard-failure")
