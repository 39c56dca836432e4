"""Documents through the real engine: scanned PDFs read page by page, page ranges, text layers
(real, invisible), multi-page TIFFs, hostile PDFs, and memory that stays flat over 100 pages.

Every document is built in code: text rendered with the CJK fonts (tests/rendering.py) and put in
a PDF as a page image with pikepdf (tests/hostile/hostile_corpus.py's builders)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from cpuocr import OCR, CpuocrError, ImageTooLarge, InvalidImage, WorkLimitExceeded
from cpuocr._documents.reader import iter_pages, read_document
from cpuocr._serving.errors import status_for

from rendering import render_lines  # tests/rendering.py, on sys.path through tests/conftest.py

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
import hostile_corpus as hc  # tests/hostile: the PDF builders and the hostile PDFs

PAGES = [
    ["第一页 合同编号 2024-001", "Page one of the contract"],
    ["第二页 付款条款", "Payment within 30 days"],
    ["第三页 签字盖章", "Signed by both parties"],
]


def squash(text: str) -> str:
    return "".join(text.split())


def page_text(page: object) -> str:
    return squash("".join(line.text for line in page.lines))  # type: ignore[attr-defined]


SCAN_DPI = 150


def scan_box(image: Image.Image) -> tuple[float, float, float, float]:
    """The page an image fills as a scan at SCAN_DPI."""
    return (0, 0, image.width * 72 / SCAN_DPI, image.height * 72 / SCAN_DPI)


def scanned_pdf(pages: list[list[str]], **content: bytes) -> bytes:
    """An image-only PDF: each page a rendered picture of its lines, as a 150-dpi scan."""
    images = [render_lines(lines, size=36, width=1200) for lines in pages]
    return hc.pdf_document(images=images, content=b"", box=scan_box(images[0]), **content)


@pytest.fixture(scope="module")
def scan3() -> bytes:
    return scanned_pdf(PAGES)


def test_a_scanned_pdf_is_read_page_by_page(ocr: OCR, scan3: bytes) -> None:
    seen = []
    for page in iter_pages(scan3, ocr=ocr):
        seen.append(page.number)
        assert page.source == "ocr" and page.dpi == 200
        assert page.size_pt == pytest.approx((576, 92.16))
        assert (page.width, page.height) == (1600, 256)
        expected = squash("".join(PAGES[page.number - 1]))
        assert page_text(page) == expected
        for line in page.lines:
            assert all(0 <= x <= page.width and 0 <= y <= page.height for x, y in line.box)
    assert seen == [1, 2, 3]


def test_a_page_range(ocr: OCR, scan3: bytes) -> None:
    doc = read_document(scan3, ocr=ocr, pages="3,1")
    assert doc.kind == "pdf" and doc.page_count == 3
    assert [p.number for p in doc.pages] == [1, 3]
    assert page_text(doc.pages[1]) == squash("".join(PAGES[2]))


def test_a_real_text_layer_under_auto_use_and_ignore(ocr: OCR) -> None:
    data = hc.pdf_document()
    expected = [hc.PDF_TEXT, "Second line of the page"]
    modes = ("auto", "use", "ignore")
    by_mode = {m: read_document(data, ocr=ocr, text_layer=m).pages[0] for m in modes}
    assert by_mode["auto"].source == by_mode["use"].source == "text_layer"
    assert [line.text for line in by_mode["auto"].lines] == expected
    ocred = by_mode["ignore"]
    assert ocred.source == "ocr"
    assert [squash(line.text) for line in ocred.lines] == [squash(t) for t in expected]
    # the layer's boxes sit where OCR finds the same lines
    for layer_line, ocr_line in zip(by_mode["auto"].lines, ocred.lines, strict=True):
        ly = (layer_line.box[0][1] + layer_line.box[2][1]) / 2
        oy = (ocr_line.box[0][1] + ocr_line.box[2][1]) / 2
        assert abs(ly - oy) < 15


def test_an_invisible_ocr_layer_is_read_again_under_auto(ocr: OCR) -> None:
    shown = ["扫描件上的文字 2024", "What the page shows"]
    stale = hc.pdf_text_content(["A stale layer that says something else"], mode=3, y=50)
    image = render_lines(shown, size=36, width=1200)
    data = hc.pdf_document(images=[image], content=stale, box=scan_box(image))
    auto = read_document(data, ocr=ocr).pages[0]
    assert auto.source == "ocr" and page_text(auto) == squash("".join(shown))
    use = read_document(data, ocr=ocr, text_layer="use").pages[0]
    assert use.source == "text_layer" and "stale layer" in use.lines[0].text


def test_a_multi_page_tiff(ocr: OCR, tmp_path: Path) -> None:
    images = [render_lines(lines, size=36) for lines in PAGES]
    path = tmp_path / "scan.bin"  # the kind comes from the content, not the name
    images[0].save(path, format="TIFF", save_all=True, append_images=images[1:], dpi=(300, 300),
                   compression="tiff_lzw")  # fmt: skip
    doc = read_document(path, ocr=ocr, pages="2-3")
    assert doc.kind == "tiff" and doc.page_count == 3
    assert [page_text(p) for p in doc.pages] == [squash("".join(t)) for t in PAGES[1:]]
    assert doc.pages[0].dpi == 300


def test_one_image_is_a_one_page_document(ocr: OCR) -> None:
    out = io.BytesIO()
    render_lines(PAGES[0], size=36).save(out, format="PNG")
    doc = read_document(out.getvalue(), ocr=ocr)
    assert doc.kind == "image" and doc.page_count == 1
    assert page_text(doc.pages[0]) == squash("".join(PAGES[0]))


def test_hostile_pdfs_read_or_get_their_4xx(ocr: OCR) -> None:
    failures = []
    for case in hc.pdf_cases():
        try:
            read_document(case.data, ocr=ocr)
        except CpuocrError as exc:
            status = status_for(exc)
            if case.expect == "ok" or status not in case.statuses:
                failures.append(f"{case.name}: {exc!r} ({status})")
        except Exception as exc:  # nothing but cpuocr errors may escape
            failures.append(f"{case.name}: {type(exc).__name__}: {exc}")
        else:
            if case.expect == "error":
                failures.append(f"{case.name}: read, expected one of {sorted(case.statuses)}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("pdf/encrypted-user-password", InvalidImage),
        ("pdf/10000-pages", WorkLimitExceeded),
        ("pdf/100000x100000-points", ImageTooLarge),
    ],
)
def test_hostile_pdfs_are_refused_quickly(ocr: OCR, name: str, error: type) -> None:
    import time

    case = next(c for c in hc.pdf_cases() if c.name == name)
    started = time.perf_counter()
    with pytest.raises(error):
        read_document(case.data, ocr=ocr)
    assert time.perf_counter() - started < 2.0  # the count and size are checked before rendering


# -- memory over many pages ---------------------------------------------------------------------

RSS_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    sys.path[:0] = [{tests!r}, {hostile!r}]
    import hostile_corpus as hc
    from rendering import render_lines
    from cpuocr import OCR
    from cpuocr._documents.reader import iter_pages

    def hwm():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024

    pages = {pages}
    lines = ["第{{}}页 page {{}} of the scan", "合同条款 terms and conditions"] * 6
    images = [render_lines([t.format(i, i) for t in lines], size=40, width=1600)
              for i in range(1, 11)]
    data = hc.pdf_document(images=[images[i % 10] for i in range(pages)], content=b"",
                           box=(0, 0, 595, 842))
    del images
    marks = {{}}
    with OCR() as ocr:
        started = time.perf_counter()
        for page in iter_pages(data, ocr=ocr):
            if page.number in (1, 10, pages):
                marks[page.number] = (hwm(), time.perf_counter() - started)
            assert page.lines
    print(json.dumps({{"marks": marks, "pdf_bytes": len(data)}}))
    """
)


def _rss_run(pages: int) -> dict[str, object]:
    tests = Path(__file__).resolve().parents[1]
    script = RSS_SCRIPT.format(tests=str(tests), hostile=str(tests / "hostile"), pages=pages)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=1800
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.slow
def test_peak_memory_is_flat_over_100_pages() -> None:
    result = _rss_run(100)
    marks = {int(k): v for k, v in result["marks"].items()}  # type: ignore[attr-defined]
    after_10, after_100 = marks[10][0], marks[100][0]
    print(f"peak RSS after 10 pages {after_10} MB, after 100 pages {after_100} MB")
    assert after_100 - after_10 < 40, marks  # one page at a time: no growth with the count


def test_images_are_read_with_the_engine_limits(ocr: OCR) -> None:
    big = Image.new("L", (100, 100), 255)
    frames = io.BytesIO()
    big.save(frames, format="TIFF", save_all=True, append_images=[big])
    small = OCR(config=ocr.config.__class__(max_pixels=5_000), stages=ocr.stages)
    with pytest.raises(ImageTooLarge):
        read_document(frames.getvalue(), ocr=small)
