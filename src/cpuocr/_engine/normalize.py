"""The PP-OCR models' input convention, shared by their three stages (detection, orientation,
recognition): each stage prepares its own input with it; the runtime only runs tensors."""

from __future__ import annotations

import numpy as np

_HALF = np.float32(127.5)
_INV_HALF = np.float32(1.0 / 127.5)


def to_planar(image: np.ndarray) -> np.ndarray:
    """BGR uint8 (H, W, 3) → float32 (3, H, W) in [-1, 1]: ``(x / 255 - 0.5) / 0.5``."""
    x = (image.astype(np.float32) - _HALF) * _INV_HALF
    return np.ascontiguousarray(x.transpose(2, 0, 1))
