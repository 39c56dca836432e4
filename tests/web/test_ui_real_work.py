"""The Web UI for real work (issue 15, first pass), in a real headless Chromium against real
servers: the limits and error codes of the server in both languages, files refused before any
upload, re-running done files with other settings, a document's pages shown as they are read, a
keyboard-usable line list, dark mode, a phone-sized screen, and an honest status pill when the
server goes away and comes back (the server process really stopped and started again)."""

from __future__ import annotations

import importlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from rendering import image_pdf, render_lines

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by tests/conftest.py

EXPECTED = list(live.RECEIPT_LINES)
SRC = Path(__file__).resolve().parents[2] / "src" / "cpuocr"
UPLOAD_MB = 1  # the small server's --max-upload-mb: small files can pass it


def _file(name: str, data: bytes, mime: str) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def _card(page: Any, name: str) -> Any:
    return page.locator("[data-testid=result-card]", has=page.get_by_text(name, exact=True))


def _wait_state(page: Any, name: str, states: tuple[str, ...], timeout_ms: int = 90_000) -> str:
    """Wait until the card of ``name`` is in one of ``states``; that state."""
    card = _card(page, name).element_handle()
    page.wait_for_function(
        "([card, states]) => states.includes(card.dataset.state)",
        arg=[card, list(states)],
        timeout=timeout_ms,
    )
    state: str = card.get_attribute("data-state")
    return state


def _noise_png(min_bytes: int) -> bytes:
    """A PNG of noise (incompressible) just over ``min_bytes``."""
    side = int((min_bytes / 3) ** 0.5) + 40
    pixels = np.random.default_rng(7).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=1)
    assert len(out.getvalue()) > min_bytes
    return out.getvalue()


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server of this module's own, with a small upload limit (1 MB) and a job store; the
    status test stops it and starts it again on the same port."""
    tmp = tmp_path_factory.mktemp("real-work")
    srv = live.LiveServer(
        tmp / "logs",
        args=["--data-dir", str(tmp / "data"), "--max-upload-mb", str(UPLOAD_MB)],
    )
    srv.start()
    yield srv
    srv.stop()


def _open(browser: Any, url: str, **context: Any) -> Any:
    options: dict[str, Any] = {"viewport": {"width": 1440, "height": 900}, "locale": "zh-CN"}
    options.update(context)
    ctx = browser.new_context(**options)
    page = ctx.new_page()
    page.set_default_timeout(90_000)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.posts = posts
    page.goto(url + "/")
    page.wait_for_selector("#server-status.pill-ok")
    return page


@pytest.fixture
def small_page(browser: Any, small_server: Any) -> Iterator[Any]:
    page = _open(browser, small_server.url)
    yield page
    page.context.close()


def _server_error_codes() -> set[str]:
    """Every error code the server's code names: the classes' ``code``, the ``code=`` of each
    raise, the literal codes of the error answers."""
    codes: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        codes.update(re.findall(r'\bcode\s*=\s*"([a-z0-9_]+)"', text))
        codes.update(re.findall(r'error_answer\(\s*"([a-z0-9_]+)"', text))
        codes.update(re.findall(r'\d{3}: "([a-z_]+)"', text))  # errors.py: 404/405 codes
    return codes


def test_limits_and_refusals_come_from_the_server_in_both_languages(
    small_page: Any, small_server: Any, artifacts: Path
) -> None:
    page = small_page
    # every code the server can send has a Chinese and English text in the page
    mapped = set(page.evaluate("window.cpuocr.errorCodes"))
    server_codes = _server_error_codes()
    assert {"file_too_large", "invalid_image", "queue_full", "job_not_found"} <= server_codes
    assert server_codes - mapped == set()

    # the help text gives the server's limit, in MB, as /readyz configures it
    ready = httpx.get(small_server.url + "/readyz").json()
    assert ready["max_upload_bytes"] == UPLOAD_MB * 1024 * 1024
    hint = page.get_by_test_id("limits-hint")
    assert f"最大 {UPLOAD_MB} MB" in hint.inner_text()
    assert f"up to {UPLOAD_MB} MB" in hint.inner_text()

    big = _noise_png(UPLOAD_MB * 1024 * 1024 + 100_000)
    # the server refuses it too: the limit the page checks is the server's own
    refused = httpx.post(small_server.url + "/ocr", files={"image": ("big.png", big)}, timeout=60)
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "file_too_large"

    fake = b"this is text, not a PNG" * 10
    page.set_input_files(
        "[data-testid=file-input]",
        files=[
            _file("big.png", big, "image/png"),
            _file("empty.png", b"", "image/png"),
            _file("notes.txt", "这不是图片 not an image".encode(), "text/plain"),
            _file(
                "report.docx",
                b"PK\x03\x04 a zip",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            _file("fake.png", fake, "image/png"),
        ],
    )
    # refused at once, in the browser, each with its reason in both languages and in KB/MB
    expected = {
        "big.png": ("文件超过大小上限", "The file is over the size limit", "file_too_large"),
        "empty.png": ("文件是空的", "The file is empty", "empty_file"),
        "notes.txt": ("无法读取此类文件", "This type of file cannot be read", "unsupported_type"),
        "report.docx": ("无法读取此类文件", "This type of file cannot be read", "unsupported_type"),
    }
    for name, (zh, en, code) in expected.items():
        card = _card(page, name)
        assert card.get_attribute("data-state") == "error", name
        assert card.get_by_test_id("status").inner_text() == "已拒绝 / Rejected"
        text = card.get_by_test_id("error-message").inner_text()
        assert "浏览器已拒绝" in text and "refused in the browser" in text
        assert zh in text and en in text and code in text, text
        assert card.get_by_test_id("preview").is_disabled()  # "Stages": nothing to preview
    big_text = _card(page, "big.png").get_by_test_id("error-message").inner_text()
    assert f"the server's limit is {UPLOAD_MB} MB" in big_text
    assert f"the file is {len(big) / 1024 / 1024:.1f} MB" in big_text
    assert not re.search(r"\d{5,}", big_text)  # never raw bytes
    assert _card(page, "fake.png").get_attribute("data-state") == "pending"
    assert page.posts == []  # nothing uploaded yet

    page.get_by_test_id("start").click()
    assert _wait_state(page, "fake.png", ("done", "error", "retry", "offline")) == "error"
    # only the file the browser could not judge went to the server; its refusal is mapped
    assert page.posts == [small_server.url + "/ocr"]
    text = _card(page, "fake.png").get_by_test_id("error-message").inner_text()
    assert "不是可读的图片" in text and "Not a readable image" in text
    assert "HTTP 400 · invalid_image" in text
    assert _card(page, "fake.png").get_by_test_id("preview").is_disabled()
    assert "5 images · 0 done · 5 failed" in page.get_by_test_id("summary").inner_text()
    # rejected files are never sent again: Start has nothing to do
    assert page.get_by_test_id("start").is_disabled()
    page.keyboard.press("Control+Enter")  # the shortcut of Start
    assert page.posts == [small_server.url + "/ocr"]
    page.get_by_test_id("toast").wait_for(state="hidden")
    page.screenshot(path=str(artifacts / "web-ui-refused.png"), full_page=True)


def _sent_options(page: Any) -> list[dict[str, str]]:
    """The text fields of each POST /ocr the page has made (recorded by the page's fetch)."""
    sent: list[dict[str, str]] = page.evaluate("window.sentForms")
    return sent


def test_done_files_are_read_again_with_other_settings(page: Any) -> None:
    # the text fields of every form the page sends (the browser does not show the body of a
    # request that carries a file), recorded on their way to the real fetch
    page.evaluate(
        """() => { window.sentForms = []; const send = window.fetch;
            window.fetch = (url, init) => {
                if (String(url).endsWith('/ocr') && init && init.body instanceof FormData) {
                    window.sentForms.push(Object.fromEntries([...init.body.entries()]
                        .filter(([, v]) => typeof v === 'string')));
                }
                return send(url, init);
            }; }"""
    )
    page.set_input_files(
        "[data-testid=file-input]", files=[_file("rerun.png", live.receipt_png(), "image/png")]
    )
    start = page.get_by_test_id("start")
    start.click()
    assert _wait_state(page, "rerun.png", ("done", "error")) == "done"
    assert start.is_disabled()
    card = _card(page, "rerun.png")
    assert card.locator("[data-testid=line] .text").all_inner_texts() == EXPECTED

    # another preprocessing: Start is enabled and reads the done file again with it
    page.get_by_test_id("opt-preprocess").select_option("classic")
    assert not start.is_disabled()
    page.get_by_test_id("opt-preprocess").select_option("")  # back as it was: nothing to do
    assert start.is_disabled()
    page.get_by_test_id("opt-preprocess").select_option("classic")
    start.click()
    page.wait_for_function("() => window.cpuocr.items[0].settings.preprocess === 'classic'")
    assert _wait_state(page, "rerun.png", ("done", "error")) == "done"
    sent = _sent_options(page)
    assert [f["preprocess"] for f in sent] == ["", "classic"]
    assert card.locator("[data-testid=line] .text").all_inner_texts() == EXPECTED
    assert start.is_disabled()

    # detect lines off: the same
    page.locator("label.switch").click()
    assert not page.get_by_test_id("opt-det").is_checked()
    assert not start.is_disabled()
    start.click()
    page.wait_for_function("() => window.cpuocr.items[0].settings.det === false")
    assert _wait_state(page, "rerun.png", ("done", "error")) == "done"
    sent = _sent_options(page)
    assert [(f["det"], f["preprocess"]) for f in sent][1:] == [
        ("true", "classic"),
        ("false", "classic"),
    ]
    # without detection the whole image is read as one line: the other settings took effect
    assert card.locator("[data-testid=overlay] polygon").count() == 1
    assert start.is_disabled()


def test_a_documents_pages_appear_as_they_are_read(
    small_page: Any, small_server: Any, artifacts: Path
) -> None:
    page = small_page
    count = 40  # long enough that pages are shown while it runs, whatever the machine
    pdf = image_pdf([render_lines([f"第{n}页 进度 {n:03d}"], size=40) for n in range(1, count + 1)])
    page.set_input_files(
        "[data-testid=file-input]", files=[_file("long.pdf", pdf, "application/pdf")]
    )
    card = _card(page, "long.pdf")
    # every change of the card: (thumbnails shown, the job's state, the card's state)
    page.evaluate(
        """() => { window.seen = [];
            const card = document.querySelector('[data-testid=result-card]');
            const note = () => window.seen.push([
                card.querySelectorAll('[data-testid=page-thumb]').length,
                card.querySelector('[data-testid=job]').dataset.jobState, card.dataset.state]);
            new MutationObserver(note).observe(card, {subtree: true, childList: true,
                attributes: true}); }"""
    )
    page.get_by_test_id("start").click()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=page-thumb]').length >= 2"
        " && document.querySelector('[data-testid=job]').dataset.jobState === 'running'"
    )
    # page 1 is shown, its text and its image, while the job goes on
    lines = card.locator("[data-testid=line] .text")
    assert "".join(lines.inner_text().split()) == "第1页进度001"
    assert card.get_attribute("data-state") == "working"
    page.wait_for_function(
        "() => { const img = document.querySelector('[data-page=\"1\"] img.image');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    assert card.get_by_test_id("export-txt").is_disabled()  # only once it is done
    page.screenshot(path=str(artifacts / "web-ui-pages-filling.png"))
    card.get_by_test_id("job-cancel").click()
    assert _wait_state(page, "long.pdf", ("cancelled", "done")) == "cancelled"
    seen: list[list[Any]] = page.evaluate("window.seen")
    running = [n for n, job, state in seen if job == "running" and state == "working"]
    assert max(running) >= 2 and min(n for n in running if n) < count
    # the pages read stay, in order, one thumbnail each
    shown = card.get_by_test_id("page-thumb").all_inner_texts()
    assert shown == [str(n) for n in range(1, len(shown) + 1)]

    # the server's route: the pages read so far, after a page number
    job_id = page.evaluate("window.cpuocr.items[0].job.id")
    with httpx.Client(base_url=small_server.url, timeout=30) as api:
        answer = api.get(f"/jobs/{job_id}/pages").json()
        assert answer["success"] and answer["job"]["state"] == "cancelled"
        numbers = [p["number"] for p in answer["pages"]]
        assert numbers == list(range(1, answer["job"]["pages_done"] + 1))
        assert len(numbers) >= len(shown)
        first = answer["pages"][0]["blocks"][0]["paragraphs"][0]["rows"][0]["lines"][0]
        assert "".join(first["text"].split()) == "第1页进度001"
        later = api.get(f"/jobs/{job_id}/pages", params={"after": 1}).json()["pages"]
        assert [p["number"] for p in later] == numbers[1:]
        assert api.get(f"/jobs/{job_id}/pages", params={"after": 10_000}).json()["pages"] == []
        gone = api.get("/jobs/AAAAAAAAAAAAAAAAAAAAAAAA/pages")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "job_not_found"


def test_lines_by_keyboard_and_dark_mode(
    page: Any, browser: Any, ui_server: Any, artifacts: Path
) -> None:
    page.set_input_files(
        "[data-testid=file-input]",
        files=[_file("receipt.png", live.receipt_page_png(), "image/png")],
    )
    page.get_by_test_id("start").click()
    assert _wait_state(page, "receipt.png", ("done", "error")) == "done"
    card = _card(page, "receipt.png")
    lines = card.locator("[data-testid=line]")
    count = lines.count()
    assert count >= 10
    # the list is one tab stop (and the Copy and Edit of its line), not three per line
    stops = card.locator("[data-testid=lines]").evaluate(
        "el => [...el.querySelectorAll('*')].filter(e => e.tabIndex >= 0).length"
    )
    assert stops == 3
    lines.nth(0).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.index") == "2"
    polygons = card.locator("[data-testid=overlay] polygon")
    page.keyboard.press("Enter")
    assert "active" in (lines.nth(2).get_attribute("class") or "")
    assert "active" in (polygons.nth(2).get_attribute("class") or "")
    page.keyboard.press(" ")  # Space: as a second click, clears it
    assert "active" not in (polygons.nth(2).get_attribute("class") or "")
    page.keyboard.press(" ")
    assert "active" in (polygons.nth(2).get_attribute("class") or "")
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.dataset.index") == str(count - 1)
    # Tab: the line's Copy, its Edit, then out of the list
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.action") == "copy-line"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.action") == "edit-line"
    page.keyboard.press("Tab")
    assert page.evaluate("!document.activeElement.closest('[data-testid=lines]')")
    # and Shift+Tab back into the list lands on the line last used
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.dataset.index") == str(count - 1)

    # the browser set to dark: a dark page with light text, enough contrast everywhere checked
    dark = _open(browser, ui_server.url, color_scheme="dark")
    try:
        dark.set_input_files(
            "[data-testid=file-input]",
            files=[
                _file("receipt.png", live.receipt_page_png(), "image/png"),
                _file("notes.txt", b"text", "text/plain"),
            ],
        )
        dark.get_by_test_id("start").click()
        assert _wait_state(dark, "receipt.png", ("done", "error")) == "done"
        colors = dark.evaluate(
            """() => {
                const rgb = (el, prop) => getComputedStyle(el)[prop].match(/[\\d.]+/g)
                    .slice(0, 3).map(Number);
                const q = (s) => document.querySelector(s);
                return {
                    body: [rgb(document.body, 'color'), rgb(document.body, 'backgroundColor')],
                    card: [rgb(q('.line .text'), 'color'), rgb(q('.card'), 'backgroundColor')],
                    muted: [rgb(q('.file-meta'), 'color'), rgb(q('.card-head'),
                        'backgroundColor')],
                    error: [rgb(q('.error-message'), 'color'), rgb(q('.error-message'),
                        'backgroundColor')],
                    button: [rgb(q('.card-actions .btn'), 'color'),
                        rgb(q('.card-actions .btn'), 'backgroundColor')],
                };
            }"""
        )

        def luminance(c: list[float]) -> float:
            def channel(v: float) -> float:
                v /= 255
                return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

            r, g, b = (channel(v) for v in c)
            return 0.2126 * r + 0.7152 * g + 0.0722 * b

        def contrast(pair: list[list[float]]) -> float:
            a, b = sorted((luminance(pair[0]), luminance(pair[1])), reverse=True)
            return (a + 0.05) / (b + 0.05)

        assert luminance(colors["body"][1]) < 0.02  # a dark background
        assert contrast(colors["body"]) >= 7 and contrast(colors["card"]) >= 7
        for part in ("muted", "error", "button"):
            assert contrast(colors[part]) >= 4.5, (part, colors[part])
        dark.get_by_test_id("toast").wait_for(state="hidden")
        dark.screenshot(path=str(artifacts / "web-ui-dark.png"), full_page=True)
    finally:
        dark.context.close()


def test_a_phone_sized_screen(browser: Any, ui_server: Any, artifacts: Path) -> None:
    page = _open(
        browser,
        ui_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    try:
        width = 390

        def no_sideways_scroll() -> None:
            assert page.evaluate("document.documentElement.scrollWidth") <= width

        no_sideways_scroll()
        header = page.locator("header.topbar").bounding_box()
        assert header["height"] <= 120, header
        page.set_input_files(
            "[data-testid=file-input]", files=[_file("phone.png", live.receipt_png(), "image/png")]
        )
        start = page.get_by_test_id("start").bounding_box()
        assert start["x"] >= 0 and start["x"] + start["width"] <= width, start
        assert start["y"] + start["height"] <= 844
        no_sideways_scroll()
        page.get_by_test_id("start").tap()
        assert _wait_state(page, "phone.png", ("done", "error")) == "done"
        no_sideways_scroll()
        card = _card(page, "phone.png")
        assert card.locator("[data-testid=line] .text").all_inner_texts() == EXPECTED
        # per-line Copy: there without a hover, inside the screen
        copy = card.locator("[data-testid=line] .copy").first
        assert copy.is_visible()
        assert copy.evaluate("el => getComputedStyle(el).opacity") == "1"
        box = copy.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        page.get_by_test_id("toast").wait_for(state="hidden")
        page.screenshot(path=str(artifacts / "web-ui-phone.png"), full_page=True)
        page.emulate_media(color_scheme="dark")
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        # the buttons' colours change with a short transition: the dark panel colour reached
        page.wait_for_function(
            "() => getComputedStyle(document.querySelector('.card-actions .btn')).backgroundColor"
            " === getComputedStyle(document.querySelector('.card')).backgroundColor"
        )
        no_sideways_scroll()
        page.screenshot(path=str(artifacts / "web-ui-phone-dark.png"), full_page=True)
    finally:
        page.context.close()


def test_status_tells_when_the_server_is_gone_and_files_wait_for_it(
    small_page: Any, small_server: Any, monkeypatch: pytest.MonkeyPatch, artifacts: Path
) -> None:
    """The real server process stopped: the pill turns red, a file sent meanwhile is marked
    unreachable and retryable (not rejected); the server started again on the same port: the
    pill turns green and Start reads the file."""
    page = small_page
    pill = page.get_by_test_id("server-status")
    port = small_server.port
    small_server.stop()
    # the pill's own check finds it gone (its checks, 5 then 10 s apart at first)
    page.wait_for_selector("#server-status.pill-bad", timeout=30_000)
    assert pill.inner_text() == "服务器无法连接 / Server unreachable"

    page.set_input_files(
        "[data-testid=file-input]", files=[_file("later.png", live.receipt_png(), "image/png")]
    )
    page.get_by_test_id("start").click()
    assert _wait_state(page, "later.png", ("offline", "error", "done")) == "offline"
    card = _card(page, "later.png")
    status = card.get_by_test_id("status").inner_text()
    assert "服务器无法连接" in status and "Server unreachable" in status
    assert "已拒绝" not in status and "Rejected" not in status
    message = card.get_by_test_id("error-message").inner_text()
    assert "未发送" in message and "Not sent" in message and "press Start to retry" in message
    assert "1 to retry" in page.get_by_test_id("summary").inner_text()
    assert not page.get_by_test_id("start").is_disabled()  # retryable
    page.screenshot(path=str(artifacts / "web-ui-offline.png"), full_page=True)

    # the server back on the same port: green again, and Start reads the file
    monkeypatch.setattr(live, "free_port", lambda: port)
    small_server.start()
    assert small_server.port == port
    page.wait_for_selector("#server-status.pill-ok", timeout=30_000)
    assert pill.inner_text().startswith("就绪 / Ready")
    assert card.get_attribute("data-state") == "offline"
    page.get_by_test_id("start").click()
    assert _wait_state(page, "later.png", ("done", "error", "offline")) == "done"
    assert card.locator("[data-testid=line] .text").all_inner_texts() == EXPECTED
    assert card.get_by_test_id("error-message").is_hidden()


def test_with_an_api_key_the_limits_come_once_the_key_is_typed(
    browser: Any, tmp_path: Path
) -> None:
    """/readyz gives the configuration only with the key: the help text and the checks before
    upload wait for it, then use the server's limit (and a reload keeps the key for the tab)."""
    srv = live.LiveServer(
        tmp_path / "logs", args=["--max-upload-mb", "2"], env={"CPUOCR_API_KEY": live.API_KEY}
    )
    srv.start()
    try:
        page = _open(browser, srv.url)
        hint = page.get_by_test_id("limits-hint")
        assert hint.is_hidden()  # nothing known without the key
        page.locator("#opt-apikey").fill(live.API_KEY)
        page.locator("#opt-apikey").press("Tab")  # the key is typed: /readyz again, with it
        hint.wait_for(state="visible")
        assert "up to 2 MB" in hint.inner_text() and "最大 2 MB" in hint.inner_text()
        page.set_input_files(
            "[data-testid=file-input]",
            files=[_file("big.png", _noise_png(2 * 1024 * 1024 + 10_000), "image/png")],
        )
        text = _card(page, "big.png").get_by_test_id("error-message").inner_text()
        assert "the server's limit is 2 MB" in text
        page.reload()
        page.wait_for_selector("#server-status.pill-ok")
        page.get_by_test_id("limits-hint").wait_for(state="visible")  # the tab's saved key
        assert page.locator("#opt-apikey").input_value() == live.API_KEY
        assert page.posts == []
        page.context.close()
    finally:
        srv.stop()
