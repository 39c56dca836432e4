"""Layout and character positions end to end: pages rendered by the test, read by the real
engine, then laid out (``cpuocr._documents.layout.analyze``): columns come out in column order, a
receipt's row stays one row, a wrapped paragraph joins by the language rule; and every line's
characters lie where the glyphs were drawn."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from PIL import Image, ImageDraw, ImageFont

from cpuocr import OCR
from cpuocr._documents.layout import analyze, paragraph_text, row_text
from cpuocr._types import Line

from rendering import font_path, render_lines, render_vertical, to_bgr


def font(size: int) -> ImageFont.FreeTypeFont:
    path = font_path()
    if path is None:
        pytest.skip("no CJK font: apt-get install fonts-noto-cjk fonts-wqy-zenhei")
    return ImageFont.truetype(path, size)


def justified(
    draw: ImageDraw.ImageDraw, text: str, x: int, y: int, width: float, f: ImageFont.FreeTypeFont
) -> None:
    """``text`` drawn from ``x`` to ``x + width`` (words, or Chinese characters, spread out a
    little: keep ``width`` near the text's own length, or the detector parts the words)."""
    parts = text.split() if " " in text else list(text)
    widths = [draw.textlength(p, font=f) for p in parts]
    gap = (width - sum(widths)) / max(1, len(parts) - 1)
    at = float(x)
    for part, w in zip(parts, widths, strict=True):
        draw.text((at, y), part, fill="black", font=f)
        at += w + gap


def page(size: tuple[int, int]) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGB", size, "white")
    return img, ImageDraw.Draw(img)


def all_text(lines: Sequence[Line]) -> str:
    return " ".join(line.text for line in lines)


def test_two_columns_under_a_title_come_out_in_column_order(ocr: OCR) -> None:
    body, title = font(26), font(44)
    left = [f"左栏第{n}行文字内容示例" for n in "一二三四五六"]
    right = [f"右栏第{n}行文字内容示例" for n in "一二三四五六"]
    img, draw = page((1000, 560))
    draw.text((60, 30), "两栏页面的大标题横跨左右两栏的宽度", fill="black", font=title)
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        justified(draw, a, 40, 140 + 60 * i, 420, body)
        justified(draw, b, 540, 140 + 60 * i, 420, body)
    result = ocr(to_bgr(img))
    ordered, blocks = analyze(result.lines, result.width, result.height)
    sides = [
        "T" if line.box[0][1] < 120 else ("L" if line.box[0][0] < 500 else "R") for line in ordered
    ]
    assert sides == ["T"] + ["L"] * 6 + ["R"] * 6, [line.text for line in ordered]
    assert blocks[0].paragraphs[0].kind == "title"
    # Each column is one paragraph of justified lines, joined with no space.
    texts = [paragraph_text(p) for b in blocks[1:] for p in b.paragraphs]
    assert texts == ["".join(left), "".join(right)]


def test_a_receipt_row_stays_one_row(ocr: OCR) -> None:
    f = font(30)
    img, draw = page((760, 260))
    rows = [("8239", "GB", "1", "15.00"), ("5120", "KG", "2", "8.40"), ("TOTAL", "", "", "23.40")]
    for r, cells in enumerate(rows):
        for x, cell in zip((30, 250, 420, 580), cells, strict=True):
            if cell:
                draw.text((x, 30 + 70 * r), cell, fill="black", font=f)
    result = ocr(to_bgr(img))
    _, blocks = analyze(result.lines, result.width, result.height)
    got = [row_text(row) for b in blocks for p in b.paragraphs for row in p.rows]
    assert got == ["8239\tGB\t1\t15.00", "5120\tKG\t2\t8.40", "TOTAL\t23.40"]
    first = blocks[0].paragraphs[0].rows[0]
    assert [line.text for line in first.lines] == ["8239", "GB", "1", "15.00"]
    assert len({line.box for line in first.lines}) == 4  # each cell keeps its own box


def test_a_wrapped_paragraph_joins_by_the_language_rule(ocr: OCR) -> None:
    f = font(30)
    latin = [
        "The engine reads every exam-",
        "ple of a wrapped paragraph and",
        "joins its lines again.",
    ]
    img, draw = page((900, 420))
    width = max(draw.textlength(t, font=f) for t in latin[:2])
    justified(draw, latin[0], 40, 30, width, f)
    justified(draw, latin[1], 40, 80, width, f)
    draw.text((40, 130), latin[2], fill="black", font=f)
    chinese = ["中文段落的第一行写满了整行", "第二行结束。"]
    justified(draw, chinese[0], 40, 260, width, f)
    draw.text((40, 310), chinese[1], fill="black", font=f)
    result = ocr(to_bgr(img))
    _, blocks = analyze(result.lines, result.width, result.height)
    texts = [paragraph_text(p) for b in blocks for p in b.paragraphs]
    assert texts == [
        "The engine reads every example of a wrapped paragraph and joins its lines again.",
        "中文段落的第一行写满了整行第二行结束。",
    ]


def glyph_centres(text: str, x0: float, f: ImageFont.FreeTypeFont) -> list[float]:
    """Where each character of ``text`` drawn at ``x0`` lies (centre of its advance)."""
    return [x0 + (f.getlength(text[:k]) + f.getlength(text[: k + 1])) / 2 for k in range(len(text))]


@pytest.mark.parametrize(
    "text",
    ["Positions of every character, 2024.", "每个字符的位置都对得上。", "混合 Mixed 文字 123"],
)
def test_char_positions_lie_on_the_glyphs(ocr: OCR, text: str) -> None:
    size, margin = 32, 24
    f = font(size)
    result = ocr(to_bgr(render_lines([text], size=size, margin=margin)))
    (line,) = result.lines
    assert len(line.chars) == len(line.text)
    assert "".join(c.text for c in line.chars) == line.text
    starts = [c.start for c in line.chars]
    assert starts == sorted(starts)
    assert all(0.0 <= c.start <= c.end <= 1.0 for c in line.chars)
    if line.text != text:
        pytest.skip(f"read {line.text!r}, not {text!r}: positions are checked on exact reads")
    centres = glyph_centres(text, margin, f)
    pitch = f.getlength(text) / len(text)
    for c, quad, want in zip(line.chars, line.char_quads(), centres, strict=True):
        got = (quad[0][0] + quad[1][0]) / 2
        assert abs(got - want) <= 0.6 * pitch, (c, got, want)


def test_char_positions_of_a_vertical_line_run_down_it(ocr: OCR) -> None:
    text, size, margin = "春眠不觉晓处处闻啼鸟", 40, 24
    result = ocr(to_bgr(render_vertical(text, size=size, margin=margin)))
    (line,) = result.lines
    assert line.vertical and line.text == text
    step = int(size * 1.15)
    for k, quad in enumerate(line.char_quads()):
        centre_y = (quad[0][1] + quad[3][1]) / 2
        assert abs(centre_y - (margin + k * step + size / 2)) <= 0.6 * step


def test_chars_on_every_path(ocr: OCR) -> None:
    # Without detection, and a line so wide that it is read in pieces and merged.
    alone = ocr(to_bgr(render_lines(["det off 不检测"], margin=6)), det=False).lines[0]
    assert len(alone.chars) == len(alone.text)
    wide = "The quick brown fox jumps over the lazy dog " * 6
    (line,) = ocr(to_bgr(render_lines([wide.strip()], size=28))).lines
    assert len(line.chars) == len(line.text) > 200
    starts = [c.start for c in line.chars]
    assert starts == sorted(starts) and starts[-1] > 0.95
    # The plain answer is unchanged; the characters are an option.
    assert set(line.to_dict()) == {"text", "score", "box"}
    assert len(line.to_dict(chars=True)["chars"]) == len(line.text)
