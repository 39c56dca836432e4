import numpy as np
import pytest

from cpuocr._engine.detection import DetectionConfig, plan_refine, plan_resize
from cpuocr._engine.geometry import (
    ScaleTransform,
    crop_quad,
    order_quad,
    pad_rows,
    quad_size,
    rotate_quad_frame,
)


@pytest.mark.parametrize(("w", "h"), [(340, 76), (1000, 420), (992, 1403), (5000, 7000), (1, 1)])
def test_plan_resize_multiples_of_32_and_budget(w: int, h: int) -> None:
    cfg = DetectionConfig()
    t = plan_resize(w, h, cfg)
    assert t.dst_w % 32 == 0 and t.dst_h % 32 == 0
    assert max(t.dst_w, t.dst_h) <= cfg.max_side_px + 32
    assert t.dst_w * t.dst_h <= cfg.max_pixels * 1.1 + 32 * 32


def test_scale_round_trip() -> None:
    t = ScaleTransform(1000, 500, 640, 320)
    pts = np.array([[10.0, 20.0], [999.0, 499.0], [500.0, 250.0]], dtype=np.float32)
    back = t.to_source(t.to_target(pts))
    np.testing.assert_allclose(back, pts, atol=1e-3)


def test_order_quad_from_any_order() -> None:
    quad = np.array([[50, 40], [10, 10], [50, 10], [10, 40]], dtype=np.float32)
    np.testing.assert_array_equal(order_quad(quad), [[10, 10], [50, 10], [50, 40], [10, 40]])
    assert quad_size(order_quad(quad)) == (40.0, 30.0)


def test_crop_quad_extracts_the_region() -> None:
    img = np.zeros((100, 200, 3), dtype=np.uint8)
    img[20:40, 30:90] = 255
    quad = np.array([[30, 20], [90, 20], [90, 40], [30, 40]], dtype=np.float32)
    crop = crop_quad(img, quad)
    assert crop.shape == (20, 60, 3)
    assert crop.mean() > 250


def test_crop_quad_copies_pixels_from_fractional_corners() -> None:
    # The detector's boxes have fractional corners; the crop is taken from whole pixels, an
    # exact copy for an upright box (resampling between pixels blurs small text).
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    quad = np.array([[10.3, 5.4], [49.8, 5.2], [50.2, 20.6], [9.7, 20.6]], dtype=np.float32)
    np.testing.assert_array_equal(crop_quad(img, quad), img[5:21, 10:50])


def test_pad_rows_repeats_plain_edges_above_and_below() -> None:
    crop = np.full((20, 50, 3), 230, np.uint8)
    crop[5:15, 10:40] = 20  # ink away from the edges
    padded = pad_rows(crop, 0.1, 25.0)
    assert padded.shape == (24, 50, 3)  # two rows each side
    np.testing.assert_array_equal(padded[2:22], crop)
    np.testing.assert_array_equal(padded[:2], np.repeat(crop[:1], 2, axis=0))
    np.testing.assert_array_equal(padded[22:], np.repeat(crop[-1:], 2, axis=0))


def test_pad_rows_leaves_busy_edges_and_short_crops_alone() -> None:
    busy = np.full((20, 50, 3), 230, np.uint8)
    busy[0, ::4] = 0  # a neighbour's strokes cut by the top edge: repeated, they would be bars
    assert pad_rows(busy, 0.1, 25.0) is busy
    short = np.full((4, 50, 3), 230, np.uint8)  # a tenth of 4 rows rounds to none
    assert pad_rows(short, 0.1, 25.0) is short


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_rotate_frame_matches_numpy_rotation(angle: int) -> None:
    w, h = 7, 5
    img = np.zeros((h, w), dtype=np.uint8)
    img[1, 2] = 1
    rotated = np.rot90(img, k=-(angle // 90))  # clockwise
    y, x = np.argwhere(rotated == 1)[0]
    # Pixel (2, 1) has its centre at (2.5, 1.5).
    p = rotate_quad_frame(np.array([[2.5, 1.5]], dtype=np.float32), w, h, angle)
    assert p[0] == pytest.approx((x + 0.5, y + 0.5))


def test_small_text_gets_a_second_enlarged_pass_within_the_budgets() -> None:
    cfg = DetectionConfig()  # on by default, within 1 MP
    first = plan_resize(320, 430, cfg)  # a small poster: kept at its own scale
    assert plan_refine(320, 430, first, cfg.small_text_px + 1, cfg) is None  # text tall enough
    assert plan_refine(320, 430, first, 0.0, cfg) is None  # nothing found
    second = plan_refine(320, 430, first, 7.0, cfg)
    assert second is not None
    assert second.sx >= 1.25 * first.sx  # enlarged…
    assert second.dst_w * second.dst_h <= cfg.small_text_max_pixels + 32 * 2000  # …in budget
    # A FUNSD-sized form (754×1000) has no room for a 1.25× pass within 1 MP; with the full
    # 2 MP budget it gets one, within the budget and the long-side cap.
    form = plan_resize(754, 1000, cfg)
    assert plan_refine(754, 1000, form, 7.0, cfg) is None
    wide = DetectionConfig(small_text_max_pixels=2_000_000)
    second = plan_refine(754, 1000, form, 7.0, wide)
    assert second is not None and second.sx >= 1.25 * form.sx
    assert second.dst_w * second.dst_h <= wide.max_pixels + 32 * 2000
    assert max(second.dst_w, second.dst_h) <= wide.max_side_px
    # A page already at the pixel budget or the long-side cap has no room: no second pass.
    for w, h in ((2400, 1200), (3000, 4000)):
        assert plan_refine(w, h, plan_resize(w, h, wide), 5.0, wide) is None
    # The gate on the number of boxes found.
    gated = DetectionConfig(small_text_min_lines=15)
    assert plan_refine(320, 430, first, 7.0, gated, lines=14) is None
    assert plan_refine(320, 430, first, 7.0, gated, lines=15) is not None
    # Disabled when small_text_px is 0.
    off = DetectionConfig(small_text_px=0.0)
    assert plan_refine(320, 430, plan_resize(320, 430, off), 7.0, off) is None
