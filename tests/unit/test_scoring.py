"""Benchmark scoring on exact values: normalisation, edit distance, CER, F1, region CER, split."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import scoring
from benchmarks.datasets import LineItem, in_calibration_slice, split_items
from benchmarks.scoring import (
    aggregate_lines,
    as_quad,
    char_f1,
    drop_ignored,
    edit_distance,
    intersection_area,
    normalize,
    polygon_area,
    reading_order,
    region_score,
    score_line,
    score_page,
)


def rect(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    """A flat 8-number box, as in labels.jsonl."""
    return [x0, y0, x1, y0, x1, y1, x0, y1]


@pytest.mark.parametrize(
    ("text", "fold", "expected"),
    [
        ("  a b\tc\n", False, "abc"),
        ("a\u3000b", False, "ab"),  # ideographic space is whitespace
        ("ＡＢＣ１２３", False, "ABC123"),  # NFKC folds full-width forms
        ("中文，测试。", False, "中文,测试。"),
        ("ﬁ ①", False, "fi1"),
        ("Hello, World!", False, "Hello,World!"),
        ("Hello, World!", True, "helloworld"),
        ("Ｈｅｌｌｏ，Ｗｏｒｌｄ！", True, "helloworld"),
        ("CONTRACTOR'S", True, "contractors"),
        ("中文，测试。", True, "中文测试"),
        ("Straße", True, "strasse"),
        ("TEL : 07-386 7524", True, "tel073867524"),
        ("", True, ""),
    ],
)
def test_normalize(text: str, fold: bool, expected: str) -> None:
    assert normalize(text, fold) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("", "", 0),
        ("abc", "", 3),
        ("", "abc", 3),
        ("abc", "abc", 0),
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        ("abc", "cba", 2),
        ("中文识别", "中文识字", 1),
        ("中文识别", "文识别", 1),
        ("a" * 100, "b" * 100, 100),  # long enough for the numpy path
        ("ab" * 50, "ba" * 50, 2),
        ("x" + "中" * 80, "中" * 80 + "y", 2),
    ],
)
def test_edit_distance(a: str, b: str, expected: int) -> None:
    assert edit_distance(a, b) == expected
    assert edit_distance(b, a) == expected


@given(st.text(alphabet="ab中c", max_size=70), st.text(alphabet="ab中c", max_size=70))
def test_edit_distance_paths_agree(a: str, b: str) -> None:
    if a and b:
        assert scoring._edit_distance_numpy(a, b) == scoring._edit_distance_python(a, b)


def test_line_scores_sum_errors_over_label_chars() -> None:
    scores = [
        score_line("abc", "abc"),
        score_line("abd", "abc"),
        score_line("x", "xyz"),
        score_line("Hello!", "HELLO", fold=True),
    ]
    assert [(s.errors, s.label_chars, s.exact) for s in scores] == [
        (0, 3, True),
        (1, 3, False),
        (2, 3, False),
        (0, 5, True),
    ]
    total = aggregate_lines(scores)
    assert (total.items, total.errors, total.label_chars, total.exact) == (4, 3, 14, 2)
    assert total.cer == pytest.approx(3 / 14)
    assert total.exact_match == pytest.approx(0.5)


def test_empty_line_set() -> None:
    total = aggregate_lines([])
    assert (total.cer, total.exact_match) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("predictions", "labels", "fold", "expected"),
    [
        (["ab"], ["ab"], False, 1.0),
        ([], [], False, 1.0),
        (["abc"], [], False, 0.0),
        ([], ["abc"], False, 0.0),
        (["aab"], ["ab"], False, 0.8),  # matched 2 of 3 + 2 characters
        (["ba", "c"], ["abc"], False, 1.0),  # order-free
        (["a b"], ["ab"], False, 1.0),
        (["xy"], ["ab"], False, 0.0),
        (["中文识别"], ["中文", "识字"], False, 0.75),
        (["total: 5"], ["TOTAL 5"], True, 1.0),
    ],
)
def test_char_f1(predictions: list[str], labels: list[str], fold: bool, expected: float) -> None:
    assert char_f1(predictions, labels, fold) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        (rect(0, 0, 2, 2), 4.0),
        ([[0, 0], [4, 0], [4, 3], [0, 3]], 12.0),
        ([1, -1, 3, 1, 1, 3, -1, 1], 8.0),  # a diamond
        ([0, 0, 2, 0, 2, 0, 0, 0], 0.0),  # degenerate
    ],
)
def test_polygon_area(box: list[float] | list[list[float]], expected: float) -> None:
    assert polygon_area(as_quad(box)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (rect(0, 0, 2, 2), rect(1, 1, 3, 3), 1.0),
        (rect(0, 0, 2, 2), rect(5, 5, 6, 6), 0.0),
        (rect(0, 0, 2, 2), rect(2, 0, 4, 2), 0.0),  # touching edges
        (rect(0, 0, 2, 2), [0, 2, 2, 2, 2, 0, 0, 0], 4.0),  # same box, clockwise order
        (rect(0, 0, 2, 2), [1, -1, 3, 1, 1, 3, -1, 1], 4.0),  # square inside a diamond
        (rect(0, 0, 4, 4), [2, 0, 4, 2, 2, 4, 0, 2], 8.0),  # diamond inside a square
        (rect(0, 0, 10, 10), [5, -5, 10, 0, 5, 5, 0, 0], 25.0),  # rotated box, half inside
    ],
)
def test_intersection_area(a: list[float], b: list[float], expected: float) -> None:
    assert intersection_area(a, b) == pytest.approx(expected)
    assert intersection_area(b, a) == pytest.approx(expected)


def test_as_quad_rejects_wrong_sizes() -> None:
    with pytest.raises(ValueError, match="4 points"):
        as_quad([0, 0, 1, 1])


@pytest.mark.parametrize(
    ("boxes", "expected"),
    [
        # second row below, first row given right-to-left
        ([rect(100, 0, 150, 10), rect(0, 0, 50, 10), rect(50, 12, 90, 22)], [1, 0, 2]),
        # centres 3 px apart with 10 px lines: one row, so left to right
        ([rect(60, 3, 90, 13), rect(0, 0, 50, 10)], [1, 0]),
        # centres 6 px apart: more than half a line, two rows
        ([rect(0, 6, 50, 16), rect(60, 0, 90, 10)], [1, 0]),
        ([], []),
    ],
)
def test_reading_order(boxes: list[list[float]], expected: list[int]) -> None:
    assert reading_order(boxes) == expected


HELLO = ("hello", rect(0, 0, 50, 10))
WORLD = ("world", rect(60, 0, 110, 10))


@pytest.mark.parametrize(
    ("predictions", "labels", "expected"),
    [
        # identical lines
        ([HELLO, WORLD], [HELLO, WORLD], (0, 10)),
        # one prediction spanning two labels (merged line)
        ([("helloworld", rect(0, 0, 110, 10))], [HELLO, WORLD], (0, 10)),
        # two predictions for one label (split line), listed out of order
        ([WORLD, HELLO], [("helloworld", rect(0, 0, 110, 10))], (0, 10)),
        # one prediction over two labelled rows: labels joined top to bottom
        (
            [("abcd", rect(0, 0, 20, 22))],
            [("ab", rect(0, 0, 20, 10)), ("cd", rect(0, 12, 20, 22))],
            (0, 4),
        ),
        # a substitution
        ([("abd", rect(0, 0, 30, 10))], [("abc", rect(0, 0, 30, 10))], (1, 3)),
        # a label nothing touches is wholly missed
        (
            [("abc", rect(0, 0, 30, 10))],
            [("abc", rect(0, 0, 30, 10)), ("def", rect(0, 100, 30, 110))],
            (3, 6),
        ),
        # a prediction touching no label is left to F1
        ([HELLO, ("zzz", rect(500, 500, 530, 510))], [HELLO], (0, 5)),
        # overlap 100 px² < 30% of the smaller (label) area 1000 px²: not linked
        ([("x", rect(90, 0, 200, 10))], [("abcdefghij", rect(0, 0, 100, 10))], (10, 10)),
        # overlap 400 px² > 300 px²: linked, x replaces 10 characters
        ([("x", rect(60, 0, 160, 10))], [("abcdefghij", rect(0, 0, 100, 10))], (10, 10)),
        ([("abcdefghij", rect(60, 0, 160, 10))], [("abcdefghij", rect(0, 0, 100, 10))], (0, 10)),
        # no predictions at all
        ([], [HELLO, WORLD], (10, 10)),
    ],
)
def test_region_score(
    predictions: list[tuple[str, list[float]]],
    labels: list[tuple[str, list[float]]],
    expected: tuple[int, int],
) -> None:
    score = region_score(predictions, labels)
    assert (score.errors, score.label_chars) == expected


def test_region_score_folds_case() -> None:
    score = region_score(
        [("Total: 5", rect(0, 0, 80, 10))], [("TOTAL 5", rect(0, 0, 80, 10))], True
    )
    assert (score.errors, score.label_chars, score.cer) == (0, 6, 0.0)


def test_region_scores_add_up() -> None:
    total = scoring.RegionScore(2, 10) + scoring.RegionScore(1, 20)
    assert (total.errors, total.label_chars) == (3, 30)
    assert total.cer == pytest.approx(0.1)


def test_drop_ignored_needs_more_than_half_inside() -> None:
    ignore = [rect(10, 0, 100, 10)]
    inside = ("table", rect(20, 0, 60, 10))
    half = ("half", rect(0, 0, 20, 10))  # exactly half inside: kept
    mostly = ("mostly", rect(5, 0, 25, 10))  # 75% inside: dropped
    outside = ("ok", rect(0, 50, 40, 60))
    kept = drop_ignored([inside, half, mostly, outside], ignore)
    assert [text for text, _ in kept] == ["half", "ok"]
    assert drop_ignored([inside], []) == [inside]


def test_score_page_drops_ignored_predictions_from_both_figures() -> None:
    predictions = [("tabletext", rect(0, 100, 200, 200)), ("ok", rect(0, 0, 40, 10))]
    page = score_page(predictions, ["ok"], [rect(0, 0, 40, 10)], False, [rect(0, 90, 210, 210)])
    assert page.f1 == 1.0
    assert page.region is not None
    assert (page.region.errors, page.region.label_chars) == (0, 2)


def test_score_page_without_boxes_has_f1_only() -> None:
    page = score_page([("ab", rect(0, 0, 10, 10))], ["abcd"], None)
    assert page.f1 == pytest.approx(2 / 3)
    assert page.region is None


def test_score_page_rejects_mismatched_labels() -> None:
    with pytest.raises(ValueError, match="label boxes"):
        score_page([], ["a", "b"], [rect(0, 0, 1, 1)])


def test_calibration_split_is_fixed_and_disjoint() -> None:
    items = [LineItem("s", Path(f"/data/s/images/{i}.png"), "t") for i in range(1000)]
    calib, score = split_items(items, "calib"), split_items(items, "score")
    assert len(calib) + len(score) == 1000
    assert not {i.key for i in calib} & {i.key for i in score}
    assert 150 <= len(calib) <= 250
    assert split_items(items, "all") == items
    assert split_items(items, "calib") == calib
    # the slice depends on the set name and the image path alone
    keys = [f"iiit5k_words_en/images/iiit5k_{i}.png" for i in range(10)]
    assert [in_calibration_slice(k) for k in keys] == [
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        False,
    ]
