"""The Web UI with many files (issue 15, second pass): a compact list view (chosen by itself
from six files on, or by the user), one overall progress bar pinned in view, and the progress in
the tab's title, which is given back when the run ends."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by tests/conftest.py

PNG = "image/png"
COUNT = 6


def test_a_batch_has_a_list_view_a_pinned_progress_bar_and_the_count_in_the_title(
    ui: Any, artifacts: Path
) -> None:
    page = ui.open()
    title = page.title()
    # every title the tab shows during the run
    page.evaluate(
        """() => { window.titles = [];
            new MutationObserver(() => window.titles.push(document.title))
                .observe(document.querySelector('title'), {childList: true, subtree: true,
                                                          characterData: true}); }"""
    )
    names = [f"scan-{n}.png" for n in range(COUNT)]
    ui.upload(
        page, *[(name, live.receipt_page_png(variant=n + 1), PNG) for n, name in enumerate(names)]
    )
    results = page.get_by_test_id("results")
    assert results.get_attribute("data-view") == "list"  # six files: one row each
    assert page.get_by_test_id("view-list").get_attribute("aria-pressed") == "true"
    rows = page.get_by_test_id("result-card")
    assert all(box["height"] < 80 for box in (rows.nth(i).bounding_box() for i in range(COUNT)))

    page.get_by_test_id("start").click()
    progress = page.get_by_test_id("progress")
    progress.wait_for()
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=result-card][data-state=done]').length === n",
        arg=COUNT,
    )
    page.wait_for_function("t => document.title === t", arg=title)
    titles = page.evaluate("window.titles")
    counted = [t for t in titles if t.endswith(title) and t.startswith("(")]
    assert counted and counted[0].startswith(f"(0/{COUNT}) "), titles
    assert any(t.startswith(f"({COUNT - 1}/{COUNT}) ") for t in counted), titles
    assert titles[-1] == title  # given back once the run has ended
    label = page.get_by_test_id("progress-label").inner_text()
    assert f"{COUNT} / {COUNT}" in label and f"all {COUNT} finished" in label
    assert progress.get_by_role("progressbar").get_attribute("aria-valuenow") == str(COUNT)

    # a row opens to the full card (and closes); the Cards view shows them all
    last = page.get_by_test_id("result-card").last
    last.get_by_test_id("expand").click()
    assert last.get_by_test_id("line").first.is_visible()
    assert last.get_by_test_id("expand").get_attribute("aria-expanded") == "true"
    page.screenshot(path=str(artifacts / "web-ui-batch-list.png"))
    last.get_by_test_id("expand").click()
    assert last.get_by_test_id("line").first.is_hidden()
    page.get_by_test_id("view-cards").click()
    assert results.get_attribute("data-view") == "cards"
    assert all(rows.nth(i).get_by_test_id("line").first.is_visible() for i in range(COUNT))
    # pinned: the cards scrolled to their end, the bar is still just under the top bar
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function("() => window.scrollY > 0")
    bar = progress.bounding_box()
    top = page.locator("header.topbar").bounding_box()
    assert abs(bar["y"] - (top["y"] + top["height"])) < 2, (bar, top)
    page.screenshot(path=str(artifacts / "web-ui-batch-cards.png"))

    # the choice is kept
    page.reload()
    page.wait_for_selector("#server-status.pill-ok")
    ui.upload(page, *[(name, live.receipt_png(), PNG) for name in names])
    assert results.get_attribute("data-view") == "cards"


def _all_finished(page: Any, title: str) -> None:
    page.wait_for_function(
        "t => document.title === t && ![...document.querySelectorAll('[data-testid=result-card]')]"
        ".some(c => c.dataset.state === 'working')",
        arg=title,
    )


def test_files_added_during_a_run_join_it(ui: Any) -> None:
    page = ui.open()
    title = page.title()
    ui.upload(page, *[(f"a{n}.png", live.receipt_page_png(variant=20 + n), PNG) for n in range(3)])
    page.get_by_test_id("start").click()
    ui.upload(page, ("late.png", live.receipt_page_png(variant=30), PNG))  # while it runs
    ui.done(page, "late.png")  # read without pressing Start again
    _all_finished(page, title)
    assert page.locator("[data-testid=result-card][data-state=done]").count() == 4
    assert "4 / 4" in page.get_by_test_id("progress-label").inner_text()


def test_stop_leaves_the_files_not_started_for_the_next_start(ui: Any) -> None:
    page = ui.open()
    title = page.title()
    ui.upload(page, *[(f"s{n}.png", live.receipt_page_png(variant=40 + n), PNG) for n in range(10)])
    page.get_by_test_id("start").click()
    stop = page.get_by_test_id("stop")
    stop.click()
    _all_finished(page, title)
    assert stop.is_hidden()
    pending = page.locator("[data-testid=result-card][data-state=pending]").count()
    done = page.locator("[data-testid=result-card][data-state=done]").count()
    assert pending >= 1 and pending + done == 10, (pending, done)
    label = page.get_by_test_id("progress-label").inner_text()
    assert f"stopped, {done} of {done} finished" in label, label
    # Start goes on with the others
    page.get_by_test_id("start").click()
    _all_finished(page, title)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=result-card][data-state=done]').length == 10"
    )
    # × removes one file; Clear the rest, and the progress bar with them
    cards = page.get_by_test_id("result-card")
    cards.first.get_by_role("button", name="移除 / Remove").click()
    assert cards.count() == 9
    assert "9 images · 9 done" in page.get_by_test_id("summary").inner_text()
    page.get_by_test_id("clear").click()
    assert cards.count() == 0 and page.get_by_test_id("progress").is_hidden()
    assert page.title() == title
