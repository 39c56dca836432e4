import numpy as np
import pytest

from cpuocr._engine.assemble import reading_order, text_angle
from cpuocr._engine.geometry import order_quad


def box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def test_rows_then_left_to_right() -> None:
    boxes = [box(300, 12, 400, 42), box(10, 10, 200, 40), box(10, 60, 200, 90)]
    assert reading_order(boxes) == [1, 0, 2]


def test_slightly_skewed_row_stays_one_row() -> None:
    boxes = [box(210, 18, 400, 48), box(10, 10, 200, 40)]
    assert reading_order(boxes) == [1, 0]


def test_two_text_columns_read_one_after_the_other() -> None:
    left = [box(10, 100 + 40 * i, 390, 130 + 40 * i) for i in range(5)]
    right = [box(450, 100 + 40 * i, 830, 130 + 40 * i) for i in range(5)]
    title = [box(10, 20, 830, 60)]
    boxes = right + title + left  # shuffled input
    order = reading_order(boxes)
    assert order == [5, 6, 7, 8, 9, 10, 0, 1, 2, 3, 4]


def test_a_narrow_strip_beside_the_columns_does_not_stop_the_gutter() -> None:
    # A two-page spread (OmniDocBench odb_00): a folio number in a strip of its own at the right
    # edge makes a narrow gap of its own; the wide gutter between the pages still cuts.
    left = [box(10, 100 + 40 * i, 390, 130 + 40 * i) for i in range(5)]
    right = [box(450, 100 + 40 * i, 800, 130 + 40 * i) for i in range(5)]
    folio = [box(820, 300, 840, 330), box(820, 20, 840, 50)]
    order = reading_order(right + folio + left)
    assert order[:5] == [7, 8, 9, 10, 11]  # the left page first, top to bottom
    assert [i for i in order if i < 5] == [0, 1, 2, 3, 4]


def test_receipt_prices_stay_with_their_items() -> None:
    items = [box(10, 10 + 40 * i, 300, 40 + 40 * i) for i in range(4)]
    prices = [box(500, 12 + 40 * i, 560, 38 + 40 * i) for i in range(4)]
    order = reading_order(prices + items)
    assert order == [4, 0, 5, 1, 6, 2, 7, 3]


def test_empty_and_single() -> None:
    assert reading_order([]) == []
    assert reading_order([box(0, 0, 5, 5)]) == [0]


# Slanted pages (a sign or a receipt photographed at an angle): the order is the text's own.

SLANTS = [-15.0, -10.0, -5.0, 5.0, 10.0, 15.0]


def turned(quads: list[np.ndarray], degrees: float) -> list[np.ndarray]:
    """``quads`` turned ``degrees`` (image axes, y down: positive turns lines down to the right)
    about (500, 500), each ordered as the detector orders its boxes."""
    t = np.deg2rad(degrees)
    m = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    centre = np.array([500.0, 500.0])
    return [order_quad(((q - centre) @ m.T + centre).astype(np.float32)) for q in quads]


def shuffled(n: int) -> list[int]:
    return [int(i) for i in np.random.default_rng(n).permutation(n)]


# Left-aligned lines of uneven length, as on a sign: turned, a long line's middle sits lower (or
# higher) on the page than a short line's under it.
PARAGRAPH = [
    box(100, 100 + 40 * i, 100 + w, 130 + 40 * i)
    for i, w in enumerate((600, 250, 580, 120, 500, 300))
]


@pytest.mark.parametrize("degrees", SLANTS)
def test_slanted_paragraph_reads_line_by_line(degrees: float) -> None:
    perm = shuffled(len(PARAGRAPH))
    quads = turned([PARAGRAPH[i] for i in perm], degrees)
    assert [perm[i] for i in reading_order(quads)] == list(range(len(PARAGRAPH)))


@pytest.mark.parametrize("degrees", SLANTS)
def test_slanted_columns_read_one_after_the_other(degrees: float) -> None:
    title = [box(10, 20, 830, 60)]
    left = [box(10, 100 + 40 * i, 390 - 40 * (i % 2), 130 + 40 * i) for i in range(5)]
    right = [box(450, 100 + 40 * i, 830 - 60 * (i % 3), 130 + 40 * i) for i in range(5)]
    page = title + left + right  # in reading order
    perm = shuffled(len(page))
    quads = turned([page[i] for i in perm], degrees)
    assert [perm[i] for i in reading_order(quads)] == list(range(len(page)))


@pytest.mark.parametrize("degrees", SLANTS)
def test_slanted_receipt_rows_keep_their_prices(degrees: float) -> None:
    items = [box(10, 10 + 40 * i, 300 - 30 * i, 40 + 40 * i) for i in range(4)]
    prices = [box(500, 12 + 40 * i, 560, 38 + 40 * i) for i in range(4)]
    order = reading_order(turned(prices + items, degrees))
    assert order == [4, 0, 5, 1, 6, 2, 7, 3]


@pytest.mark.parametrize("degrees", SLANTS)
def test_text_angle_is_the_lines_angle(degrees: float) -> None:
    assert text_angle(turned(PARAGRAPH, degrees)) == pytest.approx(degrees, abs=0.1)


def test_text_angle_needs_lines_to_trust() -> None:
    assert text_angle([]) == 0.0
    assert text_angle(turned(PARAGRAPH[:1], 10.0)) == 0.0  # one line is no frame
    squares = [box(100 * i, 0, 100 * i + 40, 40) for i in range(5)]  # single characters
    assert text_angle(turned(squares, 10.0)) == 0.0
    assert text_angle(turned(PARAGRAPH, 1.5)) == pytest.approx(1.5, abs=0.1)  # a crooked scan
    assert text_angle(turned(PARAGRAPH, 0.3)) == 0.0  # below MIN_SKEW: the page's own axes
    # A stray vertical label does not vote; a minority of lines at another angle is outvoted.
    stray = [box(900, 100, 930, 400)]
    other = turned(PARAGRAPH[3:4], -20.0)
    assert text_angle(turned(PARAGRAPH + stray, 8.0) + other) == pytest.approx(8.0, abs=0.1)


def test_upright_pages_are_not_turned() -> None:
    # Lines a hair off level (under MIN_SKEW) keep the page's axes, exactly as before.
    quads = turned(PARAGRAPH, 0.3)
    assert text_angle(quads) == 0.0
    assert reading_order(quads) == list(range(len(PARAGRAPH)))
