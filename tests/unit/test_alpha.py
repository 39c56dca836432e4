"""Alpha is flattened on a backdrop chosen from the content (white, or black under light ink), and
every array layout a user passes is read or refused clearly. Pure numpy/PIL: no models."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cpuocr._engine import imaging
from cpuocr._engine.imaging import array_to_bgr, choose_backdrop, load_image
from cpuocr.errors import InvalidImage


def _ink(h: int = 60, w: int = 200) -> np.ndarray:
    """A coverage mask (0–255) of a few bars: the strokes of a made-up 'text'."""
    mask = np.zeros((h, w), np.uint8)
    for x in range(10, w - 10, 14):
        mask[15:45, x : x + 5] = 255
        mask[15:45, x + 5 : x + 6] = 128  # an anti-aliased edge
    return mask


def _flat(rgb: np.ndarray, alpha: np.ndarray, backdrop: int) -> np.ndarray:
    """The reference: rgb × a + backdrop × (1 − a), rounded half up, in float64, as BGR."""
    a = alpha[:, :, None].astype(np.float64) / 255.0
    mixed = rgb.astype(np.float64) * a + backdrop * (1.0 - a)
    return np.floor(mixed + 0.5).astype(np.uint8)[:, :, ::-1]


def _rgba(color: int, alpha: np.ndarray) -> np.ndarray:
    rgba = np.zeros((*alpha.shape, 4), np.uint8)
    rgba[:, :, :3] = color
    rgba[:, :, 3] = alpha
    return rgba


# -- the choice -----------------------------------------------------------------------------------


def test_light_visible_content_gets_a_black_backdrop() -> None:
    alpha = _ink()
    assert choose_backdrop(np.full(alpha.shape, 255.0), alpha) == 0
    assert choose_backdrop(np.full(alpha.shape, 200.0), alpha) == 0  # light grey or yellow ink


def test_dark_or_mid_content_keeps_white() -> None:
    alpha = _ink()
    for lightness in (0.0, 76.0, 128.0):  # black, red, mid grey
        assert choose_backdrop(np.full(alpha.shape, lightness), alpha) == 255


def test_light_content_with_dark_ink_of_its_own_keeps_white() -> None:
    """A white page with black text, partly transparent: its own background is white."""
    luma = np.full((100, 100), 255.0)
    luma[40:60, 10:90] = 0.0  # 16% ink
    alpha = np.tile(np.linspace(0, 255, 100).astype(np.uint8)[:, None], (1, 100))
    assert choose_backdrop(luma, alpha) == 255


def test_opaque_and_fully_transparent_samples_keep_white() -> None:
    luma = np.full((10, 10), 255.0)
    assert choose_backdrop(luma, np.full((10, 10), 255, np.uint8)) == 255
    assert choose_backdrop(luma, np.zeros((10, 10), np.uint8)) == 255


# -- every format with alpha ----------------------------------------------------------------------


def _encode(img: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **options)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_white_ink_on_transparency_is_flattened_on_black(fmt: str) -> None:
    rgba = _rgba(255, _ink())
    options = {"lossless": True} if fmt == "WEBP" else {}
    got = load_image(_encode(Image.fromarray(rgba, "RGBA"), fmt, **options))
    assert np.array_equal(got, _flat(rgba[:, :, :3], rgba[:, :, 3], 0))


def test_la_gif_and_palette_transparency_choose_the_backdrop_too() -> None:
    alpha = _ink()
    la = Image.fromarray(np.dstack([np.full_like(alpha, 255), alpha]), "LA")
    expected = _flat(np.full((*alpha.shape, 3), 255, np.uint8), alpha, 0)
    assert np.array_equal(load_image(_encode(la, "PNG")), expected)
    # palette: index 0 transparent, index 1 white
    binary = (alpha == 255).astype(np.uint8)
    pal = Image.fromarray(binary, "P")
    pal.putpalette([0, 0, 0, 255, 255, 255])
    expected = np.where(binary[:, :, None] == 1, 255, 0).astype(np.uint8).repeat(3, axis=2)
    for fmt in ("PNG", "GIF"):
        assert np.array_equal(load_image(_encode(pal, fmt, transparency=0)), expected), fmt


def test_dark_ink_on_transparency_still_goes_on_white() -> None:
    rgba = _rgba(0, _ink())
    got = load_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert np.array_equal(got, _flat(rgba[:, :, :3], rgba[:, :, 3], 255))


def test_the_banded_conversion_uses_one_backdrop_across_band_edges(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imaging, "BAND_PIXELS", 1000)  # many bands
    monkeypatch.setattr(imaging, "SAMPLE_SIDE", 16)  # a coarse pre-pass
    alpha = np.tile(_ink(), (8, 3))
    rgba = _rgba(255, alpha)
    expected = _flat(rgba[:, :, :3], alpha, 0)
    assert np.array_equal(load_image(Image.fromarray(rgba, "RGBA")), expected)
    assert np.array_equal(array_to_bgr(np.ascontiguousarray(rgba[:, :, [2, 1, 0, 3]])), expected)


# -- array layouts --------------------------------------------------------------------------------


def test_every_array_layout_equals_the_gray_image() -> None:
    rng = np.random.default_rng(5)
    gray = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    reference = np.repeat(gray[:, :, None], 3, axis=2)
    opaque = np.full_like(gray, 255)
    layouts = {
        "2-D": gray,
        "H×W×1": gray[:, :, None],
        "H×W×2": np.dstack([gray, opaque]),
        "H×W×3": reference,
        "H×W×4": np.dstack([reference, opaque]),
        "uint16": gray.astype(np.uint16) * 257,
        "float32": gray.astype(np.float32) / 255.0,
        "float64 ×1": (gray.astype(np.float64) / 255.0)[:, :, None],
        "float 0–255": gray.astype(np.float32),
        "fortran": np.asfortranarray(gray),
    }
    for name, arr in layouts.items():
        got = array_to_bgr(arr)
        assert got.shape == reference.shape and got.dtype == np.uint8, name
        assert np.array_equal(got, reference), name


def test_gray_alpha_is_flattened_like_rgba() -> None:
    alpha = _ink()
    ga = np.dstack([np.full_like(alpha, 255), alpha])
    assert np.array_equal(array_to_bgr(ga), _flat(np.full((*alpha.shape, 3), 255), alpha, 0))
    ga = np.dstack([np.zeros_like(alpha), alpha])  # black ink as alpha: the gray image exactly
    assert np.array_equal(array_to_bgr(ga)[:, :, 0], 255 - alpha)


def test_bool_arrays_are_black_and_white() -> None:
    mask = _ink() == 255
    assert np.array_equal(array_to_bgr(mask)[:, :, 1], np.where(mask, 255, 0))


@pytest.mark.parametrize(
    ("arr", "words"),
    [
        (np.zeros(10, np.uint8), "shape"),
        (np.zeros((4, 4, 3, 1), np.uint8), "shape"),
        (np.zeros((0, 4), np.uint8), "shape"),
        (np.zeros((4, 4, 0), np.uint8), "shape"),
        (np.zeros((4, 4, 5), np.uint8), "channels"),
        (np.zeros((4, 4), np.complex64), "dtype"),
        (np.zeros((4, 4), object), "dtype"),
        (np.zeros((4, 4), "U1"), "dtype"),
        (np.full((4, 4), np.nan, np.float32), "NaN"),
        (np.full((4, 4), -0.5, np.float64), "[0, 1]"),
        (np.full((4, 4), 300.0, np.float32), "[0, 1]"),
    ],
)
def test_other_arrays_are_refused_clearly(arr: np.ndarray, words: str) -> None:
    with pytest.raises(InvalidImage, match=words.replace("[", r"\[").replace("]", r"\]")):
        array_to_bgr(arr)
