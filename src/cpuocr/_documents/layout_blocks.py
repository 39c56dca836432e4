"""Blocks of a page: a recursive XY-cut on the line boxes, in the page's reading frame.

The page is first turned to its reading frame (``page_angle``): a page of vertical lines (Chinese
columns) is turned 270° clockwise so that its columns, read right to left, become rows read top
to bottom; a page read upside down (its lines' characters run right to left) is turned 180°; a
page shot at a slant is then levelled by its lines' own angle (the engine's
``assemble.text_frame``, which leaves an upright page as it is). Everything after works on
upright axis-aligned boxes.

The XY-cut splits a region at its widest whitespace gap:

- a *vertical* gap (a gutter) runs the region's whole height and counts only when both sides look
  like text columns (each holds at least two lines ``COLUMN_LINE_HEIGHTS`` line heights long), so
  a receipt's price column or a form's labels are never torn from their neighbours;
- a *horizontal* gap runs the region's whole width and is at least ``BAND_GAP`` line heights tall
  (boxes shrunk a little first: neighbouring lines' boxes often touch).

When both exist the wider wins (a gutter counts ``VERTICAL_BIAS`` times its width: gutters are
narrower than the space between articles), so a title spanning two columns is cut off first (it
blocks the gutter) and the columns are cut next. Leaves are blocks; two leaves one above the
other that cover the same stretch of the page (a heading and its text, paragraphs of one column)
are joined into one block again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .._engine.assemble import text_frame
from .._types import Line

COLUMN_LINE_HEIGHTS = 4.0  # a text column's lines are at least this many line heights long
MIN_GUTTER = 0.5  # a gutter is at least this many line heights wide
BAND_GAP = 0.8  # a horizontal cut needs a gap this many line heights tall
VERTICAL_BIAS = 1.5
MERGE_OVERLAP = 0.7  # leaves one above the other joined when they overlap this much in x ...
MERGE_GAP = 2.5  # ... and are at most this many line heights apart


@dataclass(frozen=True)
class Item:
    """A line in the reading frame: ``index`` in the caller's list; its upright bounds."""

    index: int
    line: Line
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def h(self) -> float:
        return max(1.0, self.y1 - self.y0)

    @property
    def w(self) -> float:
        return max(1.0, self.x1 - self.x0)

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


def page_angle(lines: Sequence[Line]) -> int:
    """Clockwise turn (0, 90, 180, 270) that makes the page upright for reading, from its lines:
    mostly vertical lines are columns read right to left (270); lines whose characters run back
    toward ``box[0]`` (:attr:`Line.chars`) were read on a page upside down (180, or 90)."""
    if not lines:
        return 0
    vertical = sum(line.vertical for line in lines) * 2 > len(lines)
    back = forth = 0
    for line in lines:
        if len(line.chars) >= 2:
            if line.chars[-1].start < line.chars[0].start:
                back += 1
            elif line.chars[-1].start > line.chars[0].start:
                forth += 1
    flipped = back > forth
    if vertical:
        return 90 if flipped else 270
    return 180 if flipped else 0


def to_frame(lines: Sequence[Line], width: float, height: float, angle: int) -> list[Item]:
    """The lines' bounds in the page turned ``angle`` degrees clockwise, then levelled by the
    lines' own slant (the engine's ``assemble.text_frame``: a page shot at an angle is cut and
    read in rows of its text, not of the page's axes; an upright page is left as it is)."""
    turned = [[_turn(x, y, width, height, angle) for x, y in line.box] for line in lines]
    items = []
    for i, (line, pts) in enumerate(zip(lines, text_frame(turned), strict=True)):
        xs, ys = pts[:, 0], pts[:, 1]
        items.append(
            Item(i, line, float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
        )
    return items


def _turn(x: float, y: float, width: float, height: float, angle: int) -> tuple[float, float]:
    # The same turns as the engine's geometry.rotate_quad_frame.
    if angle == 0:
        return x, y
    if angle == 180:
        return width - x, height - y
    if angle == 90:
        return height - y, x
    if angle == 270:
        return y, width - x
    raise ValueError(f"angle must be 0, 90, 180 or 270, not {angle}")


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    if n == 0:
        return 0.0
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def segment(items: list[Item]) -> list[list[Item]]:
    """The blocks of ``items`` in reading order."""
    return _segment(items, 0)


def _segment(items: list[Item], depth: int) -> list[list[Item]]:
    if len(items) <= 1 or depth > 64:
        return [items]
    line_h = median([it.h for it in items])
    vertical = _vertical_cut(items, line_h)
    horizontal = _horizontal_cut(items, line_h)
    if vertical is not None and (
        horizontal is None or vertical[0] * VERTICAL_BIAS >= horizontal[0]
    ):
        return [leaf for part in vertical[1] for leaf in _segment(part, depth + 1)]
    if horizontal is not None:
        top, bottom = horizontal[1]
        upper = _segment(top, depth + 1)
        lower = _segment(bottom, depth + 1)
        if _joinable(upper[-1], lower[0], line_h):
            return [*upper[:-1], upper[-1] + lower[0], *lower[1:]]
        return [*upper, *lower]
    return [items]


def _gaps(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Uncovered stretches (start, end) between the intervals."""
    out = []
    intervals = sorted(intervals)
    reach = intervals[0][1]
    for lo, hi in intervals[1:]:
        if lo > reach:
            out.append((reach, lo))
        reach = max(reach, hi)
    return out


def _column_like(part: list[Item], line_h: float) -> bool:
    """Text that reads as a column: at least two lines ``COLUMN_LINE_HEIGHTS`` line heights long
    or more (short cells between them, a table or a chart's labels in a sidebar, do not count
    against it), or one line twice that."""
    long = [it.w for it in part if it.w >= COLUMN_LINE_HEIGHTS * line_h]
    return len(long) >= 2 or any(w >= 2 * COLUMN_LINE_HEIGHTS * line_h for w in long)


def _vertical_cut(items: list[Item], line_h: float) -> tuple[float, list[list[Item]]] | None:
    """The widest gutter with text columns on both sides: (its width, [left, right])."""
    gaps = _gaps([(it.x0, it.x1) for it in items])
    for lo, hi in sorted(gaps, key=lambda g: g[0] - g[1]):
        if hi - lo < MIN_GUTTER * line_h:
            break
        cut = (lo + hi) / 2
        left = [it for it in items if (it.x0 + it.x1) / 2 < cut]
        right = [it for it in items if (it.x0 + it.x1) / 2 >= cut]
        if left and right and _column_like(left, line_h) and _column_like(right, line_h):
            return (hi - lo) / line_h, [left, right]
    return None


def _horizontal_cut(items: list[Item], line_h: float) -> tuple[float, list[list[Item]]] | None:
    """The widest horizontal gap: (its height in line heights, [above, below])."""
    shrink = 0.15
    gaps = _gaps([(it.y0 + shrink * it.h, it.y1 - shrink * it.h) for it in items])
    if not gaps:
        return None
    lo, hi = max(gaps, key=lambda g: g[1] - g[0])
    if hi - lo < BAND_GAP * line_h:
        return None
    cut = (lo + hi) / 2
    top = [it for it in items if it.cy < cut]
    bottom = [it for it in items if it.cy >= cut]
    if not top or not bottom:
        return None
    return (hi - lo) / line_h, [top, bottom]


def _joinable(upper: list[Item], lower: list[Item], line_h: float) -> bool:
    """Two blocks one above the other read as one: they cover about the same stretch of the
    page (or the upper is a short heading over the lower), close together."""
    ux0, ux1 = min(it.x0 for it in upper), max(it.x1 for it in upper)
    lx0, lx1 = min(it.x0 for it in lower), max(it.x1 for it in lower)
    gap = min(it.y0 for it in lower) - max(it.y1 for it in upper)
    if gap > MERGE_GAP * line_h:
        return False
    overlap = min(ux1, lx1) - max(ux0, lx0)
    if overlap <= 0:
        return False
    wu, wl = ux1 - ux0, lx1 - lx0
    if overlap >= MERGE_OVERLAP * max(wu, wl):
        return True
    # A heading (one or two lines) over its text, within the text's width.
    return len(upper) <= 2 and overlap >= 0.9 * wu and wu < wl


def bounds(items: Sequence[Item]) -> tuple[float, float, float, float]:
    """The page-pixel bounds (x0, y0, x1, y1) of the items' lines."""
    xs = [x for it in items for x, _ in it.line.box]
    ys = [y for it in items for _, y in it.line.box]
    return (min(xs), min(ys), max(xs), max(ys)) if xs else (0.0, 0.0, 0.0, 0.0)


def rows(items: list[Item]) -> list[list[Item]]:
    """Items grouped into rows (vertical centres within half a line height of the row's),
    top to bottom, each left to right."""
    out: list[list[Item]] = []
    centres: list[float] = []
    for it in sorted(items, key=lambda it: it.cy):
        if out:
            row = out[-1]
            row_h = median([r.h for r in row])
            if abs(it.cy - centres[-1]) <= 0.5 * min(it.h, row_h) and not _overlaps_x(it, row):
                row.append(it)
                centres[-1] = sum(r.cy for r in row) / len(row)
                continue
        out.append([it])
        centres.append(it.cy)
    return [sorted(row, key=lambda it: it.x0) for row in out]


def _overlaps_x(item: Item, row: list[Item]) -> bool:
    """Whether ``item`` sits over or under a cell of ``row`` (then it is a line of its own)."""
    return any(min(item.x1, r.x1) - max(item.x0, r.x0) > 0.5 * min(item.w, r.w) for r in row)
