"""Line orientation: vertical lines turned to run left to right, and the 0/180° decision.

The 0/180° classifier is applied as a *page-level vote*, not per line: per-line flips of the small
mobile classifier are wrong often enough on forms to cost accuracy (SPEC §1), while a whole page
upside down is a real case (a scan fed the wrong way). So we classify a sample of the widest lines
and flip every line only when a clear majority says 180°.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .normalize import to_planar
from .runtime import Model


@dataclass(frozen=True)
class OrientationConfig:
    vertical_ratio: float = 1.5  # a crop this much taller than wide is a vertical line
    sample_lines: int = 12  # lines classified for the page vote
    flip_share: float = 0.6  # share of sampled lines that must say 180° to flip
    min_confidence: float = 0.8  # a sampled line votes only when this sure
    line_min_confidence: float = 0.9  # a lone line (det=False) this sure of 180° is read both ways
    retry_below: float = 0.6  # …and so is one whose upright reading scores under this;
    sure_above: float = 0.95  # a lone line read at least this surely is not checked at all
    turned_min_score: float = 0.8  # the turned reading wins only this sure (and surer)
    input_height: int = 48
    input_width: int = 192


def is_vertical(crop: np.ndarray, cfg: OrientationConfig) -> bool:
    h, w = crop.shape[:2]
    return bool(h >= cfg.vertical_ratio * w)


def widest(crops: Sequence[np.ndarray], n: int) -> list[np.ndarray]:
    """The ``n`` widest crops, widest first (the most evidence per line)."""
    by_width = sorted(range(len(crops)), key=lambda i: -crops[i].shape[1])
    return [crops[i] for i in by_width[:n]]


def turn_upright_vertical(crop: np.ndarray) -> np.ndarray:
    """Rotate a vertical crop 90° counter-clockwise so its text runs left to right."""
    return np.ascontiguousarray(cv2.rotate(crop, cv2.ROTATE_90_COUNTERCLOCKWISE))


class LineOrientationClassifier:
    def __init__(self, model: Model, config: OrientationConfig | None = None) -> None:
        self.model = model
        self.config = config or OrientationConfig()

    def prepare(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """The classifier's input batch for line crops: each resized to the input height, at
        most the input width, zero-padded on the right."""
        cfg = self.config
        batch = np.zeros((len(crops), 3, cfg.input_height, cfg.input_width), dtype=np.float32)
        for i, crop in enumerate(crops):
            h, w = crop.shape[:2]
            rw = min(cfg.input_width, max(1, round(w * cfg.input_height / max(1, h))))
            resized = cv2.resize(crop, (rw, cfg.input_height))
            batch[i, :, :, :rw] = to_planar(resized)
        return batch

    def probabilities_180(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """P(180°) for each crop."""
        if not crops:
            return np.zeros(0, dtype=np.float32)
        probs = self.model.run(self.prepare(crops))
        return np.asarray(probs[:, 1], dtype=np.float32)

    def page_is_upside_down(self, crops: Sequence[np.ndarray]) -> bool:
        """Vote on the widest lines (the most evidence per line)."""
        cfg = self.config
        if not crops:
            return False
        sample = widest(crops, cfg.sample_lines)
        p180 = self.probabilities_180(sample)
        sure_180 = int(np.sum(p180 >= cfg.min_confidence))
        sure_0 = int(np.sum(p180 <= 1.0 - cfg.min_confidence))
        votes = sure_180 + sure_0
        return votes > 0 and sure_180 >= cfg.flip_share * votes and sure_180 > sure_0

    def line_may_be_upside_down(self, crop: np.ndarray) -> bool:
        """One line on its own (``det=False``): worth reading turned 180° too when the classifier
        is at least :attr:`OrientationConfig.line_min_confidence` sure of 180°."""
        p180 = self.probabilities_180([crop])
        return bool(p180[0] >= self.config.line_min_confidence)
