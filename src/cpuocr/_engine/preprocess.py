"""Image preprocessing: modes ``auto`` (default), ``none`` and ``classic``.

``auto`` measures the image and only acts when a measurement says it is needed (low contrast:
CLAHE on the lightness channel; very dark: gamma). Clean images pass through untouched, so it
cannot make them worse. It enhances the *detector's* input only (after the detector's resize, so
at most its pixel budget): the recogniser reads the original pixels. Measured on the dev sets
(issue 12): enhancing both made line reading worse wherever it acted — game_ui region CER 1.11%
vs 0.74% with the crops cut from the original (first 60 images; 1.18% → 1.02% on all 239),
IIIT5K words 1.12% vs 0.90%, SVT 3.31% vs 2.49% — while SROIE (2.37% vs 2.43%, the same as
``none``), FUNSD and the document pages did not change beyond a few characters. ``classic`` is
the CRNN-era recipe (gray → equalizeHist → adaptive Gaussian threshold 11/2 → fixed line height)
kept for comparison and for the Web UI's stage preview; it binarises the whole image, and both
stages read that.

Every OpenCV call here is bounded by the input's size for any shape within the pixel limit, from
1×40000000 to 40000000×1: the classic resize caps its width (a 48-pixel line height would make a
40000000×1 strip 1.9 billion pixels wide), CLAHE gets no more tiles than the image has pixels in
each direction (it pads the image up to a multiple of its tile grid, eightfold for one-pixel
strips), and ``auto`` converts to LAB and back in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ConfigError

MODES = ("auto", "none", "classic")
CLASSIC_LINE_HEIGHT = 48
#: Widest the classic recipe's resized stage gets (a 48×16384 preview is 0.8 MP). A line of
#: text is at most a few hundred heights long; past that the stage keeps the aspect ratio and
#: shrinks its height below 48 instead of growing without bound.
CLASSIC_MAX_WIDTH = 16384
CLAHE_GRID = 8
CLAHE_MAX_WIDTH = 65536


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigError(f"unknown preprocess mode {mode!r}; valid modes: {', '.join(MODES)}")
    return mode


@dataclass(frozen=True)
class ImageStats:
    contrast: float  # std of the gray levels
    brightness: float  # mean gray level


def measure(image: np.ndarray) -> ImageStats:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    # Measure on a small copy: the statistics barely change and this stays under a millisecond.
    h, w = gray.shape[:2]
    step = max(1, int(max(h, w) / 512))
    small = gray[::step, ::step]
    mean, std = cv2.meanStdDev(small)
    return ImageStats(float(std[0, 0]), float(mean[0, 0]))


#: ``auto``'s thresholds: darker than this mean gray gets a gamma lift, a gray-level spread
#: (std) under this gets CLAHE on the lightness channel.
AUTO_DARK_BELOW = 60.0
AUTO_LOW_CONTRAST_BELOW = 25.0


@dataclass(frozen=True)
class AutoPlan:
    """What ``auto`` does to one image, and the measurements that decided it."""

    stats: ImageStats
    gamma: bool  # dark: gamma 0.6
    clahe: bool  # low contrast: CLAHE on the lightness channel

    def actions(self) -> list[str]:
        """The decisions in words (the Web UI's preview shows them)."""
        b, c = self.stats.brightness, self.stats.contrast
        out = []
        if self.gamma:
            out.append(f"gamma 0.6: dark (mean gray {b:.0f} < {AUTO_DARK_BELOW:.0f})")
        if self.clahe:
            out.append(
                f"CLAHE on lightness: low contrast (gray std {c:.0f} < "
                f"{AUTO_LOW_CONTRAST_BELOW:.0f})"
            )
        if not out:
            out.append(f"unchanged: clean enough (mean gray {b:.0f}, gray std {c:.0f})")
        return out


def plan_auto(image: np.ndarray) -> AutoPlan:
    stats = measure(image)
    return AutoPlan(
        stats, stats.brightness < AUTO_DARK_BELOW, stats.contrast < AUTO_LOW_CONTRAST_BELOW
    )


def enhance_auto(image: np.ndarray, *, inplace: bool = False) -> np.ndarray:
    """Enhance only what needs it (:func:`plan_auto`); return the input object itself when
    nothing does. With ``inplace`` the enhancement is written into ``image`` (the engine's own
    decoded copy: a 40 MP page then costs no second 120 MB copy), else into at most one working
    copy."""
    plan = plan_auto(image)
    out = image
    if plan.gamma:
        gamma = 0.6
        lut = np.clip(((np.arange(256) / 255.0) ** gamma) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        out = cv2.LUT(out, lut, dst=image if inplace else None)
    if plan.clahe:
        # One working copy at most (the gamma result is already one), converted in place.
        lab = out if inplace or out is not image else out.copy()
        cv2.cvtColor(lab, cv2.COLOR_BGR2LAB, dst=lab)
        lightness = _clahe(cv2.extractChannel(lab, 0))
        cv2.insertChannel(lightness, lab, 0)
        del lightness
        out = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR, dst=lab)
    return out


def _clahe(channel: np.ndarray) -> np.ndarray:
    """CLAHE 2.0 on an 8×8 grid (fewer tiles where the image has fewer pixels). OpenCV keeps four
    4-byte numbers per column, 640 MB for a 40000000×1 strip; a very wide image is therefore
    equalised transposed (the method treats both axes alike)."""
    h, w = channel.shape[:2]
    if w > CLAHE_MAX_WIDTH and w > h:
        return np.ascontiguousarray(_clahe(np.ascontiguousarray(channel.T)).T)
    grid = (min(CLAHE_GRID, w), min(CLAHE_GRID, h))
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=grid).apply(channel)


def classic_resized_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of the classic resized stage: 48 pixels high, at most
    :data:`CLASSIC_MAX_WIDTH` wide (then lower than 48), aspect ratio kept, never 0."""
    scale = min(CLASSIC_LINE_HEIGHT / height, CLASSIC_MAX_WIDTH / width)
    new_w = min(CLASSIC_MAX_WIDTH, max(1, round(width * scale)))
    new_h = min(CLASSIC_LINE_HEIGHT, max(1, round(height * scale)))
    return new_w, new_h


def _classic_binarized(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    equalized = cv2.equalizeHist(gray)
    binarized = cv2.adaptiveThreshold(
        equalized, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 11, 2
    )
    return gray, equalized, binarized


def classic_stages(image: np.ndarray) -> dict[str, np.ndarray]:
    """Every stage of the classic recipe, in order (uint8 images)."""
    gray, equalized, binarized = _classic_binarized(image)
    h, w = binarized.shape[:2]
    resized = cv2.resize(binarized, classic_resized_size(w, h), interpolation=cv2.INTER_AREA)
    return {
        "original": image,
        "gray": gray,
        "equalized": equalized,
        "binarized": binarized,
        "resized": resized,
    }


@dataclass(frozen=True)
class PreprocessPreview:
    """What a preprocessing mode does to one image (:meth:`cpuocr.OCR.preprocess_preview`):
    its ``stages`` in order (uint8 images: for ``classic`` every step of the recipe, for ``auto``
    and ``none`` the original and the detector's input) and the ``actions`` taken, in words."""

    mode: str
    stages: dict[str, np.ndarray]
    actions: list[str]


CLASSIC_ACTIONS = [
    "gray → equalizeHist → adaptive Gaussian threshold 11/2; detection and recognition read the"
    " binarised image"
]


def detector_enhancement(mode: str) -> Callable[[np.ndarray, bool], np.ndarray] | None:
    """What the detector applies to its own resized input in ``mode``: ``auto``'s enhancement
    (``(image, writable) → image``), or None."""
    return _enhance_for_detector if check_mode(mode) == "auto" else None


def _enhance_for_detector(image: np.ndarray, writable: bool) -> np.ndarray:
    return enhance_auto(image, inplace=writable)


def recognition_image(image: np.ndarray, mode: str) -> np.ndarray:
    """The image lines are cut from and read in ``mode``: the classic recipe's binarised image,
    else ``image`` itself (``auto`` enhances the detector's input only)."""
    if check_mode(mode) == "classic":
        return apply_preprocess(image, mode)
    return image


def apply_preprocess(image: np.ndarray, mode: str, *, inplace: bool = False) -> np.ndarray:
    """The whole image with ``mode``'s enhancement at full size (BGR), for inspection and tests;
    the engine applies ``auto`` to the detector's resized copy instead
    (:func:`detector_enhancement`) and ``classic`` through :func:`recognition_image`.
    ``inplace`` allows ``auto`` to write into ``image`` (see :func:`enhance_auto`)."""
    check_mode(mode)
    if mode == "none":
        return image
    if mode == "auto":
        return enhance_auto(image, inplace=inplace)
    binarized = _classic_binarized(image)[2]
    return cv2.cvtColor(binarized, cv2.COLOR_GRAY2BGR)
