"""The text writers (TXT, JSON, Markdown, hOCR) on hand-made documents: exact output. No models,
no fonts. (The searchable PDF: tests/integration/test_searchable_pdf.py.)"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest
from PIL import ImageFont

from cpuocr import _types
from cpuocr._documents.layout import paragraph_text, row_text
from cpuocr._documents.model import Block, DocumentResult, Page, Paragraph, Row
from cpuocr._types import Line
from cpuocr._writers import FORMATS, write
from cpuocr._writers.font import CidEncoder, glyphless_ttf
from cpuocr._writers.geometry import reading_quad, word_spans
from cpuocr.errors import ConfigError


def line(text: str, x0: float, y0: float, x1: float, y1: float, score: float = 0.95) -> Line:
    return Line(text, score, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


TITLE = line("Invoice <No. 7>", 10, 10, 310, 50)
P1 = line("Hello world", 10, 70, 120, 90)
P2 = line("second line", 10, 95, 120, 115)
CELL_A, CELL_B = line("Tea", 10, 130, 50, 150), line("15.00", 200, 130, 260, 150)
CN = line("中文段落", 10, 10, 90, 30)


# The layout's joining rules (paragraph_text, row_text) are the layout's to decide: the two
# strings below come from it, everything around them is the writers'.
JOINED = paragraph_text(Paragraph((Row((P1,)), Row((P2,)))))
CELLS = row_text(Row((CELL_A, CELL_B)))


def page(number: int, blocks: tuple[Block, ...], dpi: float = 72.0) -> Page:
    lines = tuple(x for b in blocks for p in b.paragraphs for r in p.rows for x in r.lines)
    return Page(number, 400, 300, dpi, (400.0, 300.0), lines, blocks)


def two_pages() -> DocumentResult:
    first = page(
        1,
        (
            Block(
                (0, 0, 400, 200),
                (
                    Paragraph((Row((TITLE,)),), "title"),
                    Paragraph((Row((P1,)), Row((P2,)))),
                    Paragraph((Row((CELL_A, CELL_B)),)),
                ),
            ),
        ),
    )
    second = page(2, (Block((0, 0, 100, 40), (Paragraph((Row((CN,)),)),)),))
    return DocumentResult((first, second), 3, "pdf")


def test_unknown_format_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="txt, json, md, hocr, pdf"):
        write(two_pages(), "docx")
    assert FORMATS == ("txt", "json", "md", "hocr", "pdf")
    with pytest.raises(ConfigError, match="source"):
        write(two_pages(), "pdf")


def test_txt_paragraphs_rows_and_pages() -> None:
    assert write(two_pages(), "txt").decode() == (
        f"Invoice <No. 7>\n\n{JOINED}\n\n{CELLS}\n\f中文段落\n"
    )
    one = DocumentResult((two_pages().pages[1],), 1)
    assert write(one, "txt") == "中文段落\n".encode()
    empty = DocumentResult((page(1, ()),), 1)
    assert write(empty, "txt") == b""


def test_md_headings_paragraphs_escapes_and_page_rule() -> None:
    assert write(two_pages(), "md").decode() == (
        f"# Invoice \\<No. 7\\>\n\n{JOINED}\n\n{CELLS.replace(chr(9), ' ')}\n\n---\n\n中文段落\n"
    )


def test_md_table_and_heading_levels() -> None:
    small_title = line("Items", 10, 60, 60, 75)
    rows = (
        Row((line("Item", 10, 80, 50, 95), line("Price", 200, 80, 250, 95))),
        Row((line("Tea", 10, 100, 50, 115), line("1|5", 200, 100, 250, 115))),
        Row((line("# total", 10, 120, 50, 135),)),
    )
    doc = DocumentResult(
        (
            page(
                1,
                (
                    Block((0, 0, 400, 50), (Paragraph((Row((TITLE,)),), "title"),)),
                    Block((0, 55, 400, 78), (Paragraph((Row((small_title,)),), "title"),)),
                    Block((0, 80, 400, 140), (Paragraph(rows[:2]), Paragraph(rows[2:]))),
                ),
            ),
        ),
        1,
    )
    assert write(doc, "md").decode() == (
        "# Invoice \\<No. 7\\>\n\n## Items\n\n"
        "| Item | Price |\n| --- | --- |\n| Tea | 1\\|5 |\n| \\# total |  |\n"
    )


def test_json_schema() -> None:
    data = json.loads(write(two_pages(), "json"))
    assert data["version"] == 1 and data["kind"] == "pdf" and data["page_count"] == 3
    first = data["pages"][0]
    assert {k: first[k] for k in ("number", "width", "height", "dpi", "size_pt", "rotation")} == {
        "number": 1,
        "width": 400,
        "height": 300,
        "dpi": 72.0,
        "size_pt": [400.0, 300.0],
        "rotation": 0,
    }
    assert first["source"] == "ocr"
    assert first["text"] == f"Invoice <No. 7>\n\n{JOINED}\n\n{CELLS}\n"
    (block,) = first["blocks"]
    assert block["box"] == [0.0, 0.0, 400.0, 200.0] and block["vertical"] is False
    assert [p["kind"] for p in block["paragraphs"]] == ["title", "text", "text"]
    cells = block["paragraphs"][2]
    assert cells["text"] == CELLS
    assert cells["rows"] == [
        {
            "lines": [
                {
                    "text": "Tea",
                    "score": 0.95,
                    "box": [[10.0, 130.0], [50.0, 130.0], [50.0, 150.0], [10.0, 150.0]],
                },
                {
                    "text": "15.00",
                    "score": 0.95,
                    "box": [[200.0, 130.0], [260.0, 130.0], [260.0, 150.0], [200.0, 150.0]],
                },
            ]
        }
    ]
    raw = write(two_pages(), "json")
    assert "中文段落".encode() in raw and b", " not in raw  # compact, not ASCII-escaped


@pytest.mark.skipif(not hasattr(_types, "Char"), reason="Line.chars not in this tree yet")
def test_json_chars_and_hocr_words_from_chars() -> None:
    char = _types.Char  # type: ignore[attr-defined]
    chars = tuple(
        char(c, s, e)
        for c, s, e in [("a", 0.0, 0.2), ("b", 0.2, 0.3), (" ", 0.3, 0.5), ("中", 0.5, 1.0)]
    )
    with_chars = Line("ab 中", 0.9, ((0, 0), (100, 0), (100, 10), (0, 10)), chars=chars)  # type: ignore[call-arg]
    doc = DocumentResult(
        (page(1, (Block((0, 0, 100, 10), (Paragraph((Row((with_chars,)),)),)),)),), 1
    )
    data = json.loads(write(doc, "json", chars=True))
    got = data["pages"][0]["blocks"][0]["paragraphs"][0]["rows"][0]["lines"][0]["chars"]
    assert got[1] == {
        "text": "b",
        "start": 0.2,
        "end": 0.3,
        "box": [[20.0, 0.0], [30.0, 0.0], [30.0, 10.0], [20.0, 10.0]],
    }
    assert "chars" not in write(doc, "json").decode()
    hocr = write(doc, "hocr").decode()
    assert 'title="bbox 0 0 30 10; x_wconf 90">ab</span>' in hocr
    assert 'title="bbox 50 0 100 10; x_wconf 90">中</span>' in hocr


def test_hocr_is_xhtml_with_the_classes() -> None:
    hocr = write(two_pages(), "hocr").decode()
    root = ET.fromstring(hocr.split("\n", 1)[1].split("\n", 2)[2])  # after XML decl + doctype
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    pages = root.findall(".//h:div[@class='ocr_page']", ns)
    assert [p.get("title") for p in pages] == [
        "bbox 0 0 400 300; ppageno 0; scan_res 72 72",
        "bbox 0 0 400 300; ppageno 1; scan_res 72 72",
    ]
    assert len(root.findall(".//h:div[@class='ocr_carea']", ns)) == 2
    assert len(root.findall(".//h:p[@class='ocr_par']", ns)) == 4
    lines = root.findall(".//h:span[@class='ocr_line']", ns)
    assert [ln.get("title") for ln in lines][:2] == [
        "bbox 10 10 310 50; x_wconf 95",
        "bbox 10 70 120 90; x_wconf 95",
    ]
    words = root.findall(".//h:span[@class='ocrx_word']", ns)
    assert [w.text for w in words] == [
        "Invoice",
        "<No.",
        "7>",
        "Hello",
        "world",
        "second",
        "line",
        "Tea",
        "15.00",
        "中文段落",
    ]
    # Evenly spread: "Invoice <No. 7>" is 15 characters over 300 px, 20 px each.
    assert words[1].get("title") == "bbox 170 10 250 50; x_wconf 95"
    assert "&lt;No.</span>" in hocr


def test_vertical_line_reads_down_the_page() -> None:
    vertical = line("春眠不觉", 10, 0, 30, 80)
    assert reading_quad(vertical) == ((30, 0), (30, 80), (10, 80), (10, 0))
    assert [(w.text, w.start, w.end) for w in word_spans(vertical)] == [("春眠不觉", 0.0, 1.0)]


def test_glyphless_font_loads_and_codes_round_trip() -> None:
    ttf = glyphless_ttf()
    assert len(ttf) < 1024
    font = ImageFont.truetype(io.BytesIO(ttf), 100)  # FreeType reads it
    assert font.getlength("中a") == 100.0  # 500/1000 em each
    codes = CidEncoder()
    assert codes.encode("中a") == "4E2D0061"
    assert codes.encode("𠀋𠀋x") == "D800D8000078"
    cmap = codes.to_unicode().decode()
    assert "<D800> <D840DC0B>" in cmap
    assert "<0078> <0078>" in cmap and "<4E2D> <4E2D>" in cmap
