"""Motion blur found from the cepstrum and undone (cpuocr._engine.deblur), on pages drawn with
OpenCV's own fonts (no model, no CJK font)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from cpuocr._engine import deblur

from rendering import motion_blur


def _page(seed: int = 0) -> np.ndarray:
    """A 900×700 page of black text lines on white."""
    rng = np.random.default_rng(seed)
    page = np.full((700, 900, 3), 255, np.uint8)
    letters = "ABCDEFGHKLMNPRSTUVWXYZabdefghkmnpqrstuwxyz0123456789"
    for row in range(16):
        text = "".join(rng.choice(list(letters), 26))
        cv2.putText(page, text, (30, 50 + 40 * row), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2)
    return page


def test_the_kernel_is_a_line_that_sums_to_one() -> None:
    k = deblur.kernel(9.0, 30.0)
    assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
    assert k.sum() == pytest.approx(1.0, abs=1e-5)
    ys, xs = np.nonzero(k > 0.5 * k.max())
    angle = math.degrees(math.atan2(np.polyfit(xs, ys, 1)[0], 1.0)) % 180
    assert angle == pytest.approx(30.0, abs=6.0)


@pytest.mark.parametrize(
    ("length", "degrees"), [(6, 45), (8, 30), (10, 75), (10, 0), (10, 90), (14, 160)]
)
def test_a_motion_blur_is_found_along_its_direction(length: float, degrees: float) -> None:
    blur = deblur.estimate(motion_blur(_page(), length, degrees))
    assert blur is not None
    turn = abs(blur.angle - degrees) % 180
    assert min(turn, 180 - turn) <= 8
    # Roughly: the cepstrum's peak lies near the length or near half of it (the pipeline tries
    # both, and the recogniser judges). Measured: 5.7, 7.6, 7.1, 11, 11, 15.8.
    assert min(abs(blur.length - length), abs(2 * blur.length - length)) <= 0.35 * length


def test_a_sharp_page_and_a_small_image_show_no_blur() -> None:
    assert deblur.estimate(_page()) is None
    assert deblur.estimate(cv2.GaussianBlur(_page(), (0, 0), 2.0)) is None  # blur, no motion
    assert deblur.estimate(motion_blur(_page()[:120, :300], 10, 30)) is None  # too small


def test_deblurring_with_the_kernel_brings_the_page_back() -> None:
    sharp = cv2.cvtColor(_page(), cv2.COLOR_BGR2GRAY).astype(np.float32)
    blurred = motion_blur(_page(), 10, 30)
    restored = deblur.deblur(blurred, deblur.kernel(10, 30))
    assert restored.shape == blurred.shape and restored.dtype == np.uint8
    inner = (slice(40, -40), slice(40, -40))  # the edges' replicated border aside
    before = np.abs(cv2.cvtColor(blurred, cv2.COLOR_BGR2GRAY)[inner] - sharp[inner]).mean()
    after = np.abs(restored[..., 0][inner] - sharp[inner]).mean()
    assert after < 0.6 * before
