"""Accessibility of the Web UI (issue 15): axe-core, run in the page, finds no serious or
critical violation on the main views: light and dark, desktop and phone, with results, a refused
file, the history, search, the paragraphs view and a line being corrected.

axe-core comes from the npm registry at set-up time (scripts/setup.sh --dev puts its
axe.min.js in the virtual environment), never at test time; without it these tests are skipped.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by tests/conftest.py

AXE = Path(sys.prefix) / "share" / "axe-core" / "axe.min.js"
PNG = "image/png"


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.skip(f"{AXE} is absent: `bash scripts/setup.sh --dev` fetches axe-core from npm")
    return AXE.read_text(encoding="utf-8")


def _violations(page: Any, axe_source: str) -> list[str]:
    """The serious and critical violations axe-core finds in the page as it is now."""
    # colours measured at rest: every (finite) transition and animation over
    page.wait_for_function(
        "() => document.getAnimations().every(a => a.playState !== 'running'"
        " || a.effect.getComputedTiming().iterations === Infinity)"
    )
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    found = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                .map(v => `${v.impact} ${v.id}: ${v.help} — ` +
                     v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' ' +
                        (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160)).join(' | '));
        }"""
    )
    return list(found)


def _no_violations(page: Any, axe_source: str) -> None:
    found = _violations(page, axe_source)
    assert not found, "\n".join(found)


def _with_results(ui: Any, page: Any) -> Any:
    ui.upload(
        page,
        ("receipt.png", live.receipt_page_png(), PNG),
        ("notes.txt", b"not an image", "text/plain"),
    )
    page.get_by_test_id("start").click()
    card = ui.done(page, "receipt.png")
    page.get_by_test_id("toast").wait_for(state="hidden")
    return card


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_violations_on_the_desktop(ui: Any, axe_source: str, scheme: str) -> None:
    page = ui.open(color_scheme=scheme, bypass_csp=True)  # the page's CSP: only its own scripts
    _no_violations(page, axe_source)
    card = _with_results(ui, page)
    _no_violations(page, axe_source)
    # search, the paragraphs view, a line being corrected, the history open
    card.get_by_test_id("line-search").fill("total")
    card.get_by_test_id("view-paragraphs").click()
    _no_violations(page, axe_source)
    card.get_by_test_id("line-search").fill("")
    card.get_by_test_id("view-lines").click()
    card.get_by_test_id("line").first.locator(".text").dblclick()
    page.get_by_test_id("history").evaluate("d => { d.open = true; }")
    _no_violations(page, axe_source)
    card.get_by_test_id("line-edit").press("Escape")
    # the preprocessing preview, and one of its stages enlarged
    card.get_by_test_id("preview").click()
    page.get_by_test_id("stage-open").first.click()
    _no_violations(page, axe_source)
    page.get_by_test_id("preview-close").click()
    # the list view of a batch
    page.get_by_test_id("view-list").click()
    _no_violations(page, axe_source)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_violations_on_a_phone(ui: Any, axe_source: str, scheme: str) -> None:
    page = ui.open(
        color_scheme=scheme,
        bypass_csp=True,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    _with_results(ui, page)
    _no_violations(page, axe_source)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_violations_on_the_api_docs_page(ui: Any, axe_source: str, scheme: str) -> None:
    page = ui.open(color_scheme=scheme, bypass_csp=True)
    page.goto(page.url.rstrip("/") + "/docs")
    page.locator("details.endpoint").first.wait_for()
    page.locator("details.endpoint > summary").first.click()
    _no_violations(page, axe_source)
