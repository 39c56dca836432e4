"""The searchable PDF, end to end: pages rendered here (Chinese and English), read by the real
engine, written with an invisible text layer, then read back by two independent readers:
poppler's ``pdftotext`` and pdfium (pypdfium2). The text they extract must be the OCR text
(whitespace normalised: readers put their own line breaks), Chinese included, and the characters
must lie inside the OCR line boxes. An image-only PDF in must come out with the same pages
(same page count, same pixels when rendered), searchable, at most 10% larger.

``pdftotext`` runs with ``-raw`` (content-stream order): the text layer is written in the
engine's reading order, so the order is checked too (the default mode re-orders by its own
column analysis, ``-layout`` pads with spaces).
"""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from cpuocr import OCR
from cpuocr._documents.layout import analyze
from cpuocr._documents.model import DocumentResult, Page
from cpuocr._types import Line
from cpuocr._writers import write

from rendering import render_lines, render_vertical

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) not installed: bash scripts/setup.sh --dev",
)

LINES = [
    "今天天气很好，我们去公园散步。",
    "The quick brown fox jumps over 13 lazy dogs.",
    "合计金额 ¥1,280.00",
    "电话 Tel: 021-6543 2100",
]
DPI = 150.0


def norm(text: str) -> str:
    return " ".join(text.split())


def png_bytes(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(img: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=85, **options)
    return out.getvalue()


def image_page(ocr: OCR, image: bytes | Image.Image, *, number: int = 1, **fields: object) -> Page:
    """A Page read from an image (the fields an image reader would fill in)."""
    result = ocr(image if isinstance(image, bytes) else png_bytes(image))
    lines, blocks = analyze(result.lines, result.width, result.height)
    dpi = float(fields.pop("dpi", DPI))  # type: ignore[arg-type]
    size = (result.width * 72.0 / dpi, result.height * 72.0 / dpi)
    return Page(number, result.width, result.height, dpi, size, lines, blocks, **fields)  # type: ignore[arg-type]


def pdftotext(pdf: bytes, *args: str) -> str:
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *args, "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout.decode("utf-8")


def pdfium_text(pdf: bytes, index: int = 0) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return str(doc[index].get_textpage().get_text_range())
    finally:
        doc.close()


def ocr_text(page: Page) -> str:
    return norm(" ".join(line.text for line in page.lines))


def inside(point: tuple[float, float], box: tuple[float, float, float, float], tol: float) -> bool:
    x, y = point
    return box[0] - tol <= x <= box[2] + tol and box[1] - tol <= y <= box[3] + tol


def line_bbox(line: Line, k: float) -> tuple[float, float, float, float]:
    """A line's box in displayed points (y down)."""
    xs = [p[0] * k for p in line.box]
    ys = [p[1] * k for p in line.box]
    return (min(xs), min(ys), max(xs), max(ys))


def pdftotext_words(pdf: bytes, page: int = 1) -> list[tuple[str, tuple[float, ...]]]:
    """Words and their boxes (displayed points, y down) from ``pdftotext -bbox``."""
    html = pdftotext(pdf, "-bbox", "-cropbox", "-f", str(page), "-l", str(page))
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        html,
    )
    return [(w[4], tuple(float(v) for v in w[:4])) for w in found]


def assert_words_in_lines(pdf: bytes, page: Page, number: int = 1) -> None:
    """Every word pdftotext finds lies inside one line's box (1.5 pt of slack for rounding)."""
    k = 72.0 / page.dpi
    boxes = [line_bbox(line, k) for line in page.lines]
    words = pdftotext_words(pdf, number)
    assert words
    for text, (x0, y0, x1, y1) in words:
        assert any(inside((x0, y0), b, 1.5) and inside((x1, y1), b, 1.5) for b in boxes), (
            f"{text!r} at {(x0, y0, x1, y1)} is in no line box"
        )


def assert_chars_in_lines(pdf: bytes, page: Page, index: int = 0) -> None:
    """Every character pdfium finds (its loose box: advance × ascent/descent) lies inside one
    line's box, on a page not rotated."""
    k = 72.0 / page.dpi
    boxes = [line_bbox(line, k) for line in page.lines]
    doc = pdfium.PdfDocument(pdf)
    try:
        pdf_page = doc[index]
        height = pdf_page.get_height()
        textpage = pdf_page.get_textpage()
        count = 0
        for i in range(textpage.count_chars()):
            ch = textpage.get_text_range(i, 1)
            if not ch.strip():
                continue
            left, bottom, right, top = textpage.get_charbox(i, loose=True)
            corners = ((left, height - top), (right, height - bottom))
            assert any(all(inside(c, b, 1.5) for c in corners) for b in boxes), (
                f"{ch!r} at {corners} is in no line box"
            )
            count += 1
        assert count == sum(len("".join(line.text.split())) for line in page.lines)
    finally:
        doc.close()


def assert_round_trip(pdf: bytes, page: Page, number: int = 1) -> None:
    expected = ocr_text(page)
    assert "今天" in expected or "春眠" in expected or "Tel" in expected  # the page was read
    poppler = pdftotext(pdf, "-raw", "-f", str(number), "-l", str(number))
    assert norm(poppler) == expected
    assert norm(pdfium_text(pdf, number - 1)) == expected


def render(pdf: bytes, page: int, dpi: int = 72) -> np.ndarray:
    """Page ``page`` rendered by poppler (a third reader)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(pdf)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                str(dpi),
                "-f",
                str(page),
                "-l",
                str(page),
                "-singlefile",
                "-png",
                str(path),
                str(Path(tmp) / "page"),
            ],
            check=True,
            timeout=60,
        )
        with Image.open(Path(tmp) / "page.png") as img:
            return np.asarray(img.convert("RGB"))


def image_only_pdf(images: list[Image.Image], *, dpi: float, rotate: int = 0) -> bytes:
    """A scan as a scanner's software writes it: one JPEG per page, no text (pikepdf)."""
    pdf = pikepdf.new()
    for img in images:
        w, h = img.size
        wpt, hpt = w * 72.0 / dpi, h * 72.0 / dpi
        page = pdf.add_blank_page(page_size=(wpt, hpt))
        image = pikepdf.Stream(pdf, jpeg_bytes(img))
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Filter = pikepdf.Name.DCTDecode
        image.Width, image.Height, image.BitsPerComponent = w, h, 8
        image.ColorSpace = pikepdf.Name.DeviceRGB
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Scan=image))
        page.obj.Contents = pdf.make_stream(f"q {wpt:.4f} 0 0 {hpt:.4f} 0 0 cm /Scan Do Q".encode())
        if rotate:
            page.obj.Rotate = rotate
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def pdf_page_image(pdf: bytes, index: int, dpi: float) -> Image.Image:
    """The page as displayed, rendered at ``dpi`` (what a PDF reader hands the engine)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[index].render(scale=dpi / 72.0).to_pil().convert("RGB")
    finally:
        doc.close()


# -- Image in -------------------------------------------------------------------------------


def test_png_in_round_trips_through_two_readers(ocr: OCR) -> None:
    page = image_page(ocr, render_lines(LINES))
    assert len(page.lines) == len(LINES)
    pdf = write(DocumentResult((page,), 1, "image"), "pdf", source=png_bytes(render_lines(LINES)))
    assert pdf.startswith(b"%PDF-")
    assert_round_trip(pdf, page)
    assert_words_in_lines(pdf, page)
    assert_chars_in_lines(pdf, page)
    with pikepdf.open(io.BytesIO(pdf)) as out:
        (only,) = out.pages
        assert [round(float(v), 2) for v in only.mediabox] == [
            0,
            0,
            round(page.width * 72 / DPI, 2),
            round(page.height * 72 / DPI, 2),
        ]
        fonts = list(only.Resources.Font.values())
        assert fonts[0].Subtype == "/Type0" and fonts[0].Encoding == "/Identity-H"
        descendant = fonts[0].DescendantFonts[0]
        assert descendant.Subtype == "/CIDFontType2"
        assert "/FontFile2" in descendant.FontDescriptor  # the font is embedded


def test_jpeg_in_is_embedded_as_it_is(ocr: OCR) -> None:
    jpeg = jpeg_bytes(render_lines(LINES[:2]))
    page = image_page(ocr, jpeg)
    pdf = write(DocumentResult((page,), 1, "image"), "pdf", source=jpeg)
    assert jpeg in pdf  # DCTDecode, not re-encoded
    assert len(pdf) < len(jpeg) + 4000
    assert_round_trip(pdf, page)


def test_exif_orientation_is_drawn_not_reencoded(ocr: OCR) -> None:
    upright = render_lines(LINES[:2])
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned 90° counter-clockwise: turn it clockwise to show it
    jpeg = jpeg_bytes(upright.rotate(90, expand=True), exif=exif.tobytes())
    page = image_page(ocr, jpeg)
    assert (page.width, page.height) == upright.size
    pdf = write(DocumentResult((page,), 1, "image"), "pdf", source=jpeg)
    assert jpeg in pdf
    assert_round_trip(pdf, page)
    shown = render(pdf, 1, dpi=int(DPI)).astype(np.int16)
    expected = np.asarray(upright.convert("RGB"), np.int16)
    assert shown.shape == expected.shape
    assert np.abs(shown - expected).mean() < 8  # the page shows the picture upright


def test_vertical_and_upside_down_lines(ocr: OCR) -> None:
    vertical = image_page(ocr, render_vertical("春眠不觉晓处处闻啼鸟"))
    assert [line.text for line in vertical.lines] == ["春眠不觉晓处处闻啼鸟"]
    source = png_bytes(render_vertical("春眠不觉晓处处闻啼鸟"))
    pdf = write(DocumentResult((vertical,), 1, "image"), "pdf", source=source)
    assert_round_trip(pdf, vertical)
    assert_chars_in_lines(pdf, vertical)

    flipped_img = render_lines(LINES[:2]).rotate(180)
    flipped = image_page(ocr, flipped_img)
    pdf = write(DocumentResult((flipped,), 1, "image"), "pdf", source=png_bytes(flipped_img))
    assert norm(pdfium_text(pdf)) == ocr_text(flipped)
    assert_chars_in_lines(pdf, flipped)


def test_multi_page_tiff(ocr: OCR) -> None:
    frames = [render_lines(LINES[:2]), render_lines(LINES[2:]).convert("L")]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw")
    tiff = out.getvalue()
    pages = tuple(image_page(ocr, png_bytes(f), number=i + 1) for i, f in enumerate(frames))
    pdf = write(DocumentResult(pages, 2, "tiff"), "pdf", source=tiff)
    for page in pages:
        assert_round_trip(pdf, page, page.number)


# -- PDF in ---------------------------------------------------------------------------------


def test_image_only_pdf_in_same_pages_out_searchable(ocr: OCR, tmp_path: Path) -> None:
    images = [render_lines(LINES, width=900), render_lines(LINES[::-1], width=900)]
    source = image_only_pdf(images, dpi=DPI)
    # Page 1 read (a page range: page 2 not read), at the DPI of the reader, as displayed.
    page = image_page(ocr, pdf_page_image(source, 0, 200.0), dpi=200.0)
    pdf = write(DocumentResult((page,), 2, "pdf"), "pdf", source=source)
    (tmp_path / "searchable.pdf").write_bytes(pdf)

    ratio = len(pdf) / len(source)
    assert ratio <= 1.10, f"{len(pdf)} bytes out for {len(source)} in ({ratio:.3f})"
    with pikepdf.open(io.BytesIO(pdf)) as out, pikepdf.open(io.BytesIO(source)) as src:
        assert len(out.pages) == len(src.pages) == 2
        for a, b in zip(out.pages, src.pages, strict=True):
            assert list(a.mediabox) == list(b.mediabox)
    for number in (1, 2):  # the pages look exactly as they did
        assert np.array_equal(render(pdf, number, 100), render(source, number, 100))
    assert_round_trip(pdf, page)
    assert_words_in_lines(pdf, page)
    assert_chars_in_lines(pdf, page)
    assert norm(pdftotext(pdf, "-f", "2", "-l", "2")) == ""  # not read: left as it was


def test_rotated_pdf_page(ocr: OCR) -> None:
    """A page stored sideways with /Rotate 90: the engine reads it as displayed; the text layer
    is placed in the page's own (unrotated) space."""
    upright = render_lines(LINES, width=900)
    source = image_only_pdf([upright.rotate(90, expand=True)], dpi=DPI, rotate=90)
    shown = pdf_page_image(source, 0, DPI)
    assert abs(shown.width - upright.width) <= 1 and abs(shown.height - upright.height) <= 1
    page = image_page(ocr, shown, rotation=90)
    pdf = write(DocumentResult((page,), 1, "pdf"), "pdf", source=source)
    assert_round_trip(pdf, page)
    assert_words_in_lines(pdf, page)  # pdftotext's boxes are in the displayed frame
    assert np.array_equal(render(pdf, 1, 100), render(source, 1, 100))


def test_crop_box_origin_is_honoured(ocr: OCR) -> None:
    """A page whose crop box does not start at 0,0: the text follows the visible area."""
    source = image_only_pdf([render_lines(LINES, width=900)], dpi=DPI)
    with pikepdf.open(io.BytesIO(source)) as pdf:
        page_obj = pdf.pages[0]
        w, h = (float(v) for v in page_obj.mediabox[2:])
        page_obj.obj.MediaBox = [-100, -50, w - 100, h - 50]
        page_obj.obj.Contents = pdf.make_stream(
            b"q 1 0 0 1 -100 -50 cm " + page_obj.obj.Contents.read_bytes() + b" Q"
        )
        page_obj.obj.CropBox = [-90, -40, w - 110, h - 60]
        out = io.BytesIO()
        pdf.save(out)
        source = out.getvalue()
    page = image_page(ocr, pdf_page_image(source, 0, DPI))
    pdf = write(DocumentResult((page,), 1, "pdf"), "pdf", source=source)
    assert_round_trip(pdf, page)
    assert_words_in_lines(pdf, page)


def test_text_layer_pages_are_left_alone(ocr: OCR) -> None:
    source = image_only_pdf([render_lines(LINES[:1], width=700)], dpi=DPI)
    page = image_page(ocr, pdf_page_image(source, 0, DPI), source="text_layer")
    pdf = write(DocumentResult((page,), 1, "pdf"), "pdf", source=source)
    assert norm(pdftotext(pdf)) == ""


def test_non_bmp_characters_keep_their_unicode() -> None:
    """A character beyond the BMP (CJK extension B) gets a CID of the surrogate range and a
    ToUnicode entry to its surrogate pair: both readers give the character back."""
    img = Image.new("RGB", (400, 100), "white")
    text = "𠀋一𠀋 ok"
    line = Line(text, 0.9, ((20.0, 20.0), (380.0, 20.0), (380.0, 70.0), (20.0, 70.0)))
    box = (20.0, 20.0, 380.0, 70.0)
    from cpuocr._documents.model import Block, Paragraph, Row

    block = Block(box, (Paragraph((Row((line,)),)),))
    page = Page(1, 400, 100, 72.0, (400.0, 100.0), (line,), (block,))
    pdf = write(DocumentResult((page,), 1, "image"), "pdf", source=png_bytes(img))
    assert norm(pdftotext(pdf, "-raw")) == text
    assert norm(pdfium_text(pdf)) == text


def test_a_page_of_many_lines_stays_small(ocr: OCR) -> None:
    """The text layer of a dense page costs a few KB, not the page's size again."""
    lines = [f"第{i}行 line number {i} of the dense page 0123456789" for i in range(30)]
    img = render_lines(lines, size=20, spacing=0.6)
    source = image_only_pdf([img], dpi=DPI)
    page = image_page(ocr, pdf_page_image(source, 0, 200.0), dpi=200.0)
    assert len(page.lines) >= 28
    pdf = write(DocumentResult((page,), 1, "pdf"), "pdf", source=source)
    assert len(pdf) - len(source) < 12_000
    assert math.isclose(len(pdf) / len(source), 1.0, abs_tol=0.10)
    assert norm(pdftotext(pdf, "-raw")) == ocr_text(page)
