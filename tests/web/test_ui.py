"""The Web UI in a real headless Chromium against a real server: upload, recognise, boxes,
highlight, export, preprocessing preview, rejected files, paste and drop, no external requests."""

from __future__ import annotations

import base64
import csv
import importlib
import io
import json
from pathlib import Path
from typing import Any

from PIL import Image

from rendering import image_pdf, render_lines

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by conftest.py

EXPECTED = list(live.RECEIPT_LINES)


def _file(name: str, data: bytes, mime: str) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def _card(page: Any, name: str) -> Any:
    return page.locator("[data-testid=result-card]", has=page.get_by_text(name, exact=True))


def _wait_all_finished(page: Any) -> None:
    page.wait_for_function(
        "() => { const cards = [...document.querySelectorAll('[data-testid=result-card]')];"
        " return cards.length > 0 && cards.every("
        "c => c.dataset.state === 'done' || c.dataset.state === 'error'); }"
    )


def test_recognise_highlight_export_preview_and_reject(
    page: Any, ui_server: Any, artifacts: Path
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.set_input_files(
        "[data-testid=file-input]",
        files=[
            _file("invoice.png", live.receipt_png(), "image/png"),
            _file("receipt-page.png", live.receipt_page_png(), "image/png"),
            _file("notes.txt", "这不是图片 not an image".encode(), "text/plain"),
        ],
    )
    assert page.locator("[data-testid=result-card]").count() == 3
    start = page.get_by_test_id("start")
    assert "开始识别" in start.inner_text() and "Start recognition" in start.inner_text()
    start.click()
    _wait_all_finished(page)

    # the recognised text, one list item per line, with confidences
    invoice = _card(page, "invoice.png")
    assert invoice.get_attribute("data-state") == "done"
    lines = invoice.locator("[data-testid=line] .text")
    assert lines.all_inner_texts() == EXPECTED
    scores = invoice.locator("[data-testid=line] .score").all_inner_texts()
    assert len(scores) == 2 and all(s.endswith("%") for s in scores)

    # one box per line, drawn in the image's pixel space over the image
    polygons = invoice.locator("[data-testid=overlay] polygon")
    assert polygons.count() == 2
    width, height = Image.open(io.BytesIO(live.receipt_png())).size
    viewbox = invoice.locator("[data-testid=overlay]").get_attribute("viewBox")
    assert viewbox == f"0 0 {width} {height}"
    box = invoice.locator("[data-testid=overlay]").bounding_box()
    image_box = invoice.locator("img.image").bounding_box()
    assert (
        abs(box["width"] - image_box["width"]) < 1 and abs(box["height"] - image_box["height"]) < 1
    )

    # clicking a line highlights its box; clicking a box highlights its line
    invoice.locator("[data-testid=line]").nth(1).click()
    assert "active" in (polygons.nth(1).get_attribute("class") or "")
    assert "active" not in (polygons.nth(0).get_attribute("class") or "")
    polygons.nth(0).dispatch_event("click")
    assert "active" in (invoice.locator("[data-testid=line]").nth(0).get_attribute("class") or "")
    assert "active" not in (polygons.nth(1).get_attribute("class") or "")

    # exports download the recognised text
    with page.expect_download() as info:
        invoice.get_by_test_id("export-txt").click()
    download = info.value
    assert download.suggested_filename == "invoice.txt"
    assert Path(download.path()).read_text(encoding="utf-8") == "\n".join(EXPECTED) + "\n"
    with page.expect_download() as info:
        invoice.get_by_test_id("export-csv").click()
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0][:4] == ["file", "line", "text", "score"]
    assert [r[2] for r in rows[1:]] == EXPECTED
    with page.expect_download() as info:
        invoice.get_by_test_id("export-json").click()
    exported = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert exported["file"] == "invoice.png" and exported["text"] == EXPECTED
    with page.expect_download() as info:
        invoice.get_by_test_id("export-md").click()
    markdown = Path(info.value.path()).read_text(encoding="utf-8")
    assert "| 1 | 发票号码 12345678 |" in markdown

    # the text file was refused in the browser, before any upload (issue 15), with the reason
    rejected = _card(page, "notes.txt")
    assert rejected.get_attribute("data-state") == "error"
    message = rejected.get_by_test_id("error-message")
    assert message.is_visible()
    assert "This type of file cannot be read" in message.inner_text()
    assert "unsupported_type" in message.inner_text()

    page.get_by_test_id("summary").wait_for()
    assert "3 images · 2 done · 1 failed" in page.get_by_test_id("summary").inner_text()
    page.get_by_test_id("toast").wait_for(state="hidden")
    page.screenshot(path=str(artifacts / "web-ui.png"), full_page=True)

    # the preprocessing preview shows what the server's mode (auto) did to this image
    invoice.get_by_test_id("preview").click()
    dialog = page.get_by_test_id("preview-dialog")
    dialog.wait_for(state="visible")
    stage_images = page.locator("[data-testid=preview-stages] figure img")
    stage_images.nth(1).wait_for()
    assert stage_images.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=preview-stages] img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    captions = page.locator("[data-testid=preview-stages] figcaption strong").all_inner_texts()
    assert captions == ["原图 / Original", "检测器的输入 / What the detector reads"]
    actions = dialog.get_by_test_id("preview-actions").inner_text()
    assert "unchanged: clean enough" in actions
    page.screenshot(path=str(artifacts / "web-ui-preview.png"))
    page.get_by_test_id("preview-close").click()
    dialog.wait_for(state="hidden")

    # nothing was fetched from anywhere but the server (blob:/data: URLs are local)
    foreign = [u for u in requests if not u.startswith((ui_server.url, "blob:", "data:"))]
    assert foreign == []


def test_paste_and_drop_add_images(page: Any) -> None:
    png = base64.b64encode(live.receipt_png()).decode()
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const pasted = new DataTransfer();
            pasted.items.add(new File([bytes], 'image.png', {type: 'image/png'}));
            window.dispatchEvent(new ClipboardEvent('paste', {clipboardData: pasted}));
            const dropped = new DataTransfer();
            dropped.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));
            document.getElementById('dropzone').dispatchEvent(
                new DragEvent('drop', {dataTransfer: dropped, bubbles: true, cancelable: true}));
        }""",
        png,
    )
    names = page.locator("[data-testid=file-name]").all_inner_texts()
    assert names == ["pasted-1.png", "dropped.png"]
    page.get_by_test_id("start").click()
    _wait_all_finished(page)
    for i in range(2):
        card = page.locator("[data-testid=result-card]").nth(i)
        assert card.locator("[data-testid=line] .text").all_inner_texts() == EXPECTED


def test_copy_all_puts_the_lines_on_the_clipboard(page: Any) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.set_input_files(
        "[data-testid=file-input]", files=[_file("copy.png", live.receipt_png(), "image/png")]
    )
    page.get_by_test_id("start").click()
    _wait_all_finished(page)
    page.get_by_test_id("copy-all").click()
    page.get_by_test_id("toast").wait_for(state="visible")
    assert page.evaluate("navigator.clipboard.readText()") == "\n".join(EXPECTED)


def test_api_docs_page_renders_the_endpoints_offline(page: Any, ui_server: Any) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(ui_server.url + "/docs")
    page.locator("details.endpoint").nth(5).wait_for()
    paths = page.locator("details.endpoint .path").all_inner_texts()
    for path in ("/ocr", "/ocr/batch", "/preprocess", "/healthz", "/readyz", "/metrics"):
        assert path in paths
    assert all(u.startswith(ui_server.url) for u in requests), requests


DOC_PAGES = (["第一页 发票 12345"], ["Page two total 42.50", "第二页 收据 2026"])


def _squash(texts: list[str]) -> list[str]:
    return ["".join(text.split()) for text in texts]


def test_a_pdf_shows_as_pages_with_thumbnails_boxes_and_lines(
    page: Any, ui_server: Any, artifacts: Path
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    accept = page.get_by_test_id("file-input").get_attribute("accept") or ""
    assert ".pdf" in accept and ".tif" in accept and "image/*" in accept
    pdf = image_pdf([render_lines(lines, size=40) for lines in DOC_PAGES])
    page.set_input_files(
        "[data-testid=file-input]",
        files=[
            _file("scan.pdf", pdf, "application/pdf"),
            _file("invoice.png", live.receipt_png(), "image/png"),
        ],
    )
    card = _card(page, "scan.pdf")
    assert card.get_attribute("data-state") == "pending"
    page.get_by_test_id("start").click()
    _wait_all_finished(page)
    assert card.get_attribute("data-state") == "done"
    answer = page.evaluate(
        "() => window.cpuocr.items.find(it => it.name === 'scan.pdf').result.pages"
        ".map(p => ({width: p.width, height: p.height, preview: p.preview}))"
    )
    assert all(p["preview"]["width"] > 0 for p in answer)

    # a thumbnail per page, each showing its page's preview image
    thumbs = card.get_by_test_id("page-thumb")
    assert thumbs.count() == 2
    assert thumbs.all_inner_texts() == ["1", "2"]
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=page-thumb] img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    assert thumbs.nth(0).get_attribute("aria-current") == "page"

    # page 1 first: its image, its boxes, its lines
    lines = card.locator("[data-testid=line] .text")
    polygons = card.locator("[data-testid=overlay] polygon")
    assert card.get_attribute("data-page") == "1"
    assert _squash(lines.all_inner_texts()) == _squash(DOC_PAGES[0])
    assert polygons.count() == len(DOC_PAGES[0])
    assert card.get_by_test_id("page-prev").is_disabled()
    assert "Page 1 (1 of 2)" in card.get_by_test_id("page-label").inner_text()
    assert (card.locator("img.image").get_attribute("src") or "").startswith("blob:")

    # next: page 2's lines and boxes, the boxes in page pixels over the page image
    card.get_by_test_id("page-next").click()
    assert card.get_attribute("data-page") == "2"
    assert _squash(lines.all_inner_texts()) == _squash(DOC_PAGES[1])
    assert polygons.count() == len(DOC_PAGES[1])
    assert card.get_by_test_id("page-next").is_disabled()
    assert thumbs.nth(1).get_attribute("aria-current") == "page"
    overlay = card.locator("[data-testid=overlay]")
    assert overlay.get_attribute("viewBox") == f"0 0 {answer[1]['width']} {answer[1]['height']}"
    page.wait_for_function(
        "() => { const img = document.querySelector('[data-page=\"2\"] img.image');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    box, image_box = overlay.bounding_box(), card.locator("img.image").bounding_box()
    assert abs(box["width"] - image_box["width"]) < 1
    assert abs(box["height"] - image_box["height"]) < 1
    natural = card.locator("img.image").evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert natural == [answer[1]["preview"]["width"], answer[1]["preview"]["height"]]
    # each box lies over its line's ink: inside the image, in the upper/lower half in order
    tops = [polygons.nth(i).bounding_box()["y"] for i in range(polygons.count())]
    assert tops == sorted(tops) and all(image_box["y"] <= t < image_box["y"] + image_box["height"]
                                        for t in tops)  # fmt: skip

    # a line of page 2 highlights its box
    card.locator("[data-testid=line]").nth(1).click()
    assert "active" in (polygons.nth(1).get_attribute("class") or "")

    # thumbnail 1 goes back to page 1; the arrow keys on the strip turn pages
    thumbs.nth(0).click()
    assert card.get_attribute("data-page") == "1"
    assert _squash(lines.all_inner_texts()) == _squash(DOC_PAGES[0])
    thumbs.nth(0).focus()
    page.keyboard.press("ArrowRight")
    assert card.get_attribute("data-page") == "2"
    assert page.evaluate("document.activeElement.dataset.page") == "1"  # focus follows (0-based)
    page.keyboard.press("ArrowLeft")
    assert card.get_attribute("data-page") == "1"

    # copy all: every page's text under a page separator; copy page: the page shown
    card.get_by_test_id("copy-all").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    squashed = "".join(copied.split())
    assert "Page1" in squashed and "Page2" in squashed
    assert squashed.index("Page1") < squashed.index("Page2")
    for text in _squash([line for lines_ in DOC_PAGES for line in lines_]):
        assert text in squashed
    card.get_by_test_id("copy-page").click()
    page.wait_for_function("async () => (await navigator.clipboard.readText()).length < 40")
    assert _squash(page.evaluate("navigator.clipboard.readText()").split("\n")) == _squash(
        DOC_PAGES[0]
    )

    # exports hold the whole document
    with page.expect_download() as info:
        card.get_by_test_id("export-txt").click()
    exported = "".join(Path(info.value.path()).read_text(encoding="utf-8").split())
    assert all(t in exported for t in _squash([x for lines_ in DOC_PAGES for x in lines_]))
    with page.expect_download() as info:
        card.get_by_test_id("export-csv").click()
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0][-1] == "page" and [r[-1] for r in rows[1:]] == ["1", "2", "2"]
    with page.expect_download() as info:
        card.get_by_test_id("export-json").click()
    as_json = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert [p["page"] for p in as_json["pages"]] == [1, 2]
    assert all("image" not in p["preview"] for p in as_json["pages"])  # no base64 in exports

    # the image beside it is shown as before
    invoice = _card(page, "invoice.png")
    assert invoice.get_by_test_id("pages").is_hidden()
    assert invoice.locator("[data-testid=line] .text").all_inner_texts() == EXPECTED
    assert "2 files · 2 done · 0 failed" in page.get_by_test_id("summary").inner_text()

    page.get_by_test_id("toast").wait_for(state="hidden")
    page.screenshot(path=str(artifacts / "web-ui-pdf.png"), full_page=True)
    foreign = [u for u in requests if not u.startswith((ui_server.url, "blob:", "data:"))]
    assert foreign == []
