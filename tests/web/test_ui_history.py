"""The Web UI's history (issue 15, second pass): every result read is kept in the browser
(IndexedDB) and survives a reload, with its image; the oldest are dropped past the cap; Clear
history empties it."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from rendering import image_pdf, render_lines

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by tests/conftest.py

PNG = "image/png"
EXPECTED = list(live.RECEIPT_LINES)


def test_results_survive_a_reload_and_clear_history_empties_it(ui: Any, artifacts: Path) -> None:
    page = ui.open()
    history = page.get_by_test_id("history")
    assert history.is_hidden()  # nothing kept yet
    ui.upload(page, ("invoice.png", live.receipt_png(), PNG))
    page.get_by_test_id("start").click()
    ui.done(page, "invoice.png")
    page.get_by_test_id("history-entry").wait_for(state="attached")  # in the closed history
    assert history.is_visible()

    # a reload: no cards, the history open with the result kept
    page.reload()
    page.wait_for_selector("#server-status.pill-ok")
    assert page.get_by_test_id("result-card").count() == 0
    entry = page.get_by_test_id("history-entry")
    entry.wait_for()
    assert history.evaluate("d => d.open")
    assert entry.count() == 1
    assert "invoice.png" in entry.inner_text() and "2 行 / lines" in entry.inner_text()
    page.screenshot(path=str(artifacts / "web-ui-history.png"))

    # opened: the card, done, its lines, its image with the boxes, exports working
    entry.locator(".history-open").click()
    card = ui.done(page, "invoice.png")
    assert card.get_by_test_id("line").locator(".text").all_inner_texts() == EXPECTED
    assert card.locator("img.image").evaluate("img => img.complete && img.naturalWidth > 0")
    assert card.locator("[data-testid=overlay] polygon").count() == 2
    with page.expect_download() as info:
        card.get_by_test_id("export-txt").click()
    assert Path(info.value.path()).read_text(encoding="utf-8") == "\n".join(EXPECTED) + "\n"
    # opened again: the same card, not a second one
    entry.locator(".history-open").click()
    assert page.get_by_test_id("result-card").count() == 1
    # nothing to send: Start stays off
    assert page.get_by_test_id("start").is_disabled()

    # Clear history: empty, and still empty after a reload
    page.get_by_test_id("history-clear").click()
    history.wait_for(state="hidden")
    page.reload()
    page.wait_for_selector("#server-status.pill-ok")
    page.wait_for_function("() => document.getElementById('history').dataset.rendered === 'yes'")
    assert history.is_hidden() and page.get_by_test_id("history-entry").count() == 0


def _kept(ui: Any, page: Any, n: int) -> list[str]:
    """Read r{n}.png; the history's entries once it is in them, newest first."""
    name = f"r{n}.png"
    ui.upload(page, (name, live.receipt_page_png(variant=n + 1), PNG))
    page.get_by_test_id("start").click()
    ui.done(page, name)
    page.wait_for_function(
        "name => [...document.querySelectorAll('[data-testid=history-entry]')]"
        ".some(e => e.innerText.includes(name))",
        arg=name,
    )
    entries = page.get_by_test_id("history-entry").all_inner_texts()
    return [next(w for w in e.split() if w.endswith(".png")) for e in entries]


def test_the_history_keeps_only_the_newest_results(ui: Any) -> None:
    page = ui.open()
    limits = "([m, b]) => { window.cpuocr.history.max = m; window.cpuocr.history.bytes = b; }"
    page.evaluate(limits, [2, 50 << 20])  # the cap (50 results) made small
    page.get_by_test_id("history").evaluate("d => { d.open = true; }")
    kept = [_kept(ui, page, n) for n in range(3)]
    assert kept[-1] == ["r2.png", "r1.png"]  # newest first, r0 dropped
    # the size cap: past it the oldest go, the newest always stays
    page.evaluate(limits, [50, 1])
    assert _kept(ui, page, 3) == ["r3.png"]
    page.evaluate(limits, [50, 50 << 20])
    assert _kept(ui, page, 4) == ["r4.png", "r3.png"]
    # removing one entry
    entries = page.get_by_test_id("history-entry")
    entries.first.get_by_role("button", name="Remove r4.png from the history").click()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=history-entry]').length == 1"
    )


def test_a_document_comes_back_from_the_history_with_its_pages(ui: Any) -> None:
    page = ui.open()
    pages = [
        render_lines(["第一页 Page one", "合计 Total 52.90"]),
        render_lines(["第二页 Page two", "谢谢惠顾 Thank you"]),
    ]
    ui.upload(page, ("two.pdf", image_pdf(pages), "application/pdf"))
    page.get_by_test_id("start").click()
    card = ui.done(page, "two.pdf")
    first = card.get_by_test_id("line").locator(".text").all_inner_texts()
    page.reload()
    page.wait_for_selector("#server-status.pill-ok")
    entry = page.get_by_test_id("history-entry")
    assert "two.pdf" in entry.inner_text() and "2 页 / pages" in entry.inner_text()
    entry.locator(".history-open").click()
    card = ui.done(page, "two.pdf")
    assert card.get_by_test_id("line").locator(".text").all_inner_texts() == first
    assert card.get_by_test_id("page-thumb").count() == 2
    # the page images come from the job, still kept by the server
    page.wait_for_function(
        "c => { const i = c.querySelector('img.image'); return i.complete && i.naturalWidth > 0; }",
        arg=card.element_handle(),
    )
    card.get_by_test_id("page-next").click()
    assert card.get_attribute("data-page") == "2"
    assert "第二页" in card.get_by_test_id("line").first.inner_text()
