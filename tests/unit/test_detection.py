"""DB box decoding (cpuocr._engine.detection.decode_db, box_score, unclip) on hand-made
probability maps: no model.

How a blob becomes a quad, worked by hand for the first case: a 100×20 block of 0.9 at
x 30..129, y 20..39. Thresholded and dilated by the 2×2 kernel, it grows one pixel right and down
(x 30..130, y 20..40), so its minimum-area box is 100×20 between pixel centres. Its score is the
mean probability inside that contour: 0.9 × 2000 / 2121 pixels. Unclip offsets the box by
area × ratio / perimeter = 2000 × 1.6 / 240 = 13.33 px on every side, on pyclipper's integer grid:
x 16.67..143.33 and y 6.67..53.33 round to the quad (17, 7)-(143, 53).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import cv2
import numpy as np
import pytest

from cpuocr._engine.detection import (
    DetectionConfig,
    TextDetector,
    box_score,
    decode_db,
    decode_db_heights,
    plan_resize,
    unclip,
)

DEFAULT = DetectionConfig()

Blob = tuple[int, int, int, int, float]  # y0, y1, x0, x1 (ends excluded), probability


def prob_map(*blobs: Blob, shape: tuple[int, int] = (100, 200)) -> np.ndarray:
    prob = np.zeros(shape, np.float32)
    for y0, y1, x0, x1, value in blobs:
        prob[y0:y1, x0:x1] = value
    return prob


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """An axis-aligned quad in decode_db's corner order: top-left, top-right, bottom-right,
    bottom-left."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def assert_quads(found: list[np.ndarray], expected: list[list[list[float]]]) -> None:
    """The same quads in the same order (to float rounding: cv2.boxPoints gives -4.9e-16 for 0
    at some angles)."""
    assert all(q.dtype == np.float32 and q.shape == (4, 2) for q in found)
    assert len(found) == len(expected), [q.tolist() for q in found]
    for quad, want in zip(found, expected, strict=True):
        np.testing.assert_allclose(quad, np.array(want, np.float32), rtol=0, atol=1e-4)


@pytest.mark.parametrize(
    ("blobs", "options", "quads"),
    [
        pytest.param([(20, 40, 30, 130, 0.9)], {}, [rect(17, 7, 143, 53)], id="one-rectangle"),
        # Without dilation: 99×19, offset 1881 × 1.6 / 236 = 12.75.
        pytest.param(
            [(20, 40, 30, 130, 0.9)], {"dilate": False}, [rect(17, 7, 142, 52)], id="no-dilation"
        ),
        # A 5×5 square: offset 25 × 1.6 / 20 = 2.
        pytest.param([(20, 25, 30, 35, 0.9)], {}, [rect(28, 18, 37, 27)], id="small-square"),
        # Two blobs come out in OpenCV's contour order, the one found last in a raster scan
        # first (reading order is the assembly's job). A: 60×20, offset 12; B: 80×20, 12.8.
        pytest.param(
            [(10, 30, 20, 80, 0.9), (60, 80, 100, 180, 0.8)],
            {},
            [rect(87, 47, 193, 93), rect(8, -2, 92, 42)],
            id="two-blobs",
        ),
        # Quads may reach past the map's edge (40×10, offset 6.4); the caller maps them back.
        pytest.param([(0, 10, 0, 40, 0.9)], {}, [rect(-6, -6, 46, 16)], id="at-the-edge"),
        # Short side after dilation 2 < min_size 3: dropped; 3 rows (short side 3) are kept.
        pytest.param([(50, 52, 20, 120, 0.9)], {}, [], id="under-min-size"),
        pytest.param([(50, 53, 20, 120, 0.9)], {}, [rect(18, 48, 122, 55)], id="at-min-size"),
        # Kept before unclip, but an unclip ratio of 0.1 leaves a short side under min_size + 2.
        pytest.param([(50, 53, 20, 120, 0.9)], {"unclip_ratio": 0.1}, [], id="unclipped-too-thin"),
        # Over thresh but under box_thresh on average: dropped.
        pytest.param([(20, 40, 30, 130, 0.45)], {}, [], id="under-box-thresh"),
        # 0.53 is over box_thresh, but the dilated rim (probability 0) is averaged in:
        # 0.53 × 2000 / 2121 = 0.4998. 0.54 gives 0.509 and is kept.
        pytest.param([(20, 40, 30, 130, 0.53)], {}, [], id="rim-pulls-under-box-thresh"),
        pytest.param([(20, 40, 30, 130, 0.54)], {}, [rect(17, 7, 143, 53)], id="over-box-thresh"),
        # Probability must be strictly over thresh to count at all.
        pytest.param([(20, 40, 30, 130, 0.3)], {}, [], id="at-thresh"),
        pytest.param([(20, 40, 30, 130, 0.9)], {"thresh": 0.95}, [], id="under-thresh"),
        pytest.param([], {}, [], id="empty-map"),
    ],
)
def test_decode_db(blobs: list[Blob], options: dict[str, Any], quads: list[Any]) -> None:
    cfg = dataclasses.replace(DEFAULT, **options)
    assert_quads(decode_db(prob_map(*blobs), cfg), quads)


THREE = [(10, 30, 20, 80, 0.9), (10, 30, 120, 180, 0.8), (60, 80, 20, 80, 0.7)]
THREE_QUADS = [rect(8, 48, 92, 92), rect(108, -2, 192, 42), rect(8, -2, 92, 42)]


@pytest.mark.parametrize(
    ("max_candidates", "quads"),
    [(1000, THREE_QUADS), (3, THREE_QUADS), (2, THREE_QUADS[:2]), (1, THREE_QUADS[:1]), (0, [])],
)
def test_max_candidates_caps_the_contours_in_opencv_order(
    max_candidates: int, quads: list[Any]
) -> None:
    """The cap applies to contours in OpenCV's order (the last found in a raster scan first), so
    it drops the regions nearest the top left."""
    cfg = dataclasses.replace(DEFAULT, max_candidates=max_candidates)
    assert_quads(decode_db(prob_map(*THREE), cfg), quads)


def test_the_cap_counts_dropped_candidates_too() -> None:
    """Candidates are capped before they are filtered: a too-thin line among the first two
    contours leaves one quad, not two."""
    blobs = [(10, 30, 20, 80, 0.9), (10, 30, 120, 180, 0.8), (60, 62, 20, 80, 0.9)]
    cfg = dataclasses.replace(DEFAULT, max_candidates=2)
    assert_quads(decode_db(prob_map(*blobs), cfg), [rect(108, -2, 192, 42)])


@pytest.mark.parametrize(
    ("width", "height", "x0", "y0"),
    [(100, 20, 30, 20), (37, 9, 60, 40), (150, 48, 10, 30), (11, 11, 90, 50), (180, 6, 5, 90)],
)
def test_quad_size_follows_the_unclip_rule(width: int, height: int, x0: int, y0: int) -> None:
    """Any axis-aligned block: the quad is its dilated box grown by area × 1.6 / perimeter on
    each side, each edge rounded to whole pixels."""
    prob = prob_map((y0, y0 + height, x0, x0 + width, 0.9), shape=(160, 220))
    # Dilation adds a pixel right and down: between pixel centres the box is width × height.
    distance = width * height * DEFAULT.unclip_ratio / (2 * (width + height))
    expected = rect(
        round(x0 - distance),
        round(y0 - distance),
        round(x0 + width + distance),
        round(y0 + height + distance),
    )
    assert_quads(decode_db(prob, DEFAULT), [expected])


def test_a_rotated_blob_gives_a_rotated_quad_of_the_grown_size() -> None:
    prob = np.zeros((200, 200), np.float32)
    corners = cv2.boxPoints(((100.0, 100.0), (120.0, 30.0), 30.0))
    cv2.fillPoly(prob, [corners.round().astype(np.int32)], 0.9)
    (quad,) = decode_db(prob, DEFAULT)
    (cx, cy), (w, h), _ = cv2.minAreaRect(quad)
    long_side, short_side = max(w, h), min(w, h)
    # Filled and dilated on the pixel grid, the blob's own box is 121.4 × 32.2; grown by
    # 121.4 × 32.2 × 1.6 / (2 × 153.6) = 20.35 on each side: 162.1 × 72.9.
    assert long_side == pytest.approx(162.1, abs=1)
    assert short_side == pytest.approx(72.9, abs=1)
    assert (cx, cy) == (pytest.approx(100.5, abs=1.5), pytest.approx(100.5, abs=1.5))
    top_edge = quad[1] - quad[0]
    assert np.degrees(np.arctan2(top_edge[1], top_edge[0])) == pytest.approx(30, abs=2)


@pytest.mark.parametrize(
    ("inside", "value", "score"),
    [
        (1.0, 0.9, 0.9),  # a uniform block: its probability
        (1.0, 0.0, 0.0),
        (0.5, 0.8, 0.4),  # half the window at 0.8, half at 0
    ],
)
def test_box_score_is_the_mean_inside_the_contour(
    inside: float, value: float, score: float
) -> None:
    prob = np.zeros((50, 60), np.float32)
    prob[10:30, 10 : 10 + int(40 * inside)] = value
    contour = np.array([[10, 10], [49, 10], [49, 29], [10, 29]], np.int32).reshape(-1, 1, 2)
    assert box_score(prob, contour) == pytest.approx(score, rel=1e-6)


def test_box_score_ignores_probability_outside_the_contour() -> None:
    prob = np.full((50, 60), 1.0, np.float32)
    prob[10:30, 10:50] = 0.25
    contour = np.array([[10, 10], [49, 10], [49, 29], [10, 29]], np.int32).reshape(-1, 1, 2)
    assert box_score(prob, contour) == pytest.approx(0.25)


def test_box_score_of_the_dilated_contour_counts_its_rim() -> None:
    prob = prob_map((20, 40, 30, 130, 0.9))
    contour = np.array([[30, 20], [130, 20], [130, 40], [30, 40]], np.int32).reshape(-1, 1, 2)
    assert box_score(prob, contour) == pytest.approx(0.9 * 2000 / 2121, rel=1e-6)


@pytest.mark.parametrize(
    ("box", "ratio", "low", "high"),
    [
        (rect(0, 0, 10, 10), 1.6, (-4, -4), (14, 14)),  # 100 × 1.6 / 40 = 4
        (rect(0, 0, 10, 10), 0.8, (-2, -2), (12, 12)),
        (rect(0, 0, 100, 20), 1.6, (-13, -13), (113, 33)),  # 2000 × 1.6 / 240 = 13.33
        (rect(0, 0, 100, 20), 0.0, (0, 0), (100, 20)),  # no growth
    ],
)
def test_unclip_grows_a_box_by_area_times_ratio_over_perimeter(
    box: list[list[float]], ratio: float, low: tuple[int, int], high: tuple[int, int]
) -> None:
    grown = unclip(np.array(box, np.float32), ratio)
    assert grown is not None and grown.dtype == np.float32
    assert tuple(grown.min(axis=0)) == low
    assert tuple(grown.max(axis=0)) == high


def test_unclip_rounds_the_corners() -> None:
    """pyclipper's round joins: the grown square has arcs at its corners, so more than four
    points, none of them at the square's own corners pushed out diagonally."""
    grown = unclip(np.array(rect(0, 0, 10, 10), np.float32), 1.6)
    assert grown is not None and len(grown) > 4
    assert [-4.0, -4.0] not in grown.tolist()
    # Every point lies about `distance` from the square (rounded to the integer grid).
    dx = np.maximum(0, np.maximum(-grown[:, 0], grown[:, 0] - 10))
    dy = np.maximum(0, np.maximum(-grown[:, 1], grown[:, 1] - 10))
    assert np.all(np.abs(np.hypot(dx, dy) - 4) <= 1)


@pytest.mark.parametrize(
    "box",
    [np.zeros((4, 2), np.float32), np.array([[5, 5], [5, 5], [5, 5], [5, 5]], np.float32)],
)
def test_unclip_of_a_degenerate_box_is_none(box: np.ndarray) -> None:
    assert unclip(box, 1.6) is None


def test_two_lines_of_small_print_one_pixel_apart() -> None:
    """Two 4 px lines with a one-pixel gap: dilation joins them into one box; without it they
    stay two. The detector dilates only an input it enlarged (``dilate_min_scale``)."""
    prob = prob_map((20, 24, 30, 130, 0.9), (25, 29, 30, 130, 0.9))
    assert len(decode_db_heights(prob, DEFAULT, dilate=True)[0]) == 1
    assert len(decode_db_heights(prob, DEFAULT, dilate=False)[0]) == 2


@pytest.mark.parametrize(
    ("size", "dilated"),
    [((340, 76), True), ((754, 1000), False), ((3000, 4000), False), ((400, 120), True)],
)
def test_the_mask_is_dilated_only_on_enlarged_inputs(size: tuple[int, int], dilated: bool) -> None:
    cfg = DEFAULT
    transform = plan_resize(*size, cfg)
    assert (min(transform.sx, transform.sy) >= cfg.dilate_min_scale) == dilated
    detector = TextDetector(model=None, config=cfg)  # type: ignore[arg-type]
    assert detector._dilate(transform) == dilated
    never = TextDetector(model=None, config=dataclasses.replace(cfg, dilate=False))  # type: ignore[arg-type]
    assert not never._dilate(transform)
