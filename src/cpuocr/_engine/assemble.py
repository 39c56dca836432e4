"""Reading order: rows top to bottom, left to right within a row, text columns kept apart.

A light recursive XY-cut: a region is split into columns only at a vertical gutter that runs its
whole height *and* separates column-like text (long lines on both sides), so a receipt's price
column or a form's values are not torn from their labels; it is split into bands at horizontal gaps
wider than a normal line gap (titles, paragraphs); what remains is grouped into rows by vertical
centre (half a line height apart) and read left to right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class _Box:
    index: int
    x0: float
    x1: float
    y0: float
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


def reading_order(quads: Sequence[np.ndarray]) -> list[int]:
    """Indices of ``quads`` (4×2 arrays, upright frame) in reading order."""
    boxes = []
    for i, q in enumerate(quads):
        q = np.asarray(q, dtype=np.float32).reshape(-1, 2)
        boxes.append(
            _Box(
                i,
                *map(float, (q[:, 0].min(), q[:, 0].max())),
                *map(float, (q[:, 1].min(), q[:, 1].max())),
            )
        )
    return [b.index for b in _order(boxes, depth=0)]


def _order(boxes: list[_Box], depth: int) -> list[_Box]:
    if len(boxes) <= 1 or depth > 32:
        return _rows(boxes)
    line_h = float(np.median([b.h for b in boxes]))
    columns = _column_split(boxes, line_h)
    if columns is not None:
        return [b for part in columns for b in _order(part, depth + 1)]
    bands = _band_split(boxes, line_h)
    if bands is not None:
        return [b for part in bands for b in _order(part, depth + 1)]
    return _rows(boxes)


def _gaps(intervals: list[tuple[float, float]], min_gap: float) -> list[float]:
    """Cut positions in the middle of uncovered stretches at least ``min_gap`` long."""
    cuts = []
    intervals = sorted(intervals)
    reach = intervals[0][1]
    for lo, hi in intervals[1:]:
        if lo - reach >= min_gap:
            cuts.append((lo + reach) / 2)
        reach = max(reach, hi)
    return cuts


def _split_at(boxes: list[_Box], cuts: list[float], vertical: bool) -> list[list[_Box]]:
    parts: list[list[_Box]] = [[] for _ in range(len(cuts) + 1)]
    for b in boxes:
        centre = (b.x0 + b.x1) / 2 if vertical else b.cy
        parts[sum(centre > c for c in cuts)].append(b)
    return [p for p in parts if p]


def _column_split(boxes: list[_Box], line_h: float) -> list[list[_Box]] | None:
    cuts = _gaps([(b.x0, b.x1) for b in boxes], 0.5 * line_h)
    if not cuts:
        return None
    parts = _split_at(boxes, cuts, vertical=True)
    region_w = max(b.x1 for b in boxes) - min(b.x0 for b in boxes)
    for part in parts:
        median_w = float(np.median([b.w for b in part]))
        if len(part) < 2 or median_w < 0.2 * region_w or median_w < 4 * line_h:
            return None
    return parts


def _band_split(boxes: list[_Box], line_h: float) -> list[list[_Box]] | None:
    # Shrink each box a little: neighbouring lines' boxes often overlap by a few pixels.
    shrink = 0.15
    intervals = [(b.y0 + shrink * b.h, b.y1 - shrink * b.h) for b in boxes]
    cuts = _gaps(intervals, 0.8 * line_h)
    if not cuts:
        return None
    return _split_at(boxes, cuts, vertical=False)


def _rows(boxes: list[_Box]) -> list[_Box]:
    rows: list[list[_Box]] = []
    for b in sorted(boxes, key=lambda b: b.cy):
        if rows:
            row = rows[-1]
            row_cy = float(np.mean([r.cy for r in row]))
            row_h = float(np.median([r.h for r in row]))
            if abs(b.cy - row_cy) <= 0.5 * min(b.h, row_h):
                row.append(b)
                continue
        rows.append([b])
    return [b for row in rows for b in sorted(row, key=lambda b: b.x0)]
