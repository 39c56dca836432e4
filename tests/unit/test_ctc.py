import numpy as np
import pytest

from cpuocr._engine.recognition import ctc_greedy_decode

CHARSET = ["", "a", "b", "c", " "]


def one_hot(indices: list[int], p: float = 0.9) -> np.ndarray:
    m = np.full((len(indices), len(CHARSET)), (1 - p) / (len(CHARSET) - 1), dtype=np.float32)
    for t, i in enumerate(indices):
        m[t, i] = p
    return m


@pytest.mark.parametrize(
    ("steps", "text"),
    [
        ([1, 1, 0, 1, 2, 2, 3], "aabc"),  # a blank between repeats keeps both
        ([1, 1, 1], "a"),  # repeats merge
        ([0, 0, 0], ""),  # only blanks
        ([0, 1, 0, 4, 0, 2], "a b"),  # the space class
        ([3, 0, 3, 3, 0, 0, 3], "ccc"),
    ],
)
def test_decode_text(steps: list[int], text: str) -> None:
    assert ctc_greedy_decode(one_hot(steps), CHARSET, len(steps)).text == text


def test_score_is_mean_of_kept_steps() -> None:
    m = one_hot([1, 0, 2])
    m[0, 1], m[2, 2] = 0.6, 0.8
    d = ctc_greedy_decode(m, CHARSET, 3)
    assert d.text == "ab"
    assert d.score == pytest.approx(0.7)
    assert d.positions == pytest.approx((0.5 / 3, 2.5 / 3))


def test_empty_and_padding_steps() -> None:
    assert ctc_greedy_decode(one_hot([0, 0]), CHARSET, 2).score == 0.0
    # Steps past valid_steps (padding) are not read.
    assert ctc_greedy_decode(one_hot([1, 2, 3, 3]), CHARSET, 2).text == "ab"
