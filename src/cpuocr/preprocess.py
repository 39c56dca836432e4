"""Image preprocessing before detection: modes ``auto`` (default), ``none`` and ``classic``.

``auto`` measures the image and only acts when a measurement says it is needed (low contrast:
CLAHE on the lightness channel; very dark: gamma). Clean images pass through untouched, so it
cannot make them worse. ``classic`` is the CRNN-era recipe (gray → equalizeHist → adaptive Gaussian
threshold 11/2 → fixed line height) kept for comparison and for the Web UI's stage preview.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import ConfigError

MODES = ("auto", "none", "classic")
CLASSIC_LINE_HEIGHT = 48


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigError(f"unknown preprocess mode {mode!r}; valid modes: {', '.join(MODES)}")
    return mode


@dataclass(frozen=True)
class ImageStats:
    contrast: float  # std of the gray levels
    brightness: float  # mean gray level
    sharpness: float  # variance of the Laplacian


def measure(image: np.ndarray) -> ImageStats:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    # Measure on a small copy: the statistics barely change and this stays under a millisecond.
    h, w = gray.shape[:2]
    step = max(1, int(max(h, w) / 512))
    small = gray[::step, ::step]
    mean, std = cv2.meanStdDev(small)
    sharp = float(cv2.Laplacian(small, cv2.CV_32F).var())
    return ImageStats(float(std[0, 0]), float(mean[0, 0]), sharp)


def enhance_auto(image: np.ndarray) -> np.ndarray:
    """Enhance only what needs it; return the input object itself when nothing does."""
    stats = measure(image)
    out = image
    if stats.brightness < 60:
        gamma = 0.6
        lut = np.clip(((np.arange(256) / 255.0) ** gamma) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        out = cv2.LUT(out, lut)
    if stats.contrast < 25:
        lab = cv2.cvtColor(out, cv2.COLOR_BGR2LAB)
        clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
        lab[:, :, 0] = clahe.apply(lab[:, :, 0])
        out = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
    return out


def classic_stages(image: np.ndarray) -> dict[str, np.ndarray]:
    """Every stage of the classic recipe, in order (uint8 images)."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    equalized = cv2.equalizeHist(gray)
    binarized = cv2.adaptiveThreshold(
        equalized, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 11, 2
    )
    h, w = binarized.shape[:2]
    new_w = max(1, round(w * CLASSIC_LINE_HEIGHT / h))
    resized = cv2.resize(binarized, (new_w, CLASSIC_LINE_HEIGHT), interpolation=cv2.INTER_AREA)
    return {
        "original": image,
        "gray": gray,
        "equalized": equalized,
        "binarized": binarized,
        "resized": resized,
    }


def apply_preprocess(image: np.ndarray, mode: str) -> np.ndarray:
    """The image detection and recognition will see (same size as the input, BGR)."""
    check_mode(mode)
    if mode == "none":
        return image
    if mode == "auto":
        return enhance_auto(image)
    binarized = classic_stages(image)["binarized"]
    return cv2.cvtColor(binarized, cv2.COLOR_GRAY2BGR)
