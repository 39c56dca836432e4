"""The Web UI's viewer and reading aids (issue 15, second pass), in a real headless Chromium
against a real server: zoom (buttons, Ctrl+wheel, fit width / page) and pan (drag, scroll) with
the boxes on their text at every zoom, a tall page no longer capped at 640 px, and search in the
recognised text that filters the lines and highlights their boxes."""

from __future__ import annotations

import importlib
import io
from pathlib import Path
from typing import Any

from rendering import image_pdf, render_lines

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by tests/conftest.py

PNG = "image/png"
PDF = "application/pdf"


def _tall_page() -> bytes:
    """A page taller than the old 640 px cap: the receipt's lines with wide gaps."""
    img = render_lines(list(live.RECEIPT_PAGE_LINES), size=30, spacing=3.0, width=760)
    out = io.BytesIO()
    img.save(out, "PNG")
    assert img.height > 1400
    return out.getvalue()


def _boxes_on_image(card: Any) -> None:
    """Each box's rectangle on the screen is where its points fall on the image at the viewer's
    scale (within 1.5 px), and the image is the answer's size times that scale."""
    found = card.evaluate(
        """card => {
            const scale = Number(card.dataset.scale);
            const img = card.querySelector('img.image').getBoundingClientRect();
            const vb = card.querySelector('[data-testid=overlay]').viewBox.baseVal;
            const boxes = [...card.querySelectorAll('[data-testid=overlay] polygon')].map(p => {
                const pts = p.getAttribute('points').trim().split(/\\s+/)
                    .map(xy => xy.split(',').map(Number));
                const xs = pts.map(q => q[0]), ys = pts.map(q => q[1]);
                const r = p.getBoundingClientRect();
                return {
                    got: [r.left, r.top, r.right, r.bottom],
                    want: [img.left + Math.min(...xs) * scale, img.top + Math.min(...ys) * scale,
                           img.left + Math.max(...xs) * scale, img.top + Math.max(...ys) * scale],
                };
            });
            return {scale, img: [img.width, img.height], vb: [vb.width, vb.height], boxes};
        }"""
    )
    scale = found["scale"]
    assert abs(found["img"][0] - found["vb"][0] * scale) < 1.5, found
    assert abs(found["img"][1] - found["vb"][1] * scale) < 1.5, found
    assert found["boxes"]
    for box in found["boxes"]:
        for got, want in zip(box["got"], box["want"], strict=True):
            assert abs(got - want) < 1.5, (scale, box)


def test_zoom_and_pan_keep_the_boxes_on_their_text(ui: Any, artifacts: Path) -> None:
    page = ui.open()
    ui.upload(page, ("tall.png", _tall_page(), PNG))
    page.get_by_test_id("start").click()
    card = ui.done(page, "tall.png")
    viewer = card.get_by_test_id("viewer")
    image = card.locator("img.image")

    # the first view: the viewer's width, no longer capped at 640 px tall
    width = float(card.get_attribute("data-scale"))
    assert 0.5 < width <= 1
    assert image.bounding_box()["height"] > 640
    _boxes_on_image(card)

    # the buttons: + zooms in (the label says by how much), boxes still on their text
    card.get_by_test_id("zoom-in").click()
    card.get_by_test_id("zoom-in").click()
    zoomed = float(card.get_attribute("data-scale"))
    assert abs(zoomed - width * 1.25 * 1.25) < 1e-6
    assert card.get_by_test_id("zoom-label").inner_text() == f"{round(zoomed * 100)}%"
    _boxes_on_image(card)

    # pan: a drag moves the image under the pointer; the wheel alone scrolls it
    viewer.scroll_into_view_if_needed()
    box = viewer.bounding_box()
    before = viewer.evaluate("v => [v.scrollLeft, v.scrollTop]")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 - 80, box["y"] + box["height"] / 2 - 60, steps=5)
    page.mouse.up()
    after = viewer.evaluate("v => [v.scrollLeft, v.scrollTop]")
    assert after[0] - before[0] > 60 and after[1] - before[1] > 40, (before, after)
    page.mouse.wheel(0, 200)
    page.wait_for_function(f"v => v.scrollTop > {after[1] + 100}", arg=viewer.element_handle())
    _boxes_on_image(card)

    # Ctrl+wheel (a touchpad's pinch) zooms at the pointer: the point under it stays there
    page.mouse.move(box["x"] + 200, box["y"] + 150)
    spot = card.evaluate(
        """(card, [x, y]) => { const r = card.querySelector('img.image').getBoundingClientRect();
            return [(x - r.left) / r.width, (y - r.top) / r.height]; }""",
        [box["x"] + 200, box["y"] + 150],
    )
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    page.wait_for_function(
        "([c, z]) => Number(c.dataset.scale) > z * 1.3", arg=[card.element_handle(), zoomed]
    )
    still = card.evaluate(
        """(card, [x, y]) => { const r = card.querySelector('img.image').getBoundingClientRect();
            return [(x - r.left) / r.width, (y - r.top) / r.height]; }""",
        [box["x"] + 200, box["y"] + 150],
    )
    assert abs(still[0] - spot[0]) < 0.01 and abs(still[1] - spot[1]) < 0.01, (spot, still)
    _boxes_on_image(card)

    # two fingers pinching out zoom in (the pointer events a touch screen sends)
    before_pinch = float(card.get_attribute("data-scale"))
    viewer.evaluate(
        """v => {
            const r = v.getBoundingClientRect(), cx = r.left + 150, cy = r.top + 150;
            const send = (type, id, x) => v.dispatchEvent(new PointerEvent(type, {
                pointerId: id, pointerType: 'touch', clientX: x, clientY: cy, bubbles: true}));
            send('pointerdown', 11, cx - 20); send('pointerdown', 12, cx + 20);
            send('pointermove', 12, cx + 60);  // 40 px apart, then 80: twice the scale
            send('pointerup', 11, cx - 20); send('pointerup', 12, cx + 60);
        }"""
    )
    pinched = float(card.get_attribute("data-scale"))
    assert abs(pinched - min(8, before_pinch * 2)) < 1e-6, (before_pinch, pinched)
    _boxes_on_image(card)

    # fit page: the whole image in the viewer; fit width: the viewer's width
    card.get_by_test_id("fit-page").click()
    assert card.get_by_test_id("fit-page").get_attribute("aria-pressed") == "true"
    img, port = image.bounding_box(), viewer.bounding_box()
    assert img["height"] <= port["height"] and img["width"] <= port["width"]
    _boxes_on_image(card)
    card.get_by_test_id("fit-width").click()
    img = image.bounding_box()
    inner = viewer.evaluate("v => v.clientWidth - 24")  # the viewer's padding: 12 px a side
    assert abs(img["width"] - inner) < 1.5, (img, inner)
    _boxes_on_image(card)

    # the keyboard on the focused viewer: - zooms out, + in, the arrows pan
    scale = float(card.get_attribute("data-scale"))
    viewer.focus()
    page.keyboard.press("-")
    assert abs(float(card.get_attribute("data-scale")) - scale / 1.25) < 1e-6
    page.keyboard.press("+")
    page.keyboard.press("+")
    top = viewer.evaluate("v => v.scrollTop")
    page.keyboard.press("ArrowDown")
    page.wait_for_function(f"v => v.scrollTop > {top}", arg=viewer.element_handle())
    card.get_by_test_id("fit-width").click()

    # a line chosen in the list brings its box into the viewer
    card.get_by_test_id("zoom-in").click()
    card.get_by_test_id("zoom-in").click()
    card.get_by_test_id("zoom-in").click()
    last = card.get_by_test_id("line").last
    last.click()
    inside = card.evaluate(
        """card => { const v = card.querySelector('.viewer').getBoundingClientRect();
            const p = card.querySelector('polygon.active').getBoundingClientRect();
            return p.top >= v.top && p.bottom <= v.bottom; }"""
    )
    assert inside
    page.screenshot(path=str(artifacts / "web-ui-viewer.png"))


def test_search_filters_the_lines_and_lights_their_boxes(ui: Any, artifacts: Path) -> None:
    page = ui.open()
    ui.upload(page, ("receipt.png", live.receipt_page_png(), PNG))
    page.get_by_test_id("start").click()
    card = ui.done(page, "receipt.png")
    lines = card.get_by_test_id("line")
    texts = lines.locator(".text").all_inner_texts()
    wanted = [i for i, t in enumerate(texts) if "total" in t.lower()]
    assert len(wanted) >= 2, texts  # "Subtotal" and "Total"
    search = card.get_by_test_id("line-search")
    search.fill("TOTAL")  # any case

    # only the matching lines are listed, the match marked in each
    shown = card.locator("[data-testid=line]:not([hidden])")
    assert shown.count() == len(wanted)
    assert [int(i) for i in shown.evaluate_all("els => els.map(e => e.dataset.index)")] == wanted
    marks = shown.locator("mark").all_inner_texts()
    assert len(marks) == len(wanted) and all(m.lower() == "total" for m in marks), marks
    assert card.get_by_test_id("search-count").inner_text().endswith(f"{len(wanted)} matches")
    # their boxes lit on the image, the others faded
    lit = card.locator("[data-testid=overlay] polygon.match")
    assert [int(i) for i in lit.evaluate_all("els => els.map(e => e.dataset.index)")] == wanted
    faded = card.locator("[data-testid=overlay] polygon:not(.match)").first
    assert float(faded.evaluate("el => getComputedStyle(el).opacity")) < 0.5
    page.screenshot(path=str(artifacts / "web-ui-search.png"))

    # Enter: the next match selected (its line and box), around to the first again
    active = "[data-testid=overlay] polygon.active"
    for k in [*range(len(wanted)), 0]:
        search.press("Enter")
        assert card.locator(active).get_attribute("data-index") == str(wanted[k])
        assert card.locator("[data-testid=line].active").get_attribute("data-index") == str(
            wanted[k]
        )
    search.press("Shift+Enter")
    assert card.locator(active).get_attribute("data-index") == str(wanted[-1])

    # the arrows in the list go along the matches only
    shown.first.focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.index") == str(wanted[1])

    # nothing found says so; Escape shows every line again
    search.fill("zzzz")
    assert card.locator("[data-testid=line]:not([hidden])").count() == 0
    assert "No match" in card.get_by_test_id("search-count").inner_text()
    search.press("Escape")
    assert search.input_value() == ""
    assert card.locator("[data-testid=line]:not([hidden])").count() == len(texts)
    assert card.locator("[data-testid=overlay] polygon.match").count() == 0
    assert card.locator("mark").count() == 0


def test_preprocessing_stages_enlarge_on_click(ui: Any, artifacts: Path) -> None:
    page = ui.open()
    page.get_by_test_id("opt-preprocess").select_option("classic")
    ui.upload(page, ("receipt.png", live.receipt_page_png(), PNG))
    card = ui.card(page, "receipt.png")
    card.get_by_test_id("preview").click()
    dialog = page.get_by_test_id("preview-dialog")
    opens = dialog.get_by_test_id("stage-open")
    opens.first.wait_for()
    # read with classic: the caption says these are the recipe's steps, all five of them
    caption = dialog.locator("#preview-caption").inner_text()
    assert "classic recipe" in caption
    assert opens.count() == 5
    large = dialog.get_by_test_id("stage-large")
    assert large.is_hidden()

    # the original at its own size
    dialog.locator("[data-stage=original] [data-testid=stage-open]").click()
    assert large.is_visible() and dialog.get_by_test_id("preview-stages").is_hidden()
    img = dialog.get_by_test_id("stage-large-img")
    size = img.evaluate("i => [i.naturalWidth, i.naturalHeight, i.clientWidth, i.clientHeight]")
    assert size[0] > 300 and size[:2] == size[2:], size
    assert page.evaluate("document.activeElement.id") == "stage-back"
    # Escape: back to all the stages, the dialog still open
    page.keyboard.press("Escape")
    assert large.is_hidden() and dialog.is_visible()

    # the last stage (a line's height: small) enlarged a whole number of times, not blurred
    opens.last.click()
    size = img.evaluate("i => [i.naturalWidth, i.naturalHeight, i.clientWidth, i.clientHeight]")
    scale = size[2] / size[0]
    assert scale >= 2 and scale == int(scale) and size[3] == size[1] * scale, size
    assert img.evaluate("i => getComputedStyle(i).imageRendering") == "pixelated"
    page.screenshot(path=str(artifacts / "web-ui-stage-large.png"))
    dialog.get_by_test_id("stage-back").click()
    assert large.is_hidden()
    page.get_by_test_id("preview-close").click()
    assert dialog.is_hidden()


def test_a_document_page_zooms_with_its_boxes(ui: Any) -> None:
    """A PDF page's image is a smaller preview than the page read: the boxes (in the page's
    pixels) still fall on its text at every zoom."""
    page = ui.open()
    ui.upload(page, ("page.pdf", image_pdf([render_lines(list(live.RECEIPT_PAGE_LINES))]), PDF))
    page.get_by_test_id("start").click()
    card = ui.done(page, "page.pdf")
    page.wait_for_function(
        "c => { const i = c.querySelector('img.image'); return i.complete && i.naturalWidth > 0; }",
        arg=card.element_handle(),
    )
    _boxes_on_image(card)
    card.get_by_test_id("zoom-in").click()
    card.get_by_test_id("zoom-in").click()
    _boxes_on_image(card)
    card.get_by_test_id("fit-page").click()
    _boxes_on_image(card)


def _low_contrast_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 200), (150, 150, 150))
    draw = ImageDraw.Draw(image)
    for y in range(30, 170, 35):
        draw.rectangle((30, y, 610, y + 10), fill=(120, 120, 120))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_the_preview_shows_what_auto_did_to_this_image(ui: Any, artifacts: Path) -> None:
    page = ui.open()
    page.get_by_test_id("opt-preprocess").select_option("auto")
    grey = ("grey.png", _low_contrast_png(), PNG)
    ui.upload(page, ("clean.png", live.receipt_page_png(), PNG), grey)
    dialog = page.get_by_test_id("preview-dialog")
    actions = dialog.get_by_test_id("preview-actions").locator("li")
    cases = [
        ("clean.png", "unchanged: clean enough", "未改动"),
        ("grey.png", "CLAHE on lightness: low contrast", "亮度通道 CLAHE"),
    ]
    for name, first_action, zh in cases:
        ui.card(page, name).get_by_test_id("preview").click()
        actions.first.wait_for()
        caption = dialog.locator("#preview-caption").inner_text()
        assert name in caption and "What auto did to this image" in caption
        first = actions.first.inner_text()
        assert first.startswith(zh) and f" / {first_action}" in first  # Chinese, then English
        assert "检测器读取缩放到" in actions.last.inner_text()
        assert "the detector reads it resized to" in actions.last.inner_text()
        stages = dialog.locator("[data-testid=preview-stages] figure")
        assert [stages.nth(k).get_attribute("data-stage") for k in range(stages.count())] == [
            "original",
            "detector_input",
        ]
        if name == "grey.png":
            page.screenshot(path=str(artifacts / "web-ui-preview-auto.png"))
        page.get_by_test_id("preview-close").click()
        dialog.wait_for(state="hidden")
