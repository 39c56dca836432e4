"""Inputs that used to come back wrong or empty: light text on transparency, every array layout,
a single line upside down read without detection (issue 12, items 1–3). Real models, images made
here."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cpuocr import OCR
from cpuocr.errors import InvalidImage

from rendering import render_lines, to_bgr

LINES = [f"第{i + 1}行 line number {i + 1} 测试" for i in range(15)]


def _texts(ocr: OCR, source: object, **options: object) -> list[str]:
    return [line.text for line in ocr(source, **options).lines]  # type: ignore[arg-type]


def _white_on_transparent(text: str) -> np.ndarray:
    """RGBA: white characters, the anti-aliasing in alpha, a transparent (black, 0) background."""
    gray = np.asarray(render_lines([text]).convert("L"))
    rgba = np.zeros((*gray.shape, 4), np.uint8)
    rgba[:, :, :3] = 255
    rgba[:, :, 3] = 255 - gray
    return rgba


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_white_text_on_a_transparent_file_is_read(ocr: OCR, fmt: str) -> None:
    text = "White text 透明背景 2026"
    out = io.BytesIO()
    options = {"lossless": True} if fmt == "WEBP" else {}
    Image.fromarray(_white_on_transparent(text), "RGBA").save(out, format=fmt, **options)
    assert _texts(ocr, out.getvalue()) == [text]


def test_white_text_on_a_transparent_array_is_read(ocr: OCR) -> None:
    text = "White text 透明背景 2026"
    rgba = _white_on_transparent(text)
    assert _texts(ocr, np.ascontiguousarray(rgba[:, :, [2, 1, 0, 3]])) == [text]  # BGRA
    assert _texts(ocr, np.ascontiguousarray(rgba[:, :, [0, 3]])) == [text]  # gray + alpha


def test_dark_text_on_transparency_is_still_read(ocr: OCR) -> None:
    text = "Dark text 透明背景 42"
    rgba = _white_on_transparent(text)
    rgba[:, :, :3] = 0
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="PNG")
    assert _texts(ocr, out.getvalue()) == [text]


def test_every_array_layout_reads_like_the_gray_image(ocr: OCR) -> None:
    gray = np.asarray(render_lines(LINES).convert("L"))
    reference = _texts(ocr, gray)
    assert reference == LINES
    bgr = np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    opaque = np.full_like(gray, 255)
    layouts = {
        "H×W×1": gray[:, :, None],
        "H×W×2 opaque": np.dstack([gray, opaque]),
        "H×W×2 ink as alpha": np.dstack([np.zeros_like(gray), 255 - gray]),
        "H×W×3": bgr,
        "H×W×4": np.dstack([bgr, opaque]),
        "uint16": gray.astype(np.uint16) * 257,
        "uint16 H×W×1": (gray.astype(np.uint16) * 257)[:, :, None],
        "float32 in [0, 1]": gray.astype(np.float32) / 255.0,
        "float64 in [0, 1] H×W×3": bgr.astype(np.float64) / 255.0,
    }
    for name, arr in layouts.items():
        assert _texts(ocr, arr) == reference, name
    assert _texts(ocr, gray > 128) == _texts(ocr, np.where(gray > 128, 255, 0).astype(np.uint8))


def test_arrays_that_are_not_images_are_refused(ocr: OCR) -> None:
    for arr in (
        np.zeros((4, 4, 5), np.uint8),
        np.zeros((4, 4, 3, 1), np.uint8),
        np.zeros((4, 4), np.complex128),
        np.zeros((0, 4, 3), np.uint8),
        np.full((4, 4), 2000.0),
    ):
        with pytest.raises(InvalidImage):
            ocr(arr)


@pytest.mark.parametrize("text", ["Upside down line 12345", "倒置的一行文字 2024", "INVOICE 42"])
def test_a_single_line_upside_down_is_read_without_detection(ocr: OCR, text: str) -> None:
    line = to_bgr(render_lines([text], margin=6, spacing=0.3))
    assert _texts(ocr, line, det=False) == [text]  # upright: unchanged
    turned = np.ascontiguousarray(line[::-1, ::-1])
    result = ocr(turned, det=False)
    assert [ln.text for ln in result.lines] == [text]
    chars = result.lines[0].chars
    if chars:  # read turned: the first character sits at the crop's far (right) end
        assert chars[0].start > chars[-1].start


def test_a_loose_upside_down_crop_is_read_on_the_second_try(ocr: OCR) -> None:
    """Wide margins leave the classifier unsure: the empty or weak reading is retried turned."""
    text = "Hello world 12345"
    line = to_bgr(render_lines([text], margin=24))
    upright = _texts(ocr, line, det=False)
    assert _texts(ocr, np.ascontiguousarray(line[::-1, ::-1]), det=False) == upright


def test_a_surely_read_lone_line_skips_the_orientation_check(ocr: OCR) -> None:
    """A line read at OrientationConfig.sure_above or better is not sent to the classifier (it
    costs a model call a crop); a turned one, read unsurely, is, and comes back the right way."""
    assert ocr.classifier is not None
    text = "INVOICE 42"
    line = to_bgr(render_lines([text], margin=6, spacing=0.3))
    calls: list[int] = []
    classify = ocr.classifier.line_may_be_upside_down

    def counted(crop: np.ndarray) -> bool:
        calls.append(1)
        return classify(crop)

    ocr.classifier.line_may_be_upside_down = counted  # type: ignore[method-assign]
    try:
        upright = ocr(line, det=False).lines
        assert [ln.text for ln in upright] == [text]
        assert upright[0].score >= ocr.config.orientation.sure_above and not calls
        turned = ocr(np.ascontiguousarray(line[::-1, ::-1]), det=False).lines
        assert [ln.text for ln in turned] == [text]
    finally:
        del ocr.classifier.line_may_be_upside_down
