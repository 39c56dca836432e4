"""Reading order: rows top to bottom, left to right within a row, text columns kept apart.

A light recursive XY-cut: a region is split into columns only at a vertical gutter that runs its
whole height *and* separates column-like text (long lines on both sides), so a receipt's price
column or a form's values are not torn from their labels; it is split into bands at horizontal gaps
wider than a normal line gap (titles, paragraphs); what remains is grouped into rows by vertical
centre (half a line height apart) and read left to right.

All of this runs in the text's own frame: a page shot at a slant (a sign, a receipt on a table) is
first turned by its lines' dominant angle (:func:`text_angle`), so that "the row below" means the
next line of the text and not whatever sits lower on the page's axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# degrees: a page turned less than this is sorted on its own axes (unchanged). A scan fed in 1-2
# degrees crooked is turned: a line across an A4 page then climbs more than its own height.
MIN_SKEW = 0.5
MAX_SKEW = 45.0  # degrees: lines steeper than this do not vote (vertical text, noise)
ELONGATED = 2.0  # a quad votes when its long edge is at least this many times its short one
MIN_VOTERS = 2  # fewer elongated lines than this: no angle (one line does not make a frame)
GUTTERS_TRIED = 8  # the widest vertical gaps tried as a region's gutter (bounds the work)


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
    points = [np.asarray(q, dtype=np.float32) for q in quads]
    for i, q in enumerate(text_frame(points)):
        boxes.append(
            _Box(
                i,
                *map(float, (q[:, 0].min(), q[:, 0].max())),
                *map(float, (q[:, 1].min(), q[:, 1].max())),
            )
        )
    return [b.index for b in _order(boxes, depth=0)]


def text_frame(quads: Sequence[npt.ArrayLike]) -> list[np.ndarray]:
    """``quads`` as float64 N×2 arrays in the text's own frame: turned by minus
    :func:`text_angle` (about the origin: only their relative positions matter), so that their
    lines run along x; their own values when there is no angle to trust."""
    points = [np.asarray(q, dtype=np.float64).reshape(-1, 2) for q in quads]
    angle = text_angle(points)
    if not angle:
        return points
    t = np.deg2rad(angle)
    c, s = np.cos(t), np.sin(t)
    turn = np.array([[c, -s], [s, c]])  # row vectors: p @ turn is p turned by -angle
    return [p @ turn for p in points]


def text_angle(quads: Sequence[npt.ArrayLike]) -> float:
    """The lines' dominant angle in degrees (image axes, y down: positive when lines run down to
    the right), or 0.0 when there is none to trust.

    Each quad clearly longer than tall (``ELONGATED``) votes its long edge's angle, weighted by
    that edge's length; the answer is the weighted median (a stray vertical label or a skewed
    stamp does not drag it). Fewer than ``MIN_VOTERS`` voters, or an angle under ``MIN_SKEW``,
    give 0.0: an upright page is sorted exactly as before. Does not depend on the corners' order.
    """
    points = [np.asarray(q, dtype=np.float64).reshape(-1, 2) for q in quads]
    fours = [p for p in points if len(p) == 4]
    if len(fours) < MIN_VOTERS:
        return 0.0
    corners = np.stack(fours)  # N×4×2, all at once: a page may hold hundreds of lines
    edges = np.roll(corners, -1, axis=1) - corners
    lengths = np.hypot(edges[..., 0], edges[..., 1])
    k = np.argmax(lengths, axis=1)
    n = np.arange(len(corners))
    long_edge = lengths[n, k]
    short_edge = np.maximum(lengths[n, (k + 1) % 4], lengths[n, (k + 3) % 4])
    dx, dy = edges[n, k, 0], edges[n, k, 1]
    a = (np.degrees(np.arctan2(dy, dx)) + 90.0) % 180.0 - 90.0  # either direction: [-90, 90)
    votes = (long_edge >= ELONGATED * np.maximum(short_edge, 1.0)) & (np.abs(a) <= MAX_SKEW)
    angles, weights = a[votes], long_edge[votes]
    if len(angles) < MIN_VOTERS:
        return 0.0
    order = np.argsort(angles)
    cumulative = np.cumsum(weights[order])
    median = float(angles[order[np.searchsorted(cumulative, cumulative[-1] / 2)]])
    return median if abs(median) >= MIN_SKEW else 0.0


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


def _gaps(intervals: list[tuple[float, float]], min_gap: float) -> list[tuple[float, float]]:
    """Uncovered stretches at least ``min_gap`` long: (cut position in the middle, width)."""
    gaps = []
    intervals = sorted(intervals)
    reach = intervals[0][1]
    for lo, hi in intervals[1:]:
        if lo - reach >= min_gap:
            gaps.append(((lo + reach) / 2, lo - reach))
        reach = max(reach, hi)
    return gaps


def _split_at(boxes: list[_Box], cuts: list[float], vertical: bool) -> list[list[_Box]]:
    parts: list[list[_Box]] = [[] for _ in range(len(cuts) + 1)]
    for b in boxes:
        centre = (b.x0 + b.x1) / 2 if vertical else b.cy
        parts[sum(centre > c for c in cuts)].append(b)
    return [p for p in parts if p]


def _column_split(boxes: list[_Box], line_h: float) -> list[list[_Box]] | None:
    """Two sides of the widest gutter between column-like text (each side at least two lines,
    their median width a fifth of the region and four line heights); narrower gaps that fail
    (a page number's strip beside a column) do not stop a wider one from cutting. Only the
    :data:`GUTTERS_TRIED` widest gaps are tried."""
    region_w = max(b.x1 for b in boxes) - min(b.x0 for b in boxes)
    gaps = _gaps([(b.x0, b.x1) for b in boxes], 0.5 * line_h)
    for cut, _ in sorted(gaps, key=lambda g: -g[1])[:GUTTERS_TRIED]:
        parts = _split_at(boxes, [cut], vertical=True)
        if all(
            len(part) >= 2
            and float(np.median([b.w for b in part])) >= max(0.2 * region_w, 4 * line_h)
            for part in parts
        ):
            return parts
    return None


def _band_split(boxes: list[_Box], line_h: float) -> list[list[_Box]] | None:
    # Shrink each box a little: neighbouring lines' boxes often overlap by a few pixels.
    shrink = 0.15
    intervals = [(b.y0 + shrink * b.h, b.y1 - shrink * b.h) for b in boxes]
    cuts = [cut for cut, _ in _gaps(intervals, 0.8 * line_h)]
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
