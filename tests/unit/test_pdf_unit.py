"""The document reader without models: page ranges, sniffing, the "real text" rule, text-layer
lines, page sizes and limits, and hostile PDFs refused before any OCR. PDFs are built in code
(pikepdf, Helvetica: no font files); the engine is a stub that records what it was given."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cpuocr import (
    ConfigError,
    DeadlineExceeded,
    ImageTooLarge,
    InvalidImage,
    OCRResult,
    WorkLimitExceeded,
)
from cpuocr._deadline import Deadline
from cpuocr._documents import pdf as pdf_mod
from cpuocr._documents.reader import (
    DEFAULT_DPI,
    DEFAULT_MAX_PAGES,
    DocumentReader,
    iter_pages,
    parse_pages,
    read_document,
    sniff,
)
from cpuocr._documents.textlayer import MIN_REAL_CHARS, Char, assess, group_lines, is_garbage
from cpuocr._documents.tiff import MAX_TIFF_PAGES, tiff_pages
from cpuocr._engine.config import EngineConfig
from cpuocr._engine.imaging import load_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
import hostile_corpus as hc  # tests/hostile: the PDF builders and the hostile PDFs


class StubOCR:
    """Stands in for the engine: the config's limits, and a call that records each image."""

    def __init__(self, max_pixels: int = 40_000_000) -> None:
        self.config = EngineConfig(max_pixels=max_pixels)
        self.images: list[tuple[int, int]] = []

    def __call__(self, source: object, **_: object) -> OCRResult:
        if isinstance(source, np.ndarray):
            assert source.dtype == np.uint8 and source.ndim == 3 and source.shape[2] == 3
            assert source.flags.c_contiguous
        else:
            source = load_image(source)  # type: ignore[arg-type]
        h, w = source.shape[:2]
        self.images.append((w, h))
        return OCRResult((), w, h, 0.0)


def read(data: bytes | str | Path, **options: object):  # type: ignore[no-untyped-def]
    options.setdefault("ocr", StubOCR())
    return read_document(data, **options)  # type: ignore[arg-type]


# -- page ranges --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "count", "expected"),
    [
        (None, 3, (1, 2, 3)),
        ("1-3,7", 10, (1, 2, 3, 7)),
        ("7, 1-3", 10, (1, 2, 3, 7)),
        ("2-2", 5, (2,)),
        ("4-", 6, (4, 5, 6)),
        ("1-3,2-4,4", 5, (1, 2, 3, 4)),
        ([3, 1, 3], 5, (1, 3)),
        (" 5 ", 5, (5,)),
    ],
)
def test_parse_pages(spec: object, count: int, expected: tuple[int, ...]) -> None:
    assert parse_pages(spec, count) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "count", "message"),
    [
        ("3-1", 5, "page range 3-1 is reversed; write 1-3"),
        ("0", 5, "pages are numbered from 1; got 0"),
        ("0-2", 5, "numbered from 1"),
        ("6", 5, "page 6 is beyond the end: the document has 5 pages"),
        ("1-9", 1, "page 9 is beyond the end: the document has 1 page"),
        ("", 5, "empty page range"),
        ("1-3,", 5, "bad page range ''"),
        ("a", 5, "bad page range 'a'"),
        ("1:3", 5, "bad page range '1:3'"),
        ("-3", 5, "bad page range '-3'"),
        ([], 5, "no pages asked for"),
        ([1.5], 5, "integers"),
        ([True], 5, "integers"),
    ],
)
def test_parse_pages_refuses_bad_specs_clearly(spec: object, count: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_pages(spec, count)  # type: ignore[arg-type]


def test_parse_pages_checks_the_count_before_building_the_list() -> None:
    started = time.perf_counter()
    with pytest.raises(WorkLimitExceeded, match="at most 1000 pages"):
        parse_pages("1-", 10**12, max_pages=1000)
    assert time.perf_counter() - started < 0.1
    assert parse_pages("5-7", 10**12, max_pages=3) == (5, 6, 7)


# -- sniffing -----------------------------------------------------------------------------------


def test_sniff_by_content() -> None:
    assert sniff(b"%PDF-1.7\n") == "pdf"
    assert sniff(b"\x00junk\n%PDF-1.4") == "pdf"  # junk before the header, as pdfium allows
    assert sniff(b" " * 1100 + b"%PDF-") == "other"  # only the first kilobyte
    assert sniff(b"II*\x00....") == "tiff"
    assert sniff(b"MM\x00+....") == "tiff"  # BigTIFF
    assert sniff(b"\x89PNG\r\n\x1a\n") == "other"


def test_the_kind_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    disguised = tmp_path / "scan.png"
    disguised.write_bytes(hc.pdf_base())
    doc = read(disguised, text_layer="ignore")
    assert doc.kind == "pdf" and doc.page_count == 1
    png = tmp_path / "page.pdf"
    Image.new("RGB", (40, 20), "white").save(png, format="PNG", dpi=(300, 300))
    doc = read(png)
    assert doc.kind == "image" and doc.pages[0].dpi == pytest.approx(300, abs=0.1)
    assert doc.pages[0].size_pt == pytest.approx((40 * 72 / 300, 20 * 72 / 300), abs=0.01)


def _tiff(frames: int, size: tuple[int, int] = (60, 40)) -> bytes:
    images = [Image.new("L", size, 255 - i) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="TIFF", save_all=True, append_images=images[1:], dpi=(200, 200))
    return out.getvalue()


def test_multi_page_tiff_is_a_document_and_one_page_tiff_an_image() -> None:
    ocr = StubOCR()
    doc = read(_tiff(3), ocr=ocr, pages="1,3")
    assert doc.kind == "tiff" and doc.page_count == 3
    assert [p.number for p in doc.pages] == [1, 3]
    assert doc.pages[0].dpi == pytest.approx(200) and doc.pages[0].width == 60
    assert ocr.images == [(60, 40), (60, 40)]
    single = read(_tiff(1))
    assert single.kind == "image" and single.page_count == 1


def test_tiff_page_chain_is_walked_with_limits() -> None:
    assert tiff_pages(_tiff(4)) == 4
    with pytest.raises(WorkLimitExceeded, match=f"more than {MAX_TIFF_PAGES} pages"):
        tiff_pages(hc.tiff_many_pages(MAX_TIFF_PAGES + 5))
    data = bytearray(_tiff(2))
    data[4:8] = (len(data) + 100).to_bytes(4, "little")  # first page outside the file
    with pytest.raises(InvalidImage, match="outside the file"):
        tiff_pages(bytes(data))


def test_a_tiff_page_over_the_pixel_limit_is_refused() -> None:
    with pytest.raises(ImageTooLarge):
        read(_tiff(2, (200, 200)), ocr=StubOCR(max_pixels=10_000))


# -- the "real text" rule -----------------------------------------------------------------------


def chars(
    text: str, *, mode: int = 0, x: float = 72, y: float = 700, size: float = 10
) -> list[Char]:
    out = []
    for i, c in enumerate(text):
        left = x + i * size * 0.6
        out.append(Char(c, (left, y, left + size * 0.5, y + size), render_mode=mode))
    return out


def test_real_text_needs_enough_visible_meaningful_characters() -> None:
    assert assess([]) == "none"
    assert assess(chars("   ")) == "none"
    assert assess(chars("x" * MIN_REAL_CHARS)) == "real"
    assert assess(chars("Page 3")) == "garbage"  # a stamp: too little to stand for the page
    assert assess(chars("x" * 400, mode=3)) == "invisible"  # an earlier OCR's layer
    assert assess(chars("x" * 400, mode=7)) == "invisible"  # clip only
    stamp_on_scan = chars("CONFIDENTIAL COPY 2024") + chars("y" * 500, mode=3, y=600)
    assert assess(stamp_on_scan) == "invisible"
    assert assess(chars("\ufffd" * 200)) == "garbage"
    assert assess(chars("\ue000\ue001" * 100)) == "garbage"  # private use
    broken = [Char("a", (0, 0, 5, 10), map_error=True) for _ in range(100)]
    assert assess(broken) == "garbage"
    generated = [Char(" ", (0, 0, 0, 0), generated=True) for _ in range(100)]
    assert assess(generated) == "none"
    assert is_garbage("\x07") and is_garbage("\ufffd") and not is_garbage("中")


# -- text-layer lines ---------------------------------------------------------------------------

IDENTITY = (1.0, 0.0, 0.0, 0.0, -1.0, 800.0)  # y up in points -> y down in pixels (72 dpi)


def test_characters_group_into_lines_with_boxes() -> None:
    layer = [*chars("Hello world", y=700), Char("\r", (0, 0, 0, 0), generated=True)]
    layer += chars("Next", y=680)
    lines = group_lines(layer, IDENTITY)
    assert [line.text for line in lines] == ["Hello world", "Next"]
    (x0, y0), (x1, _), (_, y1), _ = lines[0].box
    assert (x0, y0, y1) == pytest.approx((72, 90, 100))
    assert x1 == pytest.approx(72 + 10 * 6 + 5)
    assert lines[0].score == 1.0


def test_lines_split_at_a_baseline_change_and_a_wide_gap_even_without_line_breaks() -> None:
    layer = chars("Item", y=700) + chars("15.00", x=400, y=700) + chars("Total", y=650)
    assert [line.text for line in group_lines(layer, IDENTITY)] == ["Item", "15.00", "Total"]


def test_a_space_goes_in_where_the_pdf_leaves_a_gap() -> None:
    layer = chars("ab", x=72) + chars("cd", x=72 + 2 * 6 + 4)  # a 4-point gap, no space char
    assert [line.text for line in group_lines(layer, IDENTITY)] == ["ab cd"]


def test_vertical_writing_is_one_line() -> None:
    layer = [Char(c, (100, 700 - 12 * i, 110, 710 - 12 * i)) for i, c in enumerate("竖排文字")]
    lines = group_lines(layer, IDENTITY)
    assert [line.text for line in lines] == ["竖排文字"]


# -- PDFs: sizes, DPI, rotation, limits ---------------------------------------------------------


def test_pdf_pages_render_at_the_default_dpi_as_bgr() -> None:
    ocr = StubOCR()
    doc = read(hc.pdf_base(), ocr=ocr, text_layer="ignore")
    page = doc.pages[0]
    assert doc.kind == "pdf" and page.source == "ocr" and page.dpi == DEFAULT_DPI
    assert (page.width, page.height) == (
        round(612 * DEFAULT_DPI / 72),
        round(792 * DEFAULT_DPI / 72),
    )
    assert ocr.images == [(page.width, page.height)] and page.size_pt == (612, 792)


def test_the_rendered_page_is_a_view_of_pdfiums_buffer() -> None:
    with pdf_mod.PdfDocument(hc.pdf_base()) as pdf, pdf.page(1) as page:
        image = page.render(1.0)
    assert image.shape == (792, 612, 3) and image.flags.c_contiguous
    assert image.base is not None  # no copy: the array views the buffer pdfium drew into
    assert image.min() == 0 and image.max() == 255  # black text on white


def test_rotated_pages_report_their_rotation_and_displayed_size() -> None:
    doc = read(hc.pdf_document(rotate=90), text_layer="use")
    page = doc.pages[0]
    assert page.rotation == 90 and page.size_pt == (792, 612)
    assert page.width > page.height
    # the text-layer boxes are in the rotated page's pixels: the lines run top to bottom
    (x0, y0), _, (x1, y1), _ = page.lines[0].box
    assert y1 - y0 > x1 - x0 and 0 <= x0 < x1 <= page.width and 0 <= y0 < y1 <= page.height


def test_an_oversized_page_is_read_at_a_lower_dpi_within_the_pixel_limit() -> None:
    ocr = StubOCR(max_pixels=2_000_000)
    doc = read(hc.pdf_base(), ocr=ocr, dpi=300, text_layer="ignore")
    page = doc.pages[0]
    assert page.width * page.height <= 2_000_000
    assert 100 < page.dpi < 300
    assert page.width == pytest.approx(612 * page.dpi / 72, abs=1)


@pytest.mark.parametrize(
    ("width", "height", "error"),
    [
        (100_000, 100_000, ImageTooLarge),
        (15_000, 100, ImageTooLarge),
        (0.5, 0.5, InvalidImage),
        (float("nan"), 100, InvalidImage),
    ],
)
def test_absurd_page_sizes_are_refused(width: float, height: float, error: type) -> None:
    with pytest.raises(error):
        pdf_mod.fit_scale(width, height, 150, 40_000_000)


def test_a_tiny_pixel_limit_refuses_rather_than_rendering_an_unreadable_page() -> None:
    with pytest.raises(ImageTooLarge, match="dpi"):
        pdf_mod.fit_scale(612, 792, 150, 10_000)


@pytest.mark.parametrize("dpi", [0, 10, 5000, float("nan"), "150"])
def test_bad_dpi_is_a_config_error(dpi: object) -> None:
    with pytest.raises(ConfigError, match="dpi"):
        read(hc.pdf_base(), dpi=dpi)


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="text_layer"):
        read(hc.pdf_base(), text_layer="maybe")
    with pytest.raises(ConfigError, match="max_pages"):
        read(hc.pdf_base(), max_pages=0)


# -- text layers through pdfium -----------------------------------------------------------------


def test_text_layer_modes_on_a_real_text_page() -> None:
    data = hc.pdf_document()
    for mode, source in (("auto", "text_layer"), ("use", "text_layer"), ("ignore", "ocr")):
        ocr = StubOCR()
        page = read(data, ocr=ocr, text_layer=mode).pages[0]
        assert page.source == source
        assert bool(ocr.images) == (source == "ocr")
        if source == "text_layer":
            assert [line.text for line in page.lines] == [hc.PDF_TEXT, "Second line of the page"]
            # 24 pt Helvetica: the box is at most the font size high, 100 points below the top
            (x0, y0), _, (_, y1), _ = page.lines[0].box
            assert x0 == pytest.approx(72 * DEFAULT_DPI / 72, abs=6)  # + the H's side bearing
            assert 0.5 * 24 * DEFAULT_DPI / 72 < y1 - y0 < 1.2 * 24 * DEFAULT_DPI / 72
            assert y0 == pytest.approx((100 - 24) * DEFAULT_DPI / 72, abs=0.2 * DEFAULT_DPI)


def test_an_invisible_layer_is_ocred_under_auto_and_taken_under_use() -> None:
    layer = hc.pdf_text_content(["An earlier OCR run wrote this layer"] * 3, mode=3)
    scan = Image.new("RGB", (850, 1100), "white")
    data = hc.pdf_document(images=[scan], content=layer)
    ocr = StubOCR()
    assert read(data, ocr=ocr).pages[0].source == "ocr" and len(ocr.images) == 1
    used = read(data, text_layer="use").pages[0]
    assert used.source == "text_layer" and len(used.lines) == 3


def test_a_page_without_text_is_ocred_even_under_use() -> None:
    data = hc.pdf_document(content=b"0 0 1 rg 10 10 100 100 re f\n")
    ocr = StubOCR()
    assert read(data, ocr=ocr, text_layer="use").pages[0].source == "ocr" and ocr.images


# -- hostile PDFs: errors before any rendering --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("pdf/encrypted-user-password", InvalidImage, "encrypted and needs a password"),
        ("pdf/encrypted-aes256-user-password", InvalidImage, "encrypted and needs a password"),
        ("pdf/catalog-only", InvalidImage, "not a readable PDF"),
        ("pdf/magic-only", InvalidImage, "not a readable PDF"),
        ("pdf/zero-pages", InvalidImage, "not a readable PDF"),
        ("pdf/10000-pages", WorkLimitExceeded, f"at most {DEFAULT_MAX_PAGES} pages"),
        ("pdf/100000x100000-points", ImageTooLarge, "over the PDF limit"),
        ("pdf/negative-mediabox-huge", ImageTooLarge, "over the PDF limit"),
        ("pdf/half-point-page", InvalidImage, "empty size"),
    ],
)
def test_hostile_pdfs_get_precise_errors_without_ocr(name: str, error: type, words: str) -> None:
    case = next(c for c in hc.pdf_cases() if c.name == name)
    ocr = StubOCR()
    started = time.perf_counter()
    with pytest.raises(error, match=words):
        read(case.data, ocr=ocr)
    assert not ocr.images and time.perf_counter() - started < 2.0


def test_every_hostile_pdf_reads_or_raises_a_cpuocr_error() -> None:
    from cpuocr import CpuocrError

    failures = []
    for case in hc.pdf_cases():
        try:
            read(case.data, text_layer="ignore")
        except CpuocrError:
            if case.expect == "ok":
                failures.append(f"{case.name}: refused")
        except Exception as exc:  # the point: nothing but cpuocr errors escape
            failures.append(f"{case.name}: {type(exc).__name__}: {exc}")
        else:
            if case.expect == "error":
                failures.append(f"{case.name}: read")
    assert not failures, "\n".join(failures)


def test_a_page_range_reads_only_those_pages_of_a_big_document() -> None:
    ocr = StubOCR()
    doc = read(hc.pdf_many_pages(10_000), ocr=ocr, pages="9999-10000", dpi=36)
    assert doc.page_count == 10_000 and [p.number for p in doc.pages] == [9999, 10000]
    assert len(ocr.images) == 2


def test_pages_come_one_at_a_time_and_the_caller_may_stop_early() -> None:
    ocr = StubOCR()
    pages = iter_pages(hc.pdf_many_pages(50), ocr=ocr, dpi=36)  # type: ignore[arg-type]
    first = next(pages)
    assert first.number == 1 and len(ocr.images) == 1
    pages.close()
    assert len(ocr.images) == 1


def test_the_reader_knows_the_document_before_reading_a_page() -> None:
    ocr = StubOCR()
    with DocumentReader(hc.pdf_many_pages(20), ocr=ocr, pages="2-4") as reader:  # type: ignore[arg-type]
        assert (reader.kind, reader.page_count, reader.numbers) == ("pdf", 20, (2, 3, 4))
        assert not ocr.images


def test_the_deadline_is_checked_between_pages() -> None:
    deadline = Deadline()
    ocr = StubOCR()
    pages = iter_pages(hc.pdf_many_pages(5), ocr=ocr, deadline=deadline, dpi=36)  # type: ignore[arg-type]
    next(pages)
    deadline.cancel("stop")
    with pytest.raises(DeadlineExceeded, match="before page 2"):
        next(pages)
