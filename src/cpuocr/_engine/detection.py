"""DB (differentiable binarisation) text detection: input-size policy, inference, box decoding.

The size policy is ours, chosen by measurement (BENCHMARKS.md): keep the image at its own scale
where text is already legible, shrink only past a pixel budget and a long-side cap, and enlarge
only images with a short side under 240 px (one-line screenshots, labels), by at most 3×.
RapidOCR instead scales the short side *up* to 736 px: a 340×76 screenshot becomes 3300×736.
An image whose text the first pass finds small (``small_text_px``) is detected a second time
enlarged, within a smaller pixel budget of its own (:func:`plan_refine`): small busy posters keep
their short lines. The probability mask is dilated only on an input enlarged 1.5× or more
(``dilate_min_scale``): at the image's own scale dilation joins adjacent lines of small print.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import pyclipper

from .geometry import ScaleTransform, order_quad
from .normalize import to_planar
from .runtime import Model

Enhance = Callable[[np.ndarray, bool], np.ndarray]
"""An enhancement of the detector's input: (BGR image, may write into it) → BGR image."""


@dataclass(frozen=True)
class DetectionConfig:
    max_pixels: int = 2_000_000  # pixel budget of the detector input
    max_side_px: int = 2400  # cap on the long side of the detector input
    min_short_side_px: int = 240  # images with a shorter short side are enlarged…
    max_upscale: float = 3.0  # …by at most this factor
    thresh: float = 0.3
    box_thresh: float = 0.5
    unclip_ratio: float = 1.6
    min_size: float = 3.0
    max_candidates: int = 1000
    # The mask is dilated (2×2) only where the detector reads the image enlarged at least
    # ``dilate_min_scale`` times (``dilate``: False never): there the gaps between characters
    # grow with the image and dilation keeps a line in one box (game UI screenshots, enlarged
    # 3×: region CER 0.73% without, 0.63% with). At the image's own scale or below, it joins
    # the adjacent lines of small print into one box, or makes a box tall enough to take in
    # its neighbours' strokes (FUNSD fax notes; the issue's held-back forms; RapidOCR, which
    # dilates, is as weak there): FUNSD 5.97 → 5.84%, SROIE 2.36 → 2.14% without it.
    dilate: bool = True
    dilate_min_scale: float = 1.5
    # Small text (issue 12, item 4): the detector's scale follows the text, not only the image. When
    # the median height of the text the first pass found is under ``small_text_px`` detector pixels
    # (in at least ``small_text_min_lines`` boxes), the image is detected again, enlarged so that
    # the text becomes about ``target_text_px`` (at most ``max_refine`` times the first scale and
    # the original scale times ``max_upscale_small``), and that pass's boxes are kept. The second
    # pass has its own pixel budget, ``small_text_max_pixels`` (and the long-side cap), and is
    # skipped when it cannot enlarge by 1.25× or more: at 1 MP it reaches small images — e-commerce
    # posters, screenshots — and never costs more than half of a full first pass, so neither the
    # peak memory nor the worst case grows. Measured (dev, char F1): MTWI posters scaled to a 430 px
    # long side (benchmarks/small_posters.py; like the held-back ones) 78.31 → 81.00; MTWI
    # at full size 83.75 → 83.77, SROIE 2.14 → 2.16% region CER, game UI unchanged; FUNSD forms and
    # document pages are too large for a 1.25× pass within 1 MP, so unchanged in time and figures.
    # With a 2 MP budget at 10 px / 15 boxes the pass took FUNSD from 6.04% to 5.85%, but made such
    # forms 52% slower and left the server ~50 MB above idle after the adversary mix
    # (tests/load/test_adversary.py): opt in with ``small_text_max_pixels=2_000_000`` for forms with
    # fine print. ``small_text_px=0``: off.
    # Session 10: the pass starts under 16 px (12 before) and aims at 24 px (16 before), and its
    # boxes replace the first pass's only when they cover at least ``refine_min_area`` of the
    # first pass's box area: enlarged, text blurred along the line (a degraded dev page) became
    # blobs the detector did not find (a 5-line page read as 2 lines). Small posters 80.70 →
    # 81.90 F1 (faster-paddle small 81.66), MTWI 84.00 → 84.15, SROIE 2.13 → 2.12; degraded
    # 3.58 → 3.74% region CER (4.41 without the area check), game UI and pages unchanged.
    small_text_px: float = 16.0
    small_text_min_lines: int = 1
    target_text_px: float = 24.0
    max_refine: float = 2.0
    max_upscale_small: float = 3.0
    small_text_max_pixels: int = 1_000_000
    refine_min_area: float = 0.8


def plan_resize(width: int, height: int, cfg: DetectionConfig) -> ScaleTransform:
    """Detector input size for an image: multiples of 32, aspect kept as far as rounding allows."""
    scale = 1.0
    short_side = min(width, height)
    if short_side < cfg.min_short_side_px:
        # A short side this small (a one-line screenshot, a label) means the text is at most a
        # few dozen pixels tall; DB finds small text much better when it is enlarged.
        scale = min(cfg.max_upscale, cfg.min_short_side_px / short_side)
    return _scaled(width, height, scale, cfg.max_pixels, cfg.max_side_px)


def plan_refine(
    width: int,
    height: int,
    first: ScaleTransform,
    text_px: float,
    cfg: DetectionConfig,
    lines: int | None = None,
) -> ScaleTransform | None:
    """The enlarged detector input for a second pass when the first found small text (median
    height ``text_px`` detector pixels) in at least ``small_text_min_lines`` boxes (``lines``;
    None: not counted), or None when there is none to do or no room to grow."""
    if cfg.small_text_px <= 0 or not 0 < text_px < cfg.small_text_px:
        return None
    if lines is not None and lines < cfg.small_text_min_lines:
        return None
    first_scale = min(first.sx, first.sy)
    factor = min(cfg.max_refine, cfg.target_text_px / text_px)
    scale = min(first_scale * factor, cfg.max_upscale_small)
    budget = min(cfg.max_pixels, cfg.small_text_max_pixels)
    second = _scaled(width, height, scale, budget, cfg.max_side_px)
    if min(second.sx, second.sy) < 1.25 * first_scale:
        return None  # not worth a second pass
    return second


def _scaled(
    width: int, height: int, scale: float, max_pixels: int, max_side: int
) -> ScaleTransform:
    long_side = max(width, height)
    area = width * height * scale * scale
    if area > max_pixels:
        scale *= math.sqrt(max_pixels / area)
    if long_side * scale > max_side:
        scale = max_side / long_side
    dst_w = max(32, int(round(width * scale / 32)) * 32)
    dst_h = max(32, int(round(height * scale / 32)) * 32)
    return ScaleTransform(width, height, dst_w, dst_h)


def normalize_det(image: np.ndarray) -> np.ndarray:
    """BGR uint8 (H, W, 3) → float32 (1, 3, H, W), (x/255 - 0.5) / 0.5."""
    return to_planar(image)[None]


class TextDetector:
    def __init__(self, model: Model, config: DetectionConfig | None = None) -> None:
        self.model = model
        self.config = config or DetectionConfig()

    def prepare(
        self,
        image: np.ndarray,
        enhance: Enhance | None = None,
        transform: ScaleTransform | None = None,
    ) -> tuple[np.ndarray, ScaleTransform]:
        """The detector's input for a BGR image (:meth:`input_image`, normalised), and the
        resize to undo."""
        resized, transform = self.input_image(image, enhance, transform)
        return normalize_det(resized), transform

    def input_image(
        self,
        image: np.ndarray,
        enhance: Enhance | None = None,
        transform: ScaleTransform | None = None,
    ) -> tuple[np.ndarray, ScaleTransform]:
        """The BGR image the detector reads, and the resize to undo (``transform``, else the
        size policy's). ``enhance`` is applied to the resized image (at most the detector's pixel
        budget, whatever the page's size), with leave to write into it when the resize made a
        new array."""
        h, w = image.shape[:2]
        transform = transform or plan_resize(w, h, self.config)
        resized = transform.apply(image)
        if enhance is not None:
            resized = enhance(resized, resized is not image)
        return resized, transform

    def probability_map(
        self,
        image: np.ndarray,
        enhance: Enhance | None = None,
        transform: ScaleTransform | None = None,
    ) -> tuple[np.ndarray, ScaleTransform]:
        batch, transform = self.prepare(image, enhance, transform)
        out = self.model.run(batch)
        return out[0, 0], transform

    def __call__(self, image: np.ndarray, enhance: Enhance | None = None) -> list[np.ndarray]:
        """Ordered quads (4×2 float32, original pixels) of the text regions in ``image``
        (``enhance``: see :meth:`prepare`). A page whose text is small is detected a second
        time, enlarged (:func:`plan_refine`), and the second pass's boxes are kept unless they
        cover less than ``refine_min_area`` of the first pass's box area."""
        prob, transform = self.probability_map(image, enhance)
        quads, heights = decode_db_heights(prob, self.config, self._dilate(transform))
        refine = None
        if self.config.small_text_px > 0 and heights:
            h, w = image.shape[:2]
            text_px = float(np.median(heights))
            refine = plan_refine(w, h, transform, text_px, self.config, len(quads))
        found = [transform.to_source(q) for q in quads]
        if refine is None:
            return found
        del prob
        prob, transform = self.probability_map(image, enhance, refine)
        again = decode_db_heights(prob, self.config, self._dilate(transform))[0]
        again = [transform.to_source(q) for q in again]
        if _area(again) < self.config.refine_min_area * _area(found):
            return found
        return again

    def _dilate(self, transform: ScaleTransform) -> bool:
        """Whether the mask of a detector input made by ``transform`` is dilated."""
        cfg = self.config
        return cfg.dilate and min(transform.sx, transform.sy) >= cfg.dilate_min_scale


def _area(quads: list[np.ndarray]) -> float:
    """The summed area of ``quads`` (the same frame for the two passes it compares)."""
    return float(sum(abs(cv2.contourArea(np.asarray(q, np.float32))) for q in quads))


def decode_db(prob: np.ndarray, cfg: DetectionConfig) -> list[np.ndarray]:
    """Boxes from a DB probability map, in probability-map pixels (the mask dilated as
    ``cfg.dilate`` says)."""
    return decode_db_heights(prob, cfg)[0]


def decode_db_heights(
    prob: np.ndarray, cfg: DetectionConfig, dilate: bool | None = None
) -> tuple[list[np.ndarray], list[float]]:
    """Boxes from a DB probability map, in probability-map pixels, and each box's text height
    before unclipping (the short side of the region above the threshold). ``dilate``: whether
    the mask is dilated (None: ``cfg.dilate``)."""
    mask: np.ndarray = (prob > cfg.thresh).astype(np.uint8)
    if cfg.dilate if dilate is None else dilate:
        mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    quads: list[np.ndarray] = []
    heights: list[float] = []
    for contour in contours[: cfg.max_candidates]:
        box, short_side = _min_box(contour)
        if short_side < cfg.min_size:
            continue
        core = short_side
        if box_score(prob, contour) < cfg.box_thresh:
            continue
        expanded = unclip(box, cfg.unclip_ratio)
        if expanded is None:
            continue
        box, short_side = _min_box(expanded)
        if short_side < cfg.min_size + 2:
            continue
        quads.append(box)
        heights.append(core)
    return quads, heights


def _min_box(points: np.ndarray) -> tuple[np.ndarray, float]:
    rect = cv2.minAreaRect(np.asarray(points, dtype=np.float32).reshape(-1, 1, 2))
    box = order_quad(cv2.boxPoints(rect))
    return box, float(min(rect[1]))


def box_score(prob: np.ndarray, contour: np.ndarray) -> float:
    """Mean probability inside the contour (computed on its bounding window only)."""
    h, w = prob.shape
    pts = contour.reshape(-1, 2)
    x0, x1 = int(np.clip(pts[:, 0].min(), 0, w - 1)), int(np.clip(pts[:, 0].max(), 0, w - 1))
    y0, y1 = int(np.clip(pts[:, 1].min(), 0, h - 1)), int(np.clip(pts[:, 1].max(), 0, h - 1))
    window = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    shifted = (pts - np.array([x0, y0])).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(window, [shifted], 1)
    return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], window)[0])


def unclip(box: np.ndarray, ratio: float) -> np.ndarray | None:
    """Grow a box by DB's rule: offset distance = area × ratio / perimeter."""
    poly = np.asarray(box, dtype=np.float64)
    area = abs(cv2.contourArea(poly.astype(np.float32)))
    length = cv2.arcLength(poly.astype(np.float32), True)
    if length <= 0:
        return None
    distance = area * ratio / length
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(
        poly.round().astype(np.int64).tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON
    )
    paths = offset.Execute(distance)
    if not paths:
        return None
    return np.asarray(max(paths, key=len), dtype=np.float32)
