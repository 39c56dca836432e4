"""hOCR 1.2: XHTML with ``ocr_page`` > ``ocr_carea`` (a block) > ``ocr_par`` > ``ocr_line`` >
``ocrx_word``.

Boxes (``bbox x0 y0 x1 y1``) are integer page pixels; a page's ``scan_res`` is its DPI.
``x_wconf`` is the line's confidence in percent (the engine scores lines, so a word has its
line's). Words are the maximal runs of non-space characters (a run of Chinese characters with no
space between them is one word); their boxes come from the line's character positions when it
has them, else from the characters spread evenly along the line. Text is XML-escaped.
"""

from __future__ import annotations

from html import escape

from .._documents.model import DocumentResult, Page
from .._types import Line
from .geometry import bbox, reading_quad, sub_quad, word_spans
from .text import _blocks

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head>
<title></title>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8"/>
<meta name="ocr-system" content="cpuocr"/>
<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"/>
</head>
<body>
"""
_TAIL = "</body>\n</html>\n"


def _box(b: tuple[float, float, float, float] | tuple[int, int, int, int]) -> str:
    return "bbox " + " ".join(str(round(v)) for v in b)


def _conf(line: Line) -> int:
    return max(0, min(100, round(float(line.score) * 100)))


def _line(line: Line, p: int, n: int, words: list[int]) -> str:
    conf = _conf(line)
    frame = reading_quad(line)
    out = [
        f'<span class="ocr_line" id="line_{p}_{n}" title="{_box(bbox(line.box))}; x_wconf {conf}">'
    ]
    for word in word_spans(line):
        words[0] += 1
        box = bbox(sub_quad(frame, word.start, word.end))
        out.append(
            f'<span class="ocrx_word" id="word_{p}_{words[0]}" title="{_box(box)}; '
            f'x_wconf {conf}">{escape(word.text)}</span>'
        )
    return " ".join(out) + "</span>"


def _page(page: Page) -> str:
    p = page.number
    dpi = round(page.dpi)
    out = [
        f'<div class="ocr_page" id="page_{p}" title="{_box((0, 0, page.width, page.height))}; '
        f'ppageno {p - 1}; scan_res {dpi} {dpi}">'
    ]
    blocks = paragraphs = lines = 0
    words = [0]
    for block in _blocks(page):
        blocks += 1
        out.append(f'<div class="ocr_carea" id="block_{p}_{blocks}" title="{_box(block.box)}">')
        for paragraph in block.paragraphs:
            members = [line for row in paragraph.rows for line in row.lines]
            if not members:
                continue
            paragraphs += 1
            box = bbox([pt for line in members for pt in line.box])
            out.append(f'<p class="ocr_par" id="par_{p}_{paragraphs}" title="{_box(box)}">')
            for line in members:
                lines += 1
                out.append(_line(line, p, lines, words))
            out.append("</p>")
        out.append("</div>")
    out.append("</div>")
    return "\n".join(out) + "\n"


def write_hocr(document: DocumentResult) -> bytes:
    body = "".join(_page(page) for page in document.pages)
    return (_HEAD + body + _TAIL).encode("utf-8")
