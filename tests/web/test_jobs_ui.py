"""Documents in the Web UI run as durable jobs, in a real headless Chromium against a real server
with an API key: a scanned PDF dropped in is submitted to ``POST /jobs``, its progress shown page
by page until 3 of 3, its pages shown with their images (``GET /jobs/{id}/pages/{n}/preview``)
and text, and every format downloaded from the server; a long job is cancelled from the card; a
corrupt PDF shows the server's error while the page goes on working. Every call carries the key."""

from __future__ import annotations

import importlib
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from rendering import image_pdf, render_lines

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by tests/conftest.py

KEY = live.API_KEY
PAGES = (["第一页 合同 2026"], ["Page two invoice 318"], ["第三页 收据 77.50"])


def _squash(text: str) -> str:
    return "".join(text.split())


def _file(name: str, data: bytes, mime: str) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def _add_pdf(page: Any, name: str, data: bytes) -> None:
    page.set_input_files("[data-testid=file-input]", files=[_file(name, data, "application/pdf")])


def _card(page: Any, name: str) -> Any:
    return page.locator("[data-testid=result-card]", has=page.get_by_text(name, exact=True))


def _wait_state(page: Any, name: str, states: tuple[str, ...], timeout_ms: int = 90_000) -> str:
    page.wait_for_function(
        """([name, states]) => [...document.querySelectorAll('[data-testid=result-card]')].some(
            c => c.querySelector('[data-testid=file-name]').textContent === name
                 && states.includes(c.dataset.state))""",
        arg=[name, list(states)],
        timeout=timeout_ms,
    )
    state: str = _card(page, name).get_attribute("data-state")
    return state


@pytest.fixture(scope="module")
def key_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("jobs-ui")
    srv = live.LiveServer(
        tmp / "logs", args=["--data-dir", str(tmp / "data")], env={"CPUOCR_API_KEY": KEY}
    )
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def key_page(browser: Any, key_server: Any) -> Iterator[Any]:
    """The UI of the keyed server with the key typed in, as a user would; every request it makes
    is recorded as (method, url, X-API-Key)."""
    context = browser.new_context(
        viewport={"width": 1360, "height": 900}, accept_downloads=True, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(90_000)
    calls: list[tuple[str, str, str | None]] = []
    page.on(
        "request", lambda r: calls.append((r.method, r.url, r.headers.get("x-api-key")))
    )  # fmt: skip
    page.calls = calls
    page.goto(key_server.url + "/")
    page.wait_for_selector("#server-status.pill-ok")
    page.locator("#opt-apikey").fill(KEY)
    yield page
    context.close()


@pytest.fixture
def api(key_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=key_server.url, headers={"X-API-Key": KEY}, timeout=60) as c:
        yield c


def _job_calls(page: Any, server: Any) -> list[tuple[str, str, str | None]]:
    calls: list[tuple[str, str, str | None]] = page.calls
    return [c for c in calls if c[1].startswith(server.url + "/jobs")]


def test_a_pdf_runs_as_a_job_with_progress_pages_and_every_download(
    key_page: Any, key_server: Any, api: httpx.Client, artifacts: Path
) -> None:
    page = key_page
    pdf = image_pdf([render_lines(lines, size=40) for lines in PAGES])
    _add_pdf(page, "scan.pdf", pdf)
    card = _card(page, "scan.pdf")
    # every label the job strip shows, recorded as it changes
    page.evaluate(
        """() => { window.jobLabels = [];
            const label = document.querySelector('[data-testid=job-label]');
            new MutationObserver(() => window.jobLabels.push(label.textContent))
                .observe(label, {childList: true, characterData: true, subtree: true}); }"""
    )
    page.get_by_test_id("start").click()
    assert _wait_state(page, "scan.pdf", ("done", "error")) == "done"

    # progress: pages done of 3, never going back, up to 3 of 3 with a full bar
    strip = card.get_by_test_id("job")
    assert strip.get_attribute("data-job-state") == "done"
    assert strip.get_attribute("data-pages-done") == "3" == strip.get_attribute("data-pages-total")
    assert "3 of 3 pages" in card.get_by_test_id("job-label").inner_text()
    assert card.get_by_test_id("job-bar").evaluate("el => el.style.width") == "100%"
    assert card.get_by_test_id("job-cancel").is_hidden()
    labels: list[str] = page.evaluate("window.jobLabels")
    counts = [int(t.split(" of ")[0].rsplit(" ", 1)[1]) for t in labels if " of 3 pages" in t]
    assert counts and counts == sorted(counts) and counts[-1] == 3, labels
    assert any(t.startswith("提交中") for t in labels), labels  # "Submitting…" came first

    # the calls: one submit, polls, the result, the pages' images; every one with the key
    calls = _job_calls(page, key_server)
    assert [c[0] for c in calls].count("POST") == 1
    job_id = page.evaluate("window.cpuocr.items[0].job.id")
    assert sum(1 for m, u, _ in calls if m == "GET" and u.endswith(f"/jobs/{job_id}")) >= 1
    assert all(key == KEY for _, _, key in calls), calls
    assert not any(u.startswith(key_server.url + "/ocr") for _, u, _ in page.calls)

    # the pages, as PDFs were shown before: thumbnails with images, lines, boxes, navigation
    thumbs = card.get_by_test_id("page-thumb")
    assert thumbs.count() == 3
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('[data-testid=page-thumb] img')];"
        " return imgs.length === 3 && imgs.every(img => img.complete && img.naturalWidth > 0); }"
    )
    lines = card.locator("[data-testid=line] .text")
    polygons = card.locator("[data-testid=overlay] polygon")
    for n, expected in enumerate(PAGES, start=1):
        if n > 1:
            card.get_by_test_id("page-next").click()
        assert card.get_attribute("data-page") == str(n)
        assert [_squash(t) for t in lines.all_inner_texts()] == [_squash(t) for t in expected]
        assert polygons.count() == len(expected)
        assert f"Page {n} ({n} of 3)" in card.get_by_test_id("page-label").inner_text()
    assert card.get_by_test_id("page-next").is_disabled()
    size = page.evaluate("window.cpuocr.items[0].result.pages[2]")
    overlay = card.locator("[data-testid=overlay]")
    assert overlay.get_attribute("viewBox") == f"0 0 {size['width']} {size['height']}"
    page.wait_for_function(
        "() => { const img = document.querySelector('[data-page=\"3\"] img.image');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    natural = card.locator("img.image").evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert natural == [size["preview"]["width"], size["preview"]["height"]]
    assert max(natural) <= 1600
    # the page image has the page's shape: the boxes lie over their text
    assert abs(natural[0] / natural[1] - size["width"] / size["height"]) < 0.01
    box, image_box = overlay.bounding_box(), card.locator("img.image").bounding_box()
    assert abs(box["width"] - image_box["width"]) < 1
    assert abs(box["height"] - image_box["height"]) < 1

    # every format, from the server, with the right bytes
    everything = _squash("".join(line for lines_ in PAGES for line in lines_))
    got: dict[str, bytes] = {}
    for fmt, name in [("json", "scan.json"), ("txt", "scan.txt"), ("md", "scan.md"),
                      ("hocr", "scan.hocr"), ("pdf", "scan-searchable.pdf")]:  # fmt: skip
        with page.expect_download() as info:
            card.get_by_test_id(f"download-{fmt}").click()
        assert info.value.suggested_filename == name
        got[fmt] = Path(info.value.path()).read_bytes()
        if fmt != "pdf":  # the text formats are the server's bytes exactly
            assert got[fmt] == api.get(f"/jobs/{job_id}/result", params={"format": fmt}).content
    assert got["pdf"].startswith(b"%PDF-") and len(got["pdf"]) > len(pdf)
    assert _squash(got["txt"].decode()) == everything
    assert all(_squash(line) in _squash(got["md"].decode()) for lines_ in PAGES for line in lines_)
    document = json.loads(got["json"])
    assert document["version"] == 1 and [p["number"] for p in document["pages"]] == [1, 2, 3]
    hocr = got["hocr"].decode()
    assert hocr.count('<div class="ocr_page"') == 3
    assert all(f">{word}</span>" in hocr for word in PAGES[1][0].split())  # words of page 2

    # the preview route: the key is needed; a page not in the job has no preview
    preview = api.get(f"/jobs/{job_id}/pages/3/preview")
    assert preview.headers["content-type"] == "image/jpeg"
    assert list(Image.open(io.BytesIO(preview.content)).size) == natural  # what the page shows
    assert httpx.get(f"{key_server.url}/jobs/{job_id}/pages/3/preview").status_code == 401
    missing = api.get(f"/jobs/{job_id}/pages/4/preview")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "preview_not_found"

    page.get_by_test_id("toast").wait_for(state="hidden")
    card.get_by_test_id("page-prev").click()
    page.screenshot(path=str(artifacts / "web-ui-job.png"), full_page=True)


def test_the_page_images_of_a_longer_document_come_as_they_are_needed(
    key_page: Any, key_server: Any
) -> None:
    """More pages than the UI fetches before showing a document (8): the others' images come
    as their thumbnails scroll into view or their page is shown, each fetched once."""
    page = key_page
    count = 12
    pdf = image_pdf([render_lines([f"第{n}页 目录 {n:02d}"], size=40) for n in range(1, count + 1)])
    _add_pdf(page, "twelve.pdf", pdf)
    card = _card(page, "twelve.pdf")
    page.get_by_test_id("start").click()
    assert _wait_state(page, "twelve.pdf", ("done", "error")) == "done"
    thumbs = card.get_by_test_id("page-thumb")
    assert thumbs.count() == count
    thumbs.nth(count - 1).click()  # scrolls the strip to it; its page is shown
    assert card.get_attribute("data-page") == str(count)
    shown = _squash(card.locator("[data-testid=line] .text").inner_text())
    assert shown == f"第{count}页目录{count}"
    page.wait_for_function(
        f"""() => {{ const img = document.querySelector('[data-page="{count}"] img.image');
            return img && img.complete && img.naturalWidth > 0; }}"""
    )
    page.wait_for_function(
        f"""() => [...document.querySelectorAll('[data-testid=page-thumb] img')]
            .filter(img => img.complete && img.naturalWidth > 0).length === {count}"""
    )
    job_id = page.evaluate("window.cpuocr.items[0].job.id")
    fetched = [u for m, u, _ in _job_calls(page, key_server) if u.endswith("/preview")]
    expected = [f"{key_server.url}/jobs/{job_id}/pages/{n}/preview" for n in range(1, count + 1)]
    assert sorted(fetched) == sorted(expected)  # each page's image once


def test_cancel_stops_a_long_job(key_page: Any, api: httpx.Client, artifacts: Path) -> None:
    page = key_page
    # long enough that it cannot end before the click, whatever the machine
    pdf = image_pdf([render_lines([f"第{n}页 长文档 {n:03d}"], size=40) for n in range(1, 41)])
    _add_pdf(page, "long.pdf", pdf)
    card = _card(page, "long.pdf")
    page.get_by_test_id("start").click()
    strip = card.get_by_test_id("job")
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=job]').dataset.pagesDone) >= 1"
    )
    assert strip.get_attribute("data-pages-total") == "40"
    assert "of 40 pages" in card.get_by_test_id("job-label").inner_text()
    # the job runs in the background: the page is free meanwhile (more files, Clear)
    assert not page.get_by_test_id("clear").is_disabled()
    page.screenshot(path=str(artifacts / "web-ui-job-running.png"))
    card.get_by_test_id("job-cancel").click()
    assert _wait_state(page, "long.pdf", ("cancelled", "done", "error")) == "cancelled"

    assert strip.get_attribute("data-job-state") == "cancelled"
    assert card.get_by_test_id("status").inner_text() == "已取消 / Cancelled"
    label = card.get_by_test_id("job-label").inner_text()
    assert label.startswith("已取消") and "Cancelled after" in label and "of 40 pages" in label
    assert card.get_by_test_id("job-cancel").is_hidden()
    assert card.get_by_test_id("downloads").is_hidden()

    # on the server: cancelled, and no page is read after it (the runner stops)
    job_id = page.evaluate("window.cpuocr.items[0].job.id")
    job = api.get(f"/jobs/{job_id}").json()["job"]
    assert job["state"] == "cancelled" and job["pages_done"] < 40
    time.sleep(2.0)  # more than a page of this document takes to read
    later = api.get(f"/jobs/{job_id}").json()["job"]
    assert later["state"] == "cancelled" and later["pages_done"] == job["pages_done"]
    assert api.get(f"/jobs/{job_id}/result").json()["error"]["code"] == "job_cancelled"
    assert not page.get_by_test_id("start").is_disabled()  # it may be started again
    page.get_by_test_id("toast").wait_for(state="hidden")
    page.screenshot(path=str(artifacts / "web-ui-job-cancelled.png"), full_page=True)


def test_a_corrupt_pdf_shows_its_error_and_the_page_keeps_working(
    key_page: Any, api: httpx.Client, artifacts: Path
) -> None:
    page = key_page
    good = image_pdf([render_lines(PAGES[0], size=40)])
    corrupt = good[: len(good) // 3]
    refused = api.post("/jobs", files=[("file", ("broken.pdf", corrupt, "application/pdf"))])
    assert refused.status_code == 400
    error = refused.json()["error"]
    page.set_input_files(
        "[data-testid=file-input]",
        files=[
            _file("broken.pdf", corrupt, "application/pdf"),
            _file("invoice.png", live.receipt_png(), "image/png"),
        ],
    )
    page.get_by_test_id("start").click()
    assert _wait_state(page, "broken.pdf", ("done", "error")) == "error"
    broken = _card(page, "broken.pdf")
    message = broken.get_by_test_id("error-message")
    assert message.is_visible()
    text = message.inner_text()
    assert "无法提交此文件" in text and "This file was refused" in text
    assert error["message"] in text and f"HTTP 400 · {error['code']}" in text
    assert broken.get_by_test_id("job").is_hidden()

    # the image beside it is read as before, through POST /ocr
    assert _wait_state(page, "invoice.png", ("done", "error")) == "done"
    invoice = _card(page, "invoice.png")
    assert invoice.locator("[data-testid=line] .text").all_inner_texts() == list(live.RECEIPT_LINES)
    assert "2 files · 1 done · 1 failed" in page.get_by_test_id("summary").inner_text()

    # and the page goes on working: the same document, whole this time, is read as a job
    _add_pdf(page, "whole.pdf", good)
    page.get_by_test_id("start").click()
    assert _wait_state(page, "whole.pdf", ("done", "error")) == "done"
    whole = _card(page, "whole.pdf")
    assert [_squash(t) for t in whole.locator("[data-testid=line] .text").all_inner_texts()] == [
        _squash(PAGES[0][0])
    ]
    page.get_by_test_id("toast").wait_for(state="hidden")
    page.screenshot(path=str(artifacts / "web-ui-job-error.png"), full_page=True)
