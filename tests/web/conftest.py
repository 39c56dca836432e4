"""Fixtures of the Web UI tests: a real server and Debian's Chromium driven by Playwright.

Playwright must never download a browser: the tests use /usr/bin/chromium (the project's set-up
installs it with apt) and are skipped, saying why, when it is absent.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


live = importlib.import_module("cpuocr_tests_live_server")  # loaded by tests/conftest.py


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("ui")
    # Documents run as jobs: their store in the test's own directory, not the user's data dir.
    srv = live.LiveServer(tmp / "logs", args=["--data-dir", str(tmp / "data")])
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, ui_server: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1360, "height": 900}, accept_downloads=True, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(ui_server.url + "/")
    page.wait_for_selector("#server-status.pill-ok")
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class UI:
    """What the newer Web UI tests share: pages opened in their own browser contexts (closed at
    the end of the test), files chosen, a file's card, waiting until a card is done."""

    def __init__(self, browser: Any, url: str) -> None:
        self.browser = browser
        self.url = url
        self.contexts: list[Any] = []

    def open(self, **options: Any) -> Any:
        """The Web UI in a new context: 1440×900, zh-CN, unless ``options`` (any ``new_context``
        option, e.g. ``color_scheme="dark"``) say otherwise."""
        settings: dict[str, Any] = {
            "viewport": {"width": 1440, "height": 900},
            "locale": "zh-CN",
            "accept_downloads": True,
        }
        settings.update(options)
        context = self.browser.new_context(**settings)
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(90_000)
        page.goto(self.url + "/")
        page.wait_for_selector("#server-status.pill-ok")
        return page

    @staticmethod
    def upload(page: Any, *files: tuple[str, bytes, str]) -> None:
        """Choose ``files`` (name, bytes, MIME type) in the page's file input."""
        page.set_input_files(
            "[data-testid=file-input]",
            files=[{"name": n, "mimeType": m, "buffer": b} for n, b, m in files],
        )

    @staticmethod
    def card(page: Any, name: str) -> Any:
        return page.locator("[data-testid=result-card]", has=page.get_by_text(name, exact=True))

    def done(self, page: Any, name: str) -> Any:
        """Wait until the card of ``name`` has finished; asserted done; the card."""
        card = self.card(page, name)
        page.wait_for_function(
            "c => ['done', 'error', 'offline', 'retry'].includes(c.dataset.state)",
            arg=card.element_handle(),
        )
        assert card.get_attribute("data-state") == "done", card.inner_text()
        return card


@pytest.fixture
def ui(browser: Any, ui_server: Any) -> Iterator[UI]:
    helper = UI(browser, ui_server.url)
    yield helper
    for context in helper.contexts:
        context.close()
