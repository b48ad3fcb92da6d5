"""Fixtures for the console's browser tests: one ``reelflow serve`` child on loopback,
Chromium, and pages signed in with the admin key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.integration.console.browser import CHROMIUM, FLAGS, LAPTOP, require_chromium
from tests.integration.server.process import ServerProcess, Servers

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    started = Servers()
    try:
        yield started.start(tmp_path_factory.mktemp("console") / "data")
    finally:
        started.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, server: ServerProcess) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the server, laptop-sized."""
    context = browser.new_context(base_url=server.url, viewport=LAPTOP)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Page, secret: str) -> None:
    page.goto("/console/sign-in")
    page.fill("#secret_key", secret)
    page.click("button[type=submit]")
    page.wait_for_url("**/console")


@pytest.fixture
def admin_page(page: Page, server: ServerProcess) -> Page:
    sign_in(page, server.admin_key)
    return page
