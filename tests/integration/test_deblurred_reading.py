"""The deblurred reading (issue 12, degraded pages): a page shaken along one direction is found
blurred and read again deconvolved; a sharp page is not. Real models, pages made here with the
CJK fonts."""

from __future__ import annotations

import dataclasses
import difflib

import numpy as np

from cpuocr import OCR
from cpuocr._engine import deblur

from rendering import motion_blur, render_lines, to_bgr

LINES = [
    "在这个意义上可以说知识产权保护关系到市场经济体制的完善",
    "社会生产力的大解放，关系到科学技术的大发展",
    "国内的大多数田径比赛尚难引起大众的兴趣和关注",
    "此次专项治理工作重点是严厉打击走私",
]


def _wrong(text: str) -> int:
    """Characters of LINES not matched in ``text`` (in order)."""
    want = "".join(LINES)
    matcher = difflib.SequenceMatcher(None, text, want, autojunk=False)
    return len(want) - sum(block.size for block in matcher.get_matching_blocks())


def test_a_shaken_page_is_read_deblurred(ocr: OCR) -> None:
    # Measured here: 19 characters wrong without the deblurred reading, 1 with it.
    page = motion_blur(to_bgr(render_lines(LINES, size=28)), 10, 30)
    without = OCR(config=dataclasses.replace(ocr.config, deblur_below=0.0), stages=ocr.stages)
    first = without(page)
    result = ocr(page)
    assert _wrong("".join(line.text for line in first.lines)) >= 10
    assert _wrong("".join(line.text for line in result.lines)) <= 3
    assert "deblur" in result.timings_ms
    assert len(result.lines) == len(LINES)
    for line in result.lines:  # the boxes are on the page, where the text is
        xs = [x for x, _ in line.box]
        ys = [y for _, y in line.box]
        assert 0 <= min(xs) < max(xs) <= page.shape[1] and 0 <= min(ys) < max(ys) <= page.shape[0]


def test_a_sharp_page_is_not_checked_for_blur(ocr: OCR) -> None:
    result = ocr(to_bgr(render_lines(LINES, size=28)))
    assert "".join(line.text for line in result.lines) == "".join(LINES)
    assert "deblur" not in result.timings_ms  # its lines read at >= 0.995: no estimate


def test_a_shaken_page_over_the_copy_limit_is_read_from_a_smaller_copy(ocr: OCR) -> None:
    # A 1800×1300 page (2.34 MP) is deblurred on a copy scaled to deblur.MAX_PIXELS; the boxes of
    # the reading kept come back in the page's own pixels, on the text. Measured here: 19
    # characters wrong without the deblurred reading, 15 with it.
    text = to_bgr(render_lines(LINES, size=28))
    canvas = np.full((1300, 1800, 3), 255, np.uint8)
    top, left = 500, 400
    canvas[top : top + text.shape[0], left : left + text.shape[1]] = text
    assert canvas.shape[0] * canvas.shape[1] > deblur.MAX_PIXELS
    page = motion_blur(canvas, 10, 30)
    without = OCR(config=dataclasses.replace(ocr.config, deblur_below=0.0), stages=ocr.stages)
    first = without(page)
    result = ocr(page)
    assert (result.width, result.height) == (1800, 1300)
    assert _wrong("".join(ln.text for ln in result.lines)) < _wrong(
        "".join(ln.text for ln in first.lines)
    )
    bottom, right = top + text.shape[0], left + text.shape[1]
    for line in result.lines:
        for x, y in line.box:
            assert left - 10 <= x <= right + 10 and top - 10 <= y <= bottom + 10, line
