import numpy as np

from cpuocr._engine.assemble import reading_order


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


def test_receipt_prices_stay_with_their_items() -> None:
    items = [box(10, 10 + 40 * i, 300, 40 + 40 * i) for i in range(4)]
    prices = [box(500, 12 + 40 * i, 560, 38 + 40 * i) for i in range(4)]
    order = reading_order(prices + items)
    assert order == [4, 0, 5, 1, 6, 2, 7, 3]


def test_empty_and_single() -> None:
    assert reading_order([]) == []
    assert reading_order([box(0, 0, 5, 5)]) == [0]
