"""The API's reference pages work offline: ``/docs`` (Swagger UI) and ``/redoc`` render the
operations with every request to a host other than the server's refused, and none is even
tried (their scripts and styles come from the installed package, never a CDN)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.integration.console.browser import screenshot_path
from tests.integration.server.process import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

pytestmark = pytest.mark.integration


def cut_the_network(page: Page, server: ServerProcess) -> list[str]:
    """Abort every request not to the server; returns the list of those tried."""
    tried: list[str] = []
    local = urlsplit(server.url).netloc

    def route(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == local or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            tried.append(url)
            route.abort("internetdisconnected")

    page.context.route("**/*", route)
    return tried


def test_swagger_ui_lists_the_operations_offline(page: Page, server: ServerProcess) -> None:
    tried = cut_the_network(page, server)
    page.goto("/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = {p.strip().replace("\u200b", "") for p in
             page.locator(".opblock-summary-path").all_inner_texts()}  # fmt: skip
    assert {"/v1/tasks", "/v1/workflows", "/v1/buckets/{bucket}/objects/{key}"} <= paths, paths
    assert page.locator(".opblock").count() >= 30
    page.screenshot(path=str(screenshot_path("20-api-docs-offline")))
    assert tried == []


def test_redoc_renders_offline(page: Page, server: ServerProcess) -> None:
    tried = cut_the_network(page, server)
    response = page.goto("/redoc")
    assert response is not None
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.get_by_role("heading", name="List tasks, newest first").wait_for(timeout=20_000)
    assert page.locator("h2").count() >= 30  # one heading per operation
    page.screenshot(path=str(screenshot_path("21-redoc-offline")))
    assert tried == []
