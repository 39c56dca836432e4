"""The Web UI's recognised text (issue 15, second pass): a line corrected in place before copy
and export (and kept so in the history), a lines view and a paragraphs view, and plain words
where the page was cryptic (the server pill, the Detect-lines hint, one name for Markdown)."""

from __future__ import annotations

import importlib
import io
import json
from pathlib import Path
from typing import Any

from PIL import Image

from rendering import image_pdf, render_lines

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by tests/conftest.py

PNG = "image/png"
EXPECTED = list(live.RECEIPT_LINES)


def _export(page: Any, card: Any, fmt: str) -> str:
    with page.expect_download() as info:
        card.get_by_test_id(f"export-{fmt}").click()
    return Path(info.value.path()).read_text(encoding="utf-8")


def test_a_line_corrected_in_place_is_copied_exported_and_kept(ui: Any, artifacts: Path) -> None:
    page = ui.open()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ui.upload(page, ("invoice.png", live.receipt_png(), PNG))
    page.get_by_test_id("start").click()
    card = ui.done(page, "invoice.png")
    lines = card.get_by_test_id("line")

    # a double-click on the text: a field with the text; Enter keeps the correction
    lines.nth(0).locator(".text").dblclick()
    field = card.get_by_test_id("line-edit")
    assert field.input_value() == EXPECTED[0]
    field.fill("发票号码 87654321")
    field.press("Enter")
    assert card.get_by_test_id("line-edit").count() == 0
    assert lines.nth(0).locator(".text").inner_text().startswith("发票号码 87654321")
    assert "corrected" in (lines.nth(0).get_attribute("class") or "")
    assert EXPECTED[0] in (lines.nth(0).get_attribute("title") or "")  # what was read
    assert page.evaluate("document.activeElement.dataset.index") == "0"
    page.screenshot(path=str(artifacts / "web-ui-corrected.png"))

    # the Edit button, then Escape: nothing changed
    lines.nth(1).hover()
    lines.nth(1).locator(".edit").click()
    card.get_by_test_id("line-edit").fill("nothing")
    card.get_by_test_id("line-edit").press("Escape")
    assert lines.nth(1).locator(".text").inner_text() == EXPECTED[1]
    assert "corrected" not in (lines.nth(1).get_attribute("class") or "")
    # F2 on the focused line, the correction kept when the field is left
    lines.nth(1).focus()
    page.keyboard.press("F2")
    card.get_by_test_id("line-edit").fill("Total 42.00")
    page.get_by_test_id("summary").click()
    assert lines.nth(1).locator(".text").inner_text().startswith("Total 42.00")

    # copy and the exports use the corrected text; the JSON keeps what was read
    corrected = ["发票号码 87654321", "Total 42.00"]
    card.get_by_test_id("copy-all").click()
    assert page.evaluate("navigator.clipboard.readText()") == "\n".join(corrected)
    assert _export(page, card, "txt") == "\n".join(corrected) + "\n"
    assert "| 1 | 发票号码 87654321 |" in _export(page, card, "md")
    exported = json.loads(_export(page, card, "json"))
    assert exported["text"] == corrected
    assert [line["text"] for line in exported["lines"]] == corrected
    assert [line.get("original") for line in exported["lines"]] == EXPECTED

    # kept in the history: after a reload the corrected lines come back, still marked
    page.reload()
    page.wait_for_selector("#server-status.pill-ok")
    page.get_by_test_id("history-entry").locator(".history-open").click()
    card = ui.done(page, "invoice.png")
    texts = card.get_by_test_id("line").locator(".text")
    assert [t.split("已改")[0].strip() for t in texts.all_inner_texts()] == corrected
    assert card.locator(".line.corrected").count() == 2


def test_plain_words_the_server_pill_the_detect_lines_hint_and_markdown(ui: Any) -> None:
    page = ui.open()
    ready = page.evaluate("fetch('/readyz').then(r => r.json())")
    slots, threads = ready["slots"], ready["threads"]
    pill = page.get_by_test_id("server-status").inner_text()
    plural = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"  # noqa: E731
    assert pill.startswith("就绪 / Ready")
    assert f"预设 {ready['preset']} · {slots} 个槽 × {threads} 线程" in pill
    assert (
        f"Preset: {ready['preset']} · {plural(slots, 'slot')} × {plural(threads, 'thread')}"
    ) in pill

    # Detect lines off: a hint says what the switch is for
    hint = page.get_by_test_id("det-hint")
    assert hint.is_hidden()
    page.locator("label.switch").click()
    assert not page.get_by_test_id("opt-det").is_checked()
    assert hint.is_visible()
    assert "一行" in hint.inner_text() and "a crop of a single line" in hint.inner_text()
    page.locator("label.switch").click()
    assert hint.is_hidden()

    # one name for Markdown everywhere
    labels = page.locator("[data-export=md], [data-export-all=md], [data-download=md]")
    ui.upload(page, ("invoice.png", live.receipt_png(), PNG))
    assert labels.count() >= 3
    assert set(labels.evaluate_all("els => els.map(e => e.textContent.trim())")) == {"Markdown"}


def _two_paragraphs() -> Image.Image:
    """Two paragraphs (three lines, then two), set well apart."""
    first = render_lines(
        ["第一段的第一行文字", "第一段的第二行文字", "第一段的第三行文字"], spacing=0.4
    )
    second = render_lines(["Second paragraph line one", "Second paragraph line two"], spacing=0.4)
    page = Image.new(
        "RGB", (max(first.width, second.width), first.height + second.height + 90), "white"
    )
    page.paste(first, (0, 0))
    page.paste(second, (0, first.height + 90))
    return page


def test_a_lines_view_and_a_paragraphs_view(ui: Any, artifacts: Path) -> None:
    page = ui.open()
    out = io.BytesIO()
    _two_paragraphs().save(out, "PNG")
    ui.upload(page, ("paragraphs.png", out.getvalue(), PNG))
    page.get_by_test_id("start").click()
    card = ui.done(page, "paragraphs.png")
    lines = card.get_by_test_id("line").locator(".text").all_inner_texts()
    assert len(lines) == 5, lines

    # an image's paragraphs: the server's layout (paragraphs=true), said so
    card.get_by_test_id("view-paragraphs").click()
    assert card.get_by_test_id("view-paragraphs").get_attribute("aria-pressed") == "true"
    assert card.get_by_test_id("lines").is_hidden()
    paras = card.get_by_test_id("paragraph")
    assert paras.count() == 2
    assert paras.nth(0).inner_text() == "".join(lines[:3])  # Chinese: joined without spaces
    assert paras.nth(1).inner_text() == " ".join(lines[3:])
    assert "(from the layout)" in card.get_by_test_id("paragraphs").inner_text()
    # a paragraph chosen: all its boxes lit; the keyboard does it too
    paras.nth(0).click()
    active = card.locator("[data-testid=overlay] polygon.active")
    assert active.evaluate_all("els => els.map(e => Number(e.dataset.index))") == [0, 1, 2]
    # one tab stop; the arrows move along the paragraphs
    stops = card.get_by_test_id("paragraphs").evaluate(
        "el => [...el.querySelectorAll('*')].filter(e => e.tabIndex >= 0).length"
    )
    assert stops == 1
    paras.nth(0).focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.para") == "1"
    page.keyboard.press("Enter")
    assert active.evaluate_all("els => els.map(e => Number(e.dataset.index))") == [3, 4]
    # search works on the paragraphs too
    card.get_by_test_id("line-search").fill("second")
    assert card.locator("[data-testid=paragraph]:not([hidden])").count() == 1
    assert card.locator("[data-testid=paragraph] mark").all_inner_texts() == ["Second"] * 2
    page.screenshot(path=str(artifacts / "web-ui-paragraphs.png"))
    card.get_by_test_id("line-search").fill("")
    # back to the lines
    card.get_by_test_id("view-lines").click()
    assert card.get_by_test_id("paragraphs").is_hidden()
    assert card.get_by_test_id("line").count() == 5


def test_a_documents_paragraphs_are_the_layouts(ui: Any) -> None:
    page = ui.open()
    ui.upload(page, ("two.pdf", image_pdf([_two_paragraphs()]), "application/pdf"))
    page.get_by_test_id("start").click()
    card = ui.done(page, "two.pdf")
    job = page.evaluate("window.cpuocr.items[0].job.id")
    served = page.evaluate("id => fetch(`/jobs/${id}/pages`).then(r => r.json())", job)["pages"][0]
    want = [p["text"] for b in served["blocks"] for p in b["paragraphs"]]
    card.get_by_test_id("view-paragraphs").click()
    got = card.get_by_test_id("paragraph").all_inner_texts()
    assert [t.replace(" ", "") for t in got] == [t.replace(" ", "").replace("\n", "") for t in want]
    assert "from the layout" in card.get_by_test_id("paragraphs").inner_text()
