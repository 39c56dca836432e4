"""Where a line's characters and words lie, for the writers that place text (hOCR, JSON, PDF).

Every line is seen in its *reading frame*: a quad TL, TR, BR, BL whose text runs from the left
edge (TL–BL) to the right edge (TR–BR), glyphs standing on the bottom edge (BL–BR). For a
horizontal line that is its box; for a vertical line (a box at least :data:`VERTICAL_RATIO` times
taller than wide: the engine turned it counter-clockwise to read it) the text runs down the page,
the glyphs' tops toward the box's right side; on a page read upside down (the characters'
fractions run backwards) the frame is turned 180°.

Character positions are fractions 0..1 of the line's length in the reading frame: the line's
``chars`` (the recogniser's alignment) when they match its text, else the characters spread
evenly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._types import Line, Point, Quad

#: A box this much taller than wide is a vertical line (the engine's default
#: ``OrientationConfig.vertical_ratio``; the same rule as ``Line.vertical``).
VERTICAL_RATIO = 1.5


@dataclass(frozen=True)
class Span:
    """Characters of a line (one character, or a word) and where they lie along it."""

    text: str
    start: float
    end: float


def is_vertical(box: Quad) -> bool:
    p0, p1, p2, p3 = box
    w = max(math.dist(p0, p1), math.dist(p3, p2))
    h = max(math.dist(p0, p3), math.dist(p1, p2))
    return h >= VERTICAL_RATIO * w


def _line_chars(line: Line) -> Sequence[Any]:
    """The line's characters when they match its text (``Line.chars`` is optional)."""
    chars: Sequence[Any] = getattr(line, "chars", None) or ()
    if chars and "".join(str(getattr(c, "text", "")) for c in chars) == line.text:
        return chars
    return ()


def has_chars(line: Line) -> bool:
    """Whether the line carries character positions that spell its text."""
    return bool(_line_chars(line))


def _backwards(chars: Sequence[Any]) -> bool:
    """Fractions that run backwards: the line was read upside down (box[1] toward box[0])."""
    return len(chars) >= 2 and float(chars[0].start) > float(chars[-1].start)


def reading_quad(line: Line) -> Quad:
    """The line's box as TL, TR, BR, BL of its reading frame (see the module docstring)."""
    p0, p1, p2, p3 = line.box
    quad: Quad = (p1, p2, p3, p0) if is_vertical(line.box) else (p0, p1, p2, p3)
    if _backwards(_line_chars(line)):
        a, b, c, d = quad
        quad = (c, d, a, b)
    return quad


def char_spans(line: Line) -> list[Span]:
    """One span per character of ``line.text``, in text order, with fractions increasing along
    the reading frame."""
    chars = _line_chars(line)
    if not chars:
        n = len(line.text)
        return [Span(ch, i / n, (i + 1) / n) for i, ch in enumerate(line.text)]
    flip = _backwards(chars)
    spans = []
    for c in chars:
        s, e = sorted((_unit(float(c.start)), _unit(float(c.end))))
        if flip:
            s, e = 1.0 - e, 1.0 - s
        spans.append(Span(str(c.text), s, e))
    return spans


def word_spans(line: Line) -> list[Span]:
    """The line's words (maximal runs of non-space characters) and where they lie."""
    words: list[Span] = []
    run: list[Span] = []
    for span in [*char_spans(line), Span(" ", 1.0, 1.0)]:
        if span.text.isspace():
            if run:
                text = "".join(s.text for s in run)
                start = min(s.start for s in run)
                words.append(Span(text, start, max(start, max(s.end for s in run))))
            run = []
        else:
            run.append(span)
    return words


def _unit(f: float) -> float:
    return min(1.0, max(0.0, f)) if math.isfinite(f) else 0.0


def _at(p: Point, q: Point, f: float) -> Point:
    return (p[0] + (q[0] - p[0]) * f, p[1] + (q[1] - p[1]) * f)


def sub_quad(quad: Quad, start: float, end: float) -> Quad:
    """The slice of a reading-frame quad between fractions ``start`` and ``end``."""
    tl, tr, br, bl = quad
    return (_at(tl, tr, start), _at(tl, tr, end), _at(bl, br, end), _at(bl, br, start))


def bbox(points: Sequence[Point]) -> tuple[int, int, int, int]:
    """Integer x0, y0, x1, y1 enclosing ``points`` (hOCR boxes)."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return (
        math.floor(min(xs)),
        math.floor(min(ys)),
        math.ceil(max(xs)),
        math.ceil(max(ys)),
    )


def line_height(line: Line) -> float:
    """The height of the line's reading frame (its glyph size), in page pixels."""
    tl, tr, br, bl = reading_quad(line)
    return (math.dist(tl, bl) + math.dist(tr, br)) / 2.0
