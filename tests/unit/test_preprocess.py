"""The ``auto`` preprocessing branches, and that writing in place changes nothing but memory."""

from __future__ import annotations

import numpy as np
import pytest

from cpuocr._engine.preprocess import apply_preprocess, enhance_auto, measure, plan_auto


def _page(background: int, ink: int, seed: int = 0) -> np.ndarray:
    """A 120×200 BGR page: a background level with bars of an ink level and a little noise."""
    rng = np.random.default_rng(seed)
    page = np.full((120, 200, 3), background, np.int16)
    for y in range(20, 100, 20):
        page[y : y + 6, 20:180] = ink
    page += rng.integers(-2, 3, page.shape, dtype=np.int16)
    return np.clip(page, 0, 255).astype(np.uint8)


CLEAN = _page(235, 20)  # high contrast, bright: untouched
LOW_CONTRAST = _page(150, 120)  # CLAHE
DARK = _page(40, 10)  # dark and low contrast: gamma, then CLAHE
DARK_CONTRASTY = np.where(_page(0, 255) > 128, 200, 5).astype(np.uint8)  # dark, contrasty: gamma


def test_the_measurements_put_each_page_in_its_branch() -> None:
    assert measure(CLEAN).contrast >= 25 and measure(CLEAN).brightness >= 60
    assert measure(LOW_CONTRAST).contrast < 25 <= 60 <= measure(LOW_CONTRAST).brightness
    assert measure(DARK).brightness < 60 and measure(DARK).contrast < 25
    stats = measure(DARK_CONTRASTY)
    assert stats.brightness < 60 and stats.contrast >= 25


@pytest.mark.parametrize(
    ("page", "gamma", "clahe", "words"),
    [
        (CLEAN, False, False, ["unchanged: clean enough"]),
        (LOW_CONTRAST, False, True, ["CLAHE on lightness: low contrast"]),
        (DARK, True, True, ["gamma 0.6: dark", "CLAHE on lightness"]),
        (DARK_CONTRASTY, True, False, ["gamma 0.6: dark"]),
    ],
    ids=["clean", "low", "dark", "gamma"],
)
def test_the_plan_says_what_auto_does_and_why(
    page: np.ndarray, gamma: bool, clahe: bool, words: list[str]
) -> None:
    plan = plan_auto(page)
    assert (plan.gamma, plan.clahe) == (gamma, clahe)
    actions = plan.actions()
    assert len(actions) == len(words)
    for action, start in zip(actions, words, strict=True):
        assert action.startswith(start)
    # the plan is what enhance_auto does: untouched exactly when nothing is planned
    assert (enhance_auto(page) is page) == (not gamma and not clahe)


def test_a_clean_page_passes_through_as_the_same_object() -> None:
    assert enhance_auto(CLEAN) is CLEAN
    assert apply_preprocess(CLEAN, "none") is CLEAN


@pytest.mark.parametrize("page", [LOW_CONTRAST, DARK, DARK_CONTRASTY], ids=["low", "dark", "gamma"])
def test_enhancement_raises_contrast_or_light_and_in_place_gives_the_same_pixels(
    page: np.ndarray,
) -> None:
    before = page.copy()
    copied = enhance_auto(page)
    np.testing.assert_array_equal(page, before)  # the caller's image is not written to
    assert copied is not page
    after, original = measure(copied), measure(page)
    assert after.contrast > original.contrast or after.brightness > original.brightness
    own = page.copy()
    in_place = enhance_auto(own, inplace=True)
    assert in_place is own  # no second image
    np.testing.assert_array_equal(in_place, copied)


def test_classic_gives_a_binary_bgr_image_of_the_same_size() -> None:
    out = apply_preprocess(LOW_CONTRAST, "classic")
    assert out.shape == LOW_CONTRAST.shape
    assert set(np.unique(out)) <= {0, 255}
