"""A PDF page's embedded text: is it real, and its lines with their boxes.

Pure logic over the characters pdfium reports (``pdf.py`` reads them); no PDF library here, so the
rules are unit-tested on hand-made characters.

**Real text.** A page's text layer is *real* (``text_layer="auto"`` takes it instead of OCR) when
it has at least :data:`MIN_REAL_CHARS` visible, meaningful characters and they are at least
:data:`MIN_VISIBLE_SHARE` of its characters:

* *visible*: drawn with a text render mode that paints (0–2, 4–6). Mode 3 (invisible) and 7 (clip
  only) paint nothing: that is the layer an earlier OCR run lays over a scanned image, and what a
  page shows is the image under it, so the page is read again (OCR) unless ``text_layer="use"``;
* *meaningful*: not U+FFFD, not a private-use, control, surrogate or unassigned code point, and
  without a broken ToUnicode mapping (pdfium's ``HasUnicodeMapError``). Fonts subset without a
  ToUnicode map give such garbage, which reads worse than OCR;
* spaces and the line breaks pdfium generates between runs are not counted.

A page with both (a visible header stamped on a scan that carries an invisible OCR layer) counts as
not real when the visible characters are under half of its text: the scan is the content.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from .._types import Line, Quad

#: Visible, meaningful characters a page needs for its text layer to count as real. A page of
#: body text has hundreds; a scanned page with a short visible stamp ("COPY", a page number,
#: "Scanned by …") stays under it and is OCRed.
MIN_REAL_CHARS = 16
#: Share of the page's characters that must be visible and meaningful for the layer to be real.
MIN_VISIBLE_SHARE = 0.5
#: Text render modes that paint nothing (PDF 32000-1 §9.3.6): 3 invisible, 7 clip only.
INVISIBLE_MODES = frozenset({3, 7})

Verdict = Literal["none", "real", "invisible", "garbage"]
PageBox = tuple[float, float, float, float]  # left, bottom, right, top in PDF page units (y up)


@dataclass(frozen=True)
class Char:
    """One character of a page's text layer as pdfium reports it. ``box`` is in PDF page units
    (y up, before the page's /Rotate); ``generated``: a space or line break pdfium inserted
    between text runs; ``render_mode``: the PDF text render mode (-1 when unknown);
    ``map_error``: the font's ToUnicode mapping failed for it."""

    text: str
    box: PageBox
    generated: bool = False
    render_mode: int = 0
    map_error: bool = False


def is_garbage(text: str) -> bool:
    """A code point that carries no readable text (U+FFFD, private use, control, surrogate,
    unassigned)."""
    if not text or text == "\ufffd":
        return True
    return any(unicodedata.category(c) in ("Co", "Cc", "Cs", "Cn") for c in text)


def _counted(chars: Iterable[Char]) -> list[Char]:
    return [c for c in chars if not c.generated and c.text and not c.text.isspace()]


def assess(chars: Sequence[Char]) -> Verdict:
    """What a page's text layer is (see the module docstring): ``"real"``, ``"none"`` (no text),
    ``"invisible"`` (mostly painted invisible: an earlier OCR's layer) or ``"garbage"``."""
    counted = _counted(chars)
    if not counted:
        return "none"
    visible = [c for c in counted if c.render_mode not in INVISIBLE_MODES]
    good = [c for c in visible if not c.map_error and not is_garbage(c.text)]
    if len(good) >= MIN_REAL_CHARS and len(good) >= MIN_VISIBLE_SHARE * len(counted):
        return "real"
    if len(visible) < MIN_VISIBLE_SHARE * len(counted):
        return "invisible"
    return "garbage"


# -- lines --------------------------------------------------------------------------------------

#: Two characters share a line when their boxes overlap across the line by at least this share of
#: the smaller box.
SAME_LINE_OVERLAP = 0.5
#: A gap wider than this many character heights along a line splits it (table cells, columns set
#: on one baseline); the layout puts cells back together as a row.
MAX_GAP = 2.5
#: A gap wider than this many heights gets a space even where the PDF put none.
SPACE_GAP = 0.25

Affine = tuple[float, float, float, float, float, float]  # px = a*x + b*y + c; py = d*x + e*y + f


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


@dataclass
class _Run:
    chars: list[str]
    left: float
    bottom: float
    right: float
    top: float
    last: PageBox
    vertical: bool | None = None  # None: one character so far

    def add(self, text: str, box: PageBox, space: bool) -> None:
        if space:
            self.chars.append(" ")
        self.chars.append(text)
        self.left, self.bottom = min(self.left, box[0]), min(self.bottom, box[1])
        self.right, self.top = max(self.right, box[2]), max(self.top, box[3])
        self.last = box


def _continues(run: _Run, box: PageBox) -> tuple[bool, bool]:
    """(the character at ``box`` continues ``run``, a space goes before it)."""
    last = run.last
    h = max(last[3] - last[1], box[3] - box[1], 1e-6)
    w = max(last[2] - last[0], box[2] - box[0], 1e-6)
    across_h = _overlap(last[1], last[3], box[1], box[3])  # vertical overlap: a horizontal line
    small_h = max(min(last[3] - last[1], box[3] - box[1]), 1e-6)
    if run.vertical is not True and across_h >= SAME_LINE_OVERLAP * small_h:
        gap = box[0] - last[2]
        if -0.5 * h <= box[0] - last[0] and gap <= MAX_GAP * h:
            run.vertical = False
            return True, gap > SPACE_GAP * h
    across_w = _overlap(last[0], last[2], box[0], box[2])  # horizontal overlap: a vertical line
    small_w = max(min(last[2] - last[0], box[2] - box[0]), 1e-6)
    if run.vertical is not False and across_w >= SAME_LINE_OVERLAP * small_w:
        gap = last[1] - box[3]  # the next character sits below (y up)
        if -0.5 * w <= last[3] - box[3] and gap <= MAX_GAP * w:
            run.vertical = True
            return True, gap > SPACE_GAP * w
    return False, False


def group_lines(chars: Iterable[Char], to_pixels: Affine) -> list[Line]:
    """The text layer's lines, in the PDF's order: characters joined while they follow each other
    along one line (left to right, or top to bottom for vertical writing), split at line breaks
    and wide gaps. Boxes go to page pixels through ``to_pixels`` (which includes the page's
    /Rotate). Text-layer lines have score 1.0."""
    lines: list[Line] = []
    run: _Run | None = None
    pending_space = False

    def flush() -> None:
        nonlocal run
        if run is not None:
            text = "".join(run.chars).strip()
            if text:
                lines.append(Line(text, 1.0, _quad(run, to_pixels)))
        run = None

    for ch in chars:
        if ch.text in ("\r", "\n", "\r\n", "\x02"):  # \x02: pdfium's soft hyphen marker
            flush()
            pending_space = False
            continue
        box = ch.box
        if not ch.text or ch.text.isspace() or box[2] <= box[0] or box[3] <= box[1]:
            pending_space = pending_space or (run is not None and bool(ch.text))
            continue
        if run is not None:
            ok, gap_space = _continues(run, box)
            if ok:
                run.add(ch.text, box, pending_space or gap_space)
                pending_space = False
                continue
            flush()
        run = _Run([ch.text], box[0], box[1], box[2], box[3], box)
        pending_space = False
    flush()
    return lines


def _quad(run: _Run, m: Affine) -> Quad:
    """The run's box in page pixels, as the engine's quads are: top-left, top-right,
    bottom-right, bottom-left on the image (axis-aligned; a rotated page turns the box whole)."""
    xs, ys = [], []
    for x, y in ((run.left, run.bottom), (run.right, run.bottom), (run.left, run.top),
                 (run.right, run.top)):  # fmt: skip
        xs.append(m[0] * x + m[1] * y + m[2])
        ys.append(m[3] * x + m[4] * y + m[5])
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
