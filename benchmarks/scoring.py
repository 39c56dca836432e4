"""Accuracy scoring for the benchmark, following the rules in ``shared/data/README.md``.

Pure functions, no I/O. Everything here works on text and 4-point boxes.

Normalisation
    Both sides: Unicode NFKC, then all whitespace removed. With ``fold=True`` (the English
    scene-word sets and SROIE, whose labels drop case and punctuation) the text is also
    case-folded and only letters, digits and CJK characters are kept.

Line crops
    CER = sum of edit distances / sum of label lengths over the set; exact match = share of
    crops whose normalised prediction equals the normalised label.

Whole images
    1. Order-free character F1: the multisets of normalised predicted and label characters are
       compared; F1 = 2·|P ∩ L| / (|P| + |L|) per image, averaged over images. Both empty → 1.
    2. Region CER (where labels have boxes): a prediction and a label are *linked* when the area
       of their intersection exceeds 30% of the smaller one's area. Links form connected groups
       (union-find). In each group both sides are joined in reading order — rows by vertical
       centre, a new row when a centre lies more than half a line height (the group's median box
       height) below the current row's mean centre, then left to right — and compared by edit
       distance. Labels no prediction touches are wholly missed; predictions that touch no label
       are left to F1. Region CER = sum of errors / sum of label characters.

Boxes and intersections
    A box is four (x, y) points or a flat ``[x1, y1, ..., x4, y4]`` list. Areas are exact polygon
    areas: each box is replaced by its convex hull (detector and label quads are convex up to
    point order) and the intersection is computed by Sutherland–Hodgman clipping of one convex
    polygon by the other. No axis-aligned approximation, so rotated and skewed lines are scored
    on their real overlap.

Regions the labels leave out (OmniDocBench)
    ``ignore_boxes`` mark tables, figures, formulas and blocks whose text was not split into
    lines. A prediction whose area lies more than half inside one ignore box is dropped before
    both F1 and region CER: the labels say nothing about that text, so it is neither right nor
    wrong. ``unsplit_blocks`` carry text for some of those regions, but each of their boxes is
    also an ignore box and the text has no line split, so it is *not* added to the labels; it
    is ignored like the rest of its region. Label lines are never dropped (labels inside
    ignore regions do not occur in the data).
"""

from __future__ import annotations

import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]
BoxLike = Sequence[float] | Sequence[Sequence[float]]

LINK_FRACTION = 0.3
"""A prediction and a label link when their overlap exceeds this share of the smaller area."""

IGNORE_FRACTION = 0.5
"""A prediction is dropped when more than this share of its area lies inside one ignore box."""

_NUMPY_MIN_CELLS = 4096  # below this many DP cells the pure-Python loop is faster


# --- text -------------------------------------------------------------------------------------


def normalize(text: str, fold: bool = False) -> str:
    """NFKC and drop whitespace; with ``fold`` also case-fold and keep letters/digits/CJK."""
    text = unicodedata.normalize("NFKC", text)
    if fold:
        text = text.casefold()
        return "".join(ch for ch in text if _is_letter_or_digit(ch))
    return "".join(ch for ch in text if not ch.isspace())


def _is_letter_or_digit(ch: str) -> bool:
    # CJK ideographs are category Lo, so "letters" covers them.
    category = unicodedata.category(ch)
    return category.startswith("L") or category == "Nd"


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (unit insert, delete, substitute) between two strings."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    if len(a) * len(b) < _NUMPY_MIN_CELLS:
        return _edit_distance_python(a, b)
    return _edit_distance_numpy(a, b)


def _edit_distance_python(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _edit_distance_numpy(a: str, b: str) -> int:
    # Row by row. The insertion term d[i][j-1] + 1 chains along the row; it is resolved with a
    # running minimum: d[i][j] = min_k<=j (t[k] + j - k), t = the row without insertions.
    codes = np.fromiter((ord(c) for c in b), dtype=np.int64, count=len(b))
    index = np.arange(len(b) + 1, dtype=np.int64)
    previous = index.copy()
    row = np.empty(len(b) + 1, dtype=np.int64)
    for i, ca in enumerate(a, start=1):
        cost = (codes != ord(ca)).astype(np.int64)
        row[0] = i
        np.minimum(previous[1:] + 1, previous[:-1] + cost, out=row[1:])
        previous = np.minimum.accumulate(row - index) + index
    return int(previous[-1])


# --- line crops -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineScore:
    """One line crop: edit errors against the label, label length, exact match."""

    errors: int
    label_chars: int
    exact: bool


@dataclass(frozen=True)
class LineSetScore:
    """A set of line crops, aggregated as the README says (errors summed, then divided)."""

    items: int
    errors: int
    label_chars: int
    exact: int

    @property
    def cer(self) -> float:
        """Character error rate, 0..1 (can exceed 1 with many insertions)."""
        return self.errors / self.label_chars if self.label_chars else 0.0

    @property
    def exact_match(self) -> float:
        """Share of crops read perfectly, 0..1."""
        return self.exact / self.items if self.items else 0.0


def score_line(prediction: str, label: str, fold: bool = False) -> LineScore:
    """Score one line crop."""
    pred = normalize(prediction, fold)
    ref = normalize(label, fold)
    return LineScore(errors=edit_distance(pred, ref), label_chars=len(ref), exact=pred == ref)


def aggregate_lines(scores: Iterable[LineScore]) -> LineSetScore:
    """Sum line scores into a set score."""
    items = errors = chars = exact = 0
    for score in scores:
        items += 1
        errors += score.errors
        chars += score.label_chars
        exact += int(score.exact)
    return LineSetScore(items=items, errors=errors, label_chars=chars, exact=exact)


# --- whole images: character F1 ---------------------------------------------------------------


def char_f1(predictions: Sequence[str], labels: Sequence[str], fold: bool = False) -> float:
    """Order-free character F1 between predicted and label lines of one image, 0..1."""
    pred = Counter(normalize("".join(predictions), fold))
    ref = Counter(normalize("".join(labels), fold))
    total = sum(pred.values()) + sum(ref.values())
    if total == 0:
        return 1.0
    matched = sum((pred & ref).values())
    return 2.0 * matched / total


# --- geometry ---------------------------------------------------------------------------------


def as_quad(box: BoxLike) -> Quad:
    """Accept ``[x1, y1, ..., x4, y4]`` or four ``(x, y)`` pairs; return four float points."""
    values: list[float] = []
    for v in box:
        if isinstance(v, int | float | np.integer | np.floating):
            values.append(float(v))
        else:
            values.extend(float(c) for c in v)
    if len(values) != 8:
        raise ValueError(f"a box needs 4 points (8 numbers), got {len(values)} numbers")
    p = [(values[i], values[i + 1]) for i in range(0, 8, 2)]
    return (p[0], p[1], p[2], p[3])


def polygon_area(points: Sequence[Point]) -> float:
    """Absolute area of a simple polygon (shoelace)."""
    n = len(points)
    if n < 3:
        return 0.0
    twice = 0.0
    for i in range(n):
        x1, y1 = points[i]
        x2, y2 = points[(i + 1) % n]
        twice += x1 * y2 - x2 * y1
    return abs(twice) / 2.0


def convex_hull(points: Sequence[Point]) -> list[Point]:
    """Counter-clockwise convex hull (monotone chain), collinear points dropped."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Point] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[Point] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _clip(subject: list[Point], clip: list[Point]) -> list[Point]:
    # Sutherland–Hodgman: clip `subject` by each edge of the convex CCW polygon `clip`.
    output = subject
    n = len(clip)
    for i in range(n):
        if not output:
            break
        ax, ay = clip[i]
        bx, by = clip[(i + 1) % n]

        def side(p: Point, ax: float = ax, ay: float = ay, bx: float = bx, by: float = by) -> float:
            return (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax)

        source = output
        output = []
        for j, current in enumerate(source):
            previous = source[j - 1]
            s_cur, s_prev = side(current), side(previous)
            if s_cur >= 0:
                if s_prev < 0:
                    output.append(_cross_point(previous, current, s_prev, s_cur))
                output.append(current)
            elif s_prev >= 0:
                output.append(_cross_point(previous, current, s_prev, s_cur))
    return output


def _cross_point(p: Point, q: Point, sp: float, sq: float) -> Point:
    t = sp / (sp - sq)
    return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))


@dataclass(frozen=True)
class _Shape:
    hull: list[Point]
    area: float
    x0: float
    y0: float
    x1: float
    y1: float

    @staticmethod
    def of(box: BoxLike) -> _Shape:
        hull = convex_hull(as_quad(box))
        xs = [p[0] for p in hull] or [0.0]
        ys = [p[1] for p in hull] or [0.0]
        return _Shape(hull, polygon_area(hull), min(xs), min(ys), max(xs), max(ys))

    @property
    def centre_y(self) -> float:
        return (self.y0 + self.y1) / 2.0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def _intersection(a: _Shape, b: _Shape) -> float:
    if a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0:
        return 0.0
    if len(a.hull) < 3 or len(b.hull) < 3:
        return 0.0
    return polygon_area(_clip(a.hull, b.hull))


def intersection_area(a: BoxLike, b: BoxLike) -> float:
    """Area shared by two 4-point boxes (each taken as its convex hull)."""
    return _intersection(_Shape.of(a), _Shape.of(b))


# --- whole images: reading order and region CER -----------------------------------------------


def _reading_order(shapes: Sequence[_Shape]) -> list[int]:
    if len(shapes) <= 1:
        return list(range(len(shapes)))
    line_height = statistics.median(s.height for s in shapes)
    by_centre = sorted(range(len(shapes)), key=lambda i: shapes[i].centre_y)
    rows: list[list[int]] = []
    row_centre = 0.0
    for i in by_centre:
        cy = shapes[i].centre_y
        if rows and cy - row_centre <= line_height / 2.0:
            rows[-1].append(i)
            row_centre += (cy - row_centre) / len(rows[-1])  # running mean of the row
        else:
            rows.append([i])
            row_centre = cy
    order: list[int] = []
    for row in rows:
        order.extend(sorted(row, key=lambda i: (shapes[i].x0, shapes[i].y0)))
    return order


def reading_order(boxes: Sequence[BoxLike]) -> list[int]:
    """Indices of ``boxes`` in reading order: rows by vertical centre, then left to right."""
    return _reading_order([_Shape.of(b) for b in boxes])


@dataclass(frozen=True)
class RegionScore:
    """Region CER parts of one or more images: edit errors and label characters."""

    errors: int
    label_chars: int

    @property
    def cer(self) -> float:
        """Region CER, 0..1 (can exceed 1 with many inserted characters)."""
        return self.errors / self.label_chars if self.label_chars else 0.0

    def __add__(self, other: RegionScore) -> RegionScore:
        return RegionScore(self.errors + other.errors, self.label_chars + other.label_chars)


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


def _links(a: _Shape, b: _Shape) -> bool:
    smaller = min(a.area, b.area)
    if smaller <= 0.0:
        return False
    return _intersection(a, b) > LINK_FRACTION * smaller


def region_score(
    predictions: Sequence[tuple[str, BoxLike]],
    labels: Sequence[tuple[str, BoxLike]],
    fold: bool = False,
) -> RegionScore:
    """Box-matched line errors of one image (see the module docstring for the rule)."""
    label_shapes = [_Shape.of(box) for _, box in labels]
    pred_shapes = [_Shape.of(box) for _, box in predictions]
    n_labels = len(labels)
    groups = _UnionFind(n_labels + len(predictions))
    for li, ls in enumerate(label_shapes):
        for pi, ps in enumerate(pred_shapes):
            if _links(ls, ps):
                groups.union(li, n_labels + pi)

    members: dict[int, tuple[list[int], list[int]]] = {}
    for li in range(n_labels):
        members.setdefault(groups.find(li), ([], []))[0].append(li)
    for pi in range(len(predictions)):
        root = groups.find(n_labels + pi)
        if root in members:  # a group without labels is left to F1
            members[root][1].append(pi)

    errors = chars = 0
    for label_ids, pred_ids in members.values():
        ref = _join(labels, label_shapes, label_ids, fold)
        hyp = _join(predictions, pred_shapes, pred_ids, fold)
        errors += edit_distance(hyp, ref)
        chars += len(ref)
    return RegionScore(errors=errors, label_chars=chars)


def _join(
    items: Sequence[tuple[str, BoxLike]], shapes: Sequence[_Shape], ids: list[int], fold: bool
) -> str:
    order = _reading_order([shapes[i] for i in ids])
    return "".join(normalize(items[ids[k]][0], fold) for k in order)


def drop_ignored(
    predictions: Sequence[tuple[str, BoxLike]], ignore_boxes: Sequence[BoxLike]
) -> list[tuple[str, BoxLike]]:
    """Predictions not lying mostly (> half their area) inside one of ``ignore_boxes``."""
    if not ignore_boxes:
        return list(predictions)
    ignore = [_Shape.of(b) for b in ignore_boxes]
    kept: list[tuple[str, BoxLike]] = []
    for text, box in predictions:
        shape = _Shape.of(box)
        inside = max(_intersection(shape, g) for g in ignore)
        if shape.area <= 0.0 or inside <= IGNORE_FRACTION * shape.area:
            kept.append((text, box))
    return kept


@dataclass(frozen=True)
class PageScore:
    """One whole image: character F1 and, where labels have boxes, region CER parts."""

    f1: float
    region: RegionScore | None


def score_page(
    predictions: Sequence[tuple[str, BoxLike]],
    label_lines: Sequence[str],
    label_boxes: Sequence[BoxLike] | None,
    fold: bool = False,
    ignore_boxes: Sequence[BoxLike] = (),
) -> PageScore:
    """Score one whole image: predictions are (text, box) lines in any order."""
    kept = drop_ignored(predictions, ignore_boxes)
    f1 = char_f1([text for text, _ in kept], label_lines, fold)
    if label_boxes is None:
        return PageScore(f1=f1, region=None)
    if len(label_boxes) != len(label_lines):
        raise ValueError(f"{len(label_lines)} label lines but {len(label_boxes)} label boxes")
    labels = list(zip(label_lines, label_boxes, strict=True))
    return PageScore(f1=f1, region=region_score(kept, labels, fold))
