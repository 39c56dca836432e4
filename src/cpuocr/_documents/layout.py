"""Page layout: blocks, reading order, paragraphs and rows from a page's lines.

1. **Frame.** The page is turned to its reading frame (``layout_blocks.page_angle``): vertical
   Chinese columns (boxes much taller than wide) are read right to left, a page read upside down
   (its lines' characters run back toward ``box[0]``) is turned 180°.
2. **Blocks.** A recursive XY-cut on the line boxes (``layout_blocks``): cut at the widest
   whitespace gap, a gutter only between text columns, a horizontal gap only when it runs the
   region's whole width (a title spanning two columns is cut off before the columns are);
   leaves one above the other that cover the same stretch are joined again. Blocks are read in
   the order of the cuts: top to bottom, left to right.
3. **Rows.** In a block, lines whose vertical centres are within half a line height sit on one
   baseline and form one :class:`Row`, left to right (a receipt's "8239  GB  1  15.00": four
   lines, one row; each line keeps its own box).
4. **Paragraphs.** Rows are read top to bottom; a new paragraph starts where

   - the gap above a row is clearly larger than the block's usual line gap;
   - the row above ends short of the block's right edge by more than the width of this row's
     first word (first character in Chinese): that word would have fit, so the line above was a
     paragraph's last;
   - the row is indented (a first-line indent) where the row above was not, unless the
     paragraph is a list item (a hanging indent: the item's wrapped lines sit under its text);
   - the row begins with a list marker (``LIST_ITEM``: a bullet, "1." / "2)" / "(3)" / "a)",
     Chinese "一、" / "（二）" / "3、");
   - rows of several cells (tables, forms) begin or end;
   - a title begins or ends: a one-line row clearly taller (``TITLE_HEIGHT``) than the block's
     body lines (the page's for blocks of fewer than three rows) is a ``kind="title"``
     paragraph (consecutive title rows of about one height are one title).
5. **Text.** :func:`row_text` joins a row's cells with a tab; :func:`paragraph_text` joins its
   rows by the language rule: no space where either side of the line break is a wide (CJK)
   character, one space between Latin words, a hyphen at a Latin line end before a lower-case
   letter dropped (``exam-`` + ``ple`` = ``example``; before a capital the hyphen stays:
   ``Jean-`` + ``Paul``); a row of several cells stays on a line of its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from .._types import Line
from .layout_blocks import Item, bounds, median, page_angle, rows, segment, to_frame
from .model import Block, Paragraph, Row

TITLE_HEIGHT = 1.3  # a title's line is at least this much taller than the body's
INDENT = 0.7  # a first-line indent is at least this many line heights
GAP = 0.5  # a paragraph gap is the usual line gap plus this many line heights
HYPHENS = "-\u2010\u00ad"
# A list item's first row: a bullet (dashes and asterisks only before a space); a number with
# "." or ")" (not a decimal: "1.5"; OCR often drops the space after it); a small letter with ")"
# and a space; a number with "、" (Chinese); a number or letter in brackets. Capitals with a dot
# are left out: "J. Smith" may begin a wrapped line.
LIST_ITEM = re.compile(
    r"[\u2022\u25e6\u25aa\u25ab\u25cf\u25cb\u25a0\u25a1\u25ba\u25b8\u2023\u2043\u00b7\u30fb]"
    r"|[-*\u2013\u2014]\s"
    r"|\d{1,2}[.)](?!\d)|[a-z]\)\s"
    r"|(\d{1,2}|[一二三四五六七八九十]{1,3})、"
    r"|[(（](\d{1,2}|[A-Za-z]|[一二三四五六七八九十]{1,3})[)）]"
)


def analyze(
    lines: Sequence[Line], width: int, height: int, *, angle: int | None = None
) -> tuple[tuple[Line, ...], tuple[Block, ...]]:
    """The page's lines in reading order and its blocks (each holding paragraphs of rows).
    ``angle``: the clockwise turn that makes the page upright (0, 90, 180, 270); by default
    worked out from the lines (vertical lines: 270; characters running backwards: 180)."""
    lines = list(lines)
    if not lines:
        return (), ()
    turn = page_angle(lines) if angle is None else angle
    items = to_frame(lines, float(width), float(height), turn)
    page_h = median([it.h for it in items])
    blocks = []
    for leaf in segment(items):
        vertical = sum(it.line.vertical for it in leaf) * 2 > len(leaf)
        blocks.append(Block(bounds(leaf), _paragraphs(rows(leaf), page_h), vertical))
    ordered = tuple(line for b in blocks for p in b.paragraphs for r in p.rows for line in r.lines)
    return ordered, tuple(blocks)


def paragraph_groups(lines: Sequence[Line], width: int, height: int) -> list[dict[str, Any]]:
    """One image's lines grouped as a document page's paragraphs would be (:func:`analyze`), in
    the layout's reading order: ``[{"kind": "text" | "title", "lines": [indexes into lines]}]``
    (``POST /ocr`` with ``paragraphs=true``; the lines themselves keep their order)."""
    index = {id(line): k for k, line in enumerate(lines)}
    _, blocks = analyze(lines, width, height)
    return [
        {"kind": p.kind, "lines": [index[id(line)] for row in p.rows for line in row.lines]}
        for block in blocks
        for p in block.paragraphs
    ]


def _paragraphs(block_rows: list[list[Item]], page_h: float) -> tuple[Paragraph, ...]:
    n = len(block_rows)
    heights = [median([it.h for it in row]) for row in block_rows]
    ref_h = median(heights) if n >= 3 else page_h
    tall = TITLE_HEIGHT * ref_h
    title = [len(r) == 1 and h >= tall for r, h in zip(block_rows, heights, strict=True)]
    cells = [len(row) > 1 for row in block_rows]
    body = [i for i in range(n) if not title[i]] or list(range(n))
    left = min(min(it.x0 for it in block_rows[i]) for i in body)
    right = max(max(it.x1 for it in block_rows[i]) for i in body)
    top = [min(it.y0 for it in row) for row in block_rows]
    bottom = [max(it.y1 for it in row) for row in block_rows]
    gaps = [top[i] - bottom[i - 1] for i in range(1, n)]
    plain = [
        gaps[i - 1]
        for i in range(1, n)
        if not (title[i] or title[i - 1] or cells[i] or cells[i - 1])
    ]
    usual_gap = median(plain) if plain else 0.3 * ref_h

    item = [bool(LIST_ITEM.match(row[0].line.text.lstrip())) for row in block_rows]

    def starts_paragraph(i: int, start: int) -> bool:
        prev, row = block_rows[i - 1], block_rows[i]
        gap = gaps[i - 1]
        if title[i] or title[i - 1]:
            if not (title[i] and title[i - 1]):
                return True
            similar = abs(heights[i] - heights[i - 1]) <= 0.2 * max(heights[i], heights[i - 1])
            return not similar or gap > usual_gap + GAP * heights[i]
        if cells[i] != cells[i - 1]:
            return True
        if gap > max(1.3 * usual_gap, usual_gap + GAP * ref_h):
            return True
        if cells[i]:
            return False  # the rows of one table
        if item[i]:
            return True
        room = right - max(it.x1 for it in prev)
        if room > _first_word_width(row[0]) + 0.5 * ref_h:
            return True
        indent = row[0].x0 - left
        prev_indent = prev[0].x0 - left
        hanging = item[start] and row[0].x0 > block_rows[start][0].x0
        return indent >= INDENT * ref_h and prev_indent < 0.4 * ref_h and not hanging

    paragraphs: list[Paragraph] = []
    start = 0
    for i in range(1, n + 1):
        if i == n or starts_paragraph(i, start):
            group = block_rows[start:i]
            group_rows = tuple(Row(tuple(it.line for it in row)) for row in group)
            paragraphs.append(Paragraph(group_rows, "title" if title[start] else "text"))
            start = i
    return tuple(paragraphs)


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _first_word_width(item: Item) -> float:
    """About how long the first word (a Chinese line: its first character) of a line is: its
    share of the line's text, wide characters counting twice."""
    text = item.line.text
    if not text:
        return 0.0
    weights = [2 if _wide(ch) else 1 for ch in text]
    if _wide(text[0]):
        first = 2
    else:
        first = 0
        for ch, w in zip(text, weights, strict=True):
            if ch.isspace() or _wide(ch):
                break
            first += w
    return item.w * first / sum(weights)


def row_text(row: Row) -> str:
    """A row's text: its cells separated by a tab."""
    return "\t".join(line.text for line in row.lines)


def join_lines(before: str, after: str) -> str:
    """Two consecutive lines of one paragraph as one text: nothing between them where either side
    of the break is a wide (CJK) character, one space between Latin words, a hyphen at a Latin
    line end dropped before a lower-case letter (kept, without a space, before anything else)."""
    if not before or not after:
        return before + after
    last, first = before[-1], after[0]
    if last in HYPHENS and len(before) >= 2 and before[-2].isalpha() and not _wide(before[-2]):
        return before[:-1] + after if first.islower() else before + after
    if _wide(last) or _wide(first):
        return before + after
    return before + " " + after


def paragraph_text(paragraph: Paragraph) -> str:
    """A paragraph's text as one string: rows joined by the language rule (Chinese with no space,
    Latin with one space, a hyphen at a line end joined); rows with several cells stay on their
    own line."""
    text = ""
    prev_cells = False
    for k, row in enumerate(paragraph.rows):
        line = row_text(row).strip()
        cells = len(row.lines) > 1
        if k == 0:
            text = line
        elif cells or prev_cells:
            text += "\n" + line
        else:
            text = join_lines(text, line)
        prev_cells = cells
    return text
