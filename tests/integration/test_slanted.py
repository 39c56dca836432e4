"""Reading order on a page shot at a slant (issue 12): rendered lines of uneven length, turned
5-15° either way, come out in the order they were written, not in the order of the page's axes
(turned, a long line's middle sinks below a short line under it); and the document layout
(``layout.analyze``) finds the same order and paragraphs as on the upright page."""

from __future__ import annotations

import unicodedata

import cv2
import numpy as np
import pytest

from cpuocr import OCR
from cpuocr._documents.layout import analyze

from rendering import font_path, render_lines, to_bgr

# A sign: Chinese and English, long and short lines, close together.
SIGN = [
    "营业时间 Opening Hours 9:00-21:00",
    "欢迎光临",
    "Welcome to our store, please come in",
    "出口 Exit",
    "请勿吸烟 No Smoking",
]


def squash(line: str) -> str:
    """Whether a space is read between Chinese and Latin varies with the slant: compared without
    whitespace (as in test_rendered.py)."""
    return "".join(unicodedata.normalize("NFKC", line).split())


def rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    """``image`` turned ``degrees`` counter-clockwise (cv2's sense) onto a white canvas large
    enough to hold all of it."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    new_w, new_h = int(np.ceil(w * cos + h * sin)), int(np.ceil(w * sin + h * cos))
    m[0, 2] += (new_w - w) / 2
    m[1, 2] += (new_h - h) / 2
    return cv2.warpAffine(
        image, m, (new_w, new_h), flags=cv2.INTER_CUBIC, borderValue=(255, 255, 255)
    )


@pytest.mark.parametrize("degrees", [-15, -10, -5, 0, 5, 10, 15])
def test_slanted_sign_reads_in_written_order(ocr: OCR, degrees: int) -> None:
    if font_path() is None:
        pytest.skip("no CJK font: apt-get install fonts-noto-cjk fonts-wqy-zenhei")
    page = to_bgr(render_lines(SIGN, spacing=0.3))
    assert [squash(t) for t in ocr(rotated(page, degrees)).text] == [squash(t) for t in SIGN]


@pytest.mark.parametrize("degrees", [-15, -10, -5, 5, 10, 15])
def test_slanted_sign_is_laid_out_as_the_upright_one(ocr: OCR, degrees: int) -> None:
    if font_path() is None:
        pytest.skip("no CJK font: apt-get install fonts-noto-cjk fonts-wqy-zenhei")
    page = to_bgr(render_lines(SIGN, spacing=0.3))

    def layout(image: np.ndarray) -> tuple[list[str], list[list[int]]]:
        ordered, blocks = analyze(ocr(image).lines, image.shape[1], image.shape[0])
        paragraphs = [[len(r.lines) for r in p.rows] for b in blocks for p in b.paragraphs]
        return [squash(line.text) for line in ordered], paragraphs

    text, paragraphs = layout(page)
    assert text == [squash(t) for t in SIGN]
    assert layout(rotated(page, degrees)) == (text, paragraphs)
