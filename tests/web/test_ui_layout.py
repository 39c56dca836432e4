"""The second pass's parts of the Web UI laid out on a phone (390×844) and a desktop
(1440×900), light and dark: nothing wider than the screen, the viewer's and the text's tools in
reach; the screenshots are kept in artifacts/ to look at."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by tests/conftest.py

PNG = "image/png"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_the_new_parts_fit_the_screen(ui: Any, artifacts: Path, screen: str, scheme: str) -> None:
    phone = screen == "phone"
    page = ui.open(color_scheme=scheme, **(PHONE if phone else {}))
    width = page.viewport_size["width"]
    ui.upload(
        page,
        ("receipt.png", live.receipt_page_png(), PNG),
        ("invoice.png", live.receipt_png(), PNG),
    )
    page.get_by_test_id("start").tap() if phone else page.get_by_test_id("start").click()
    card = ui.done(page, "receipt.png")
    ui.done(page, "invoice.png")
    page.get_by_test_id("toast").wait_for(state="hidden")
    card.get_by_test_id("line-search").fill("total")
    card.get_by_test_id("line-search").scroll_into_view_if_needed()

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for part in ("zoom-in", "zoom-out", "fit-width", "fit-page", "line-search", "view-paragraphs"):
        box = card.get_by_test_id(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (part, box)
    # the image fits the viewer's width at first, on the phone too
    image = card.locator("img.image").bounding_box()
    viewer = card.get_by_test_id("viewer").bounding_box()
    assert image["width"] <= viewer["width"], (image, viewer)
    if phone:
        header = page.locator("header.topbar").bounding_box()
        assert header["height"] <= 120, header
    page.get_by_test_id("history").evaluate("d => { d.open = true; }")
    page.screenshot(path=str(artifacts / f"web-ui-2-{screen}-{scheme}.png"), full_page=True)
