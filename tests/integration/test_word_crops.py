"""Word crops and what ``auto`` preprocessing may touch (issue 12): a narrow word keeps its last
character, and ``auto``'s enhancement feeds the detector only, so the recogniser reads the
original pixels. Real models, images made here."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from cpuocr import OCR

from rendering import font_path, render_lines, to_bgr


def _squeezed_word(word: str, aspect: float = 1.0) -> np.ndarray:
    """``word`` in black on white, cut tight and squeezed to ``aspect`` (width / height), as a
    scene-word crop often is: narrower than the recogniser's padding floor."""
    path = font_path()
    assert path is not None
    font = ImageFont.truetype(path, 40)
    x0, y0, x1, y1 = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), word, font=font)
    img = Image.new("RGB", (x1 - x0 + 4, y1 - y0 + 8), "white")
    ImageDraw.Draw(img).text((2 - x0, 4 - y0), word, fill="black", font=font)
    bgr = to_bgr(img)
    h = bgr.shape[0]
    return cv2.resize(bgr, (int(h * aspect), h), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("word", ["HEART", "SUSHI", "VILLA", "TOLL", "HOTEL"])
def test_a_narrow_word_keeps_its_last_character(ocr: OCR, word: str) -> None:
    # Squeezed square, these read "HEAR", "SUSH", "VILL", "TOL", "HOTE" when decoding stopped
    # at the word's own width: CTC emits the last character a step after it.
    crop = _squeezed_word(word)
    assert ocr(crop, det=False).text == [word]


def test_auto_enhances_the_detector_input_not_the_crops(ocr: OCR) -> None:
    lines = ["低对比度的扫描页面", "Faded ink on grey paper 2026"]
    page = to_bgr(render_lines(lines, size=28))
    faded = (150 + page.astype(np.float32) / 255.0 * 20).astype(np.uint8)  # grey 150..170
    before = faded.copy()
    assert ocr(faded, preprocess="auto").text == lines
    assert np.array_equal(faded, before)  # the caller's array untouched
    crops = ocr.line_crops(ocr.prepare(faded, "auto"), "auto")
    assert len(crops) == 2
    for crop in crops:
        # Cut from the original pixels (a few levels of interpolation at the edges), not from
        # the CLAHE-stretched page (136..191 for this image).
        assert int(crop.min()) >= 140 and int(crop.max()) <= 176
