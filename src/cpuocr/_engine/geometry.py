"""The one geometry module: recorded resizes (and their inverse), quad ordering, crops."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ScaleTransform:
    """A resize from (src_w, src_h) to (dst_w, dst_h); ``to_source`` undoes it on points."""

    src_w: int
    src_h: int
    dst_w: int
    dst_h: int

    @property
    def sx(self) -> float:
        return self.dst_w / self.src_w

    @property
    def sy(self) -> float:
        return self.dst_h / self.src_h

    def apply(self, image: np.ndarray) -> np.ndarray:
        if (self.dst_w, self.dst_h) == (self.src_w, self.src_h):
            return image
        shrink = self.dst_w * self.dst_h < self.src_w * self.src_h
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        return cv2.resize(image, (self.dst_w, self.dst_h), interpolation=interp)

    def to_source(self, points: np.ndarray) -> np.ndarray:
        out = np.asarray(points, dtype=np.float32).copy()
        out[..., 0] /= self.sx
        out[..., 1] /= self.sy
        out[..., 0] = np.clip(out[..., 0], 0, self.src_w - 1)
        out[..., 1] = np.clip(out[..., 1], 0, self.src_h - 1)
        return out

    def to_target(self, points: np.ndarray) -> np.ndarray:
        out = np.asarray(points, dtype=np.float32).copy()
        out[..., 0] *= self.sx
        out[..., 1] *= self.sy
        return out


def order_quad(points: np.ndarray) -> np.ndarray:
    """Order 4 points as top-left, top-right, bottom-right, bottom-left (image axes)."""
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    tl, bl = left[np.argsort(left[:, 1], kind="stable")]
    tr, br = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([tl, tr, br, bl], dtype=np.float32)


def quad_size(quad: np.ndarray) -> tuple[float, float]:
    """(width, height) of an ordered quad: the longer of each pair of opposite edges."""
    q = np.asarray(quad, dtype=np.float32)
    w = max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[3] - q[2]))
    h = max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2]))
    return float(w), float(h)


def crop_quad(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Rectify the region of an ordered quad by a perspective warp (text runs left to right).

    The corners are rounded to whole pixels first: the detector's boxes come back from its
    resized input with fractional corners, and a warp from fractional corners resamples every
    pixel between its neighbours, which blurs 10–12 px text enough to change characters (game UI
    screenshots: 奖励 read 奖助). From whole-pixel corners an upright box is an exact copy (issue
    12: game_ui region CER 1.02 → 0.63%, SROIE 2.43 → 2.36, FUNSD 6.03 → 5.97)."""
    quad = np.round(np.asarray(quad, dtype=np.float32))
    w, h = quad_size(quad)
    cw, ch = max(1, int(math.ceil(w))), max(1, int(math.ceil(h)))
    dst = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(np.asarray(quad, dtype=np.float32), dst)
    return cv2.warpPerspective(
        image, m, (cw, ch), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def pad_rows(crop: np.ndarray, fraction: float, plain_below: float) -> np.ndarray:
    """``crop`` with ``round(fraction × height)`` rows added above and below, its edge rows
    repeated, when both edge rows are plain (grey standard deviation under ``plain_below``);
    else ``crop`` itself. Repeated rows of a busy edge (a poster's graphics, a neighbour's
    strokes) would be streaks."""
    pad = int(round(crop.shape[0] * fraction))
    if pad <= 0:
        return crop
    edges = crop[[0, -1]]  # only the two edge rows are judged: no grey copy of the whole crop
    grey = cv2.cvtColor(edges, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else edges
    if max(float(grey[0].std()), float(grey[1].std())) >= plain_below:
        return crop
    return cv2.copyMakeBorder(crop, pad, pad, 0, 0, cv2.BORDER_REPLICATE)


def rotate_quad_frame(quad: np.ndarray, width: int, height: int, angle: int) -> np.ndarray:
    """Coordinates of ``quad`` in the frame of the image rotated by ``angle`` (0/90/180/270,
    clockwise). Used to sort lines in reading order on pages that are not upright."""
    q = np.asarray(quad, dtype=np.float32)
    x, y = q[..., 0], q[..., 1]
    if angle == 0:
        return q
    if angle == 180:
        return np.stack([width - x, height - y], axis=-1)
    if angle == 90:  # page rotated clockwise to be upright
        return np.stack([height - y, x], axis=-1)
    if angle == 270:
        return np.stack([y, width - x], axis=-1)
    raise ValueError(f"angle must be 0, 90, 180 or 270, not {angle}")
