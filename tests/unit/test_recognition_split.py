"""Wide-line splitting and merging (cpuocr._engine.recognition): no model.

A line wider than ``max_width`` input pixels is read as overlapping pieces (``_split``); each
piece owns the span between the middles of its overlaps, and ``_merge`` joins the pieces' CTC
outputs, keeping each character read in an overlap once. The pieces are checked here by their
exact bounds, the merge on hand-made token positions, and both together through
``TextRecognizer`` with a stand-in model that "reads" gray levels, so the merged text is known.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cpuocr._engine.recognition import (
    Decoded,
    RecognitionConfig,
    TextRecognizer,
    _join_overlap,
    _merge,
    _Piece,
)

INF = math.inf
LETTERS = "abcdefghijklmnopqrstuvwxyz"
STEP_PX = 8  # input columns per CTC step of the stand-in model (PP-OCR's recogniser: 8 too)
PITCH, INK = 40, 16  # a painted character every 40 crop pixels, 16 wide (two steps)


class GrayReader:
    """A stand-in recognition model: one CTC step per 8 input columns, reading the class its
    darkest column is painted with (class k is gray 4k; white and the batch's zero padding are
    blank), with probability 0.9. A character of 16 columns is read by two or three steps
    wherever it falls, and the 24 columns between characters always hold a blank step. It
    records the width of every batch row it runs."""

    shape_step = 1

    def __init__(self) -> None:
        self.path = Path("gray-reader.onnx")
        self.input_shape: list[Any] = ["n", 3, 48, "w"]
        self.metadata = {"character": "\n".join(LETTERS)}
        self.widths: list[int] = []

    def run(self, batch: np.ndarray) -> np.ndarray:
        n, _, _, width = batch.shape
        self.widths += [width] * n
        steps = width // STEP_PX
        gray = batch[:, 0] * 127.5 + 127.5  # the input scaling undone: 0..255
        columns = gray.mean(axis=1)[:, : steps * STEP_PX]
        blocks = columns.reshape(n, steps, STEP_PX).min(axis=2)
        classes = np.where(blocks > 110, 0, np.rint(blocks / 4)).astype(np.int64)
        n_classes = len(LETTERS) + 2  # blank, the letters, space
        probs = np.full((n, steps, n_classes), 0.1 / (n_classes - 1), np.float32)
        np.put_along_axis(probs, classes[..., None], np.float32(0.9), axis=2)
        return probs


def painted_line(text: str, *, height: int = 48, margin: int = 0) -> np.ndarray:
    """A BGR crop with character i of ``text`` painted as a gray block at x = margin + 40 i."""
    crop = np.full((height, margin + PITCH * len(text) + margin, 3), 255, np.uint8)
    for i, ch in enumerate(text):
        x = margin + PITCH * i
        crop[:, x : x + INK] = 4 * (LETTERS.index(ch) + 1)
    return crop


def recognizer(**options: int) -> tuple[TextRecognizer, GrayReader]:
    model = GrayReader()
    return TextRecognizer(model, RecognitionConfig(**options)), model


def blank(width: int, height: int = 48) -> np.ndarray:
    return np.full((height, width, 3), 255, np.uint8)


# -- _split: the pieces of a wide line ----------------------------------------------------------

#: (crop width, crop height, config) -> [(x0, crop width of the piece, input width, own0, own1)].
#: With the defaults (max_width 1920, overlap 96) at height 48: pieces of 1920, stride 1824; the
#: last piece is shifted left to end at the crop's edge; each cut is the middle of an overlap.
SPLITS = [
    pytest.param(1000, 48, {}, [(0, 1000, 1000, -INF, INF)], id="narrow"),
    pytest.param(1920, 48, {}, [(0, 1920, 1920, -INF, INF)], id="exactly-max-width"),
    # One column over: two pieces overlapping in all but one column, cut in the middle.
    pytest.param(
        1921, 48, {}, [(0, 1920, 1920, -INF, 960.5), (1, 1920, 1920, 960.5, INF)], id="one-over"
    ),
    pytest.param(
        3744,
        48,
        {},
        [(0, 1920, 1920, -INF, 1872.0), (1824, 1920, 1920, 1872.0, INF)],
        id="two-exact",
    ),
    pytest.param(
        5000,
        48,
        {},
        [
            (0, 1920, 1920, -INF, 1872.0),
            (1824, 1920, 1920, 1872.0, 3412.0),  # the last overlap is 3080..3744
            (3080, 1920, 1920, 3412.0, INF),
        ],
        id="three",
    ),
    # Height 24: each crop pixel is two input pixels, so pieces are 960 crop pixels and the
    # overlap 48.
    pytest.param(
        2000,
        24,
        {},
        [
            (0, 960, 1920, -INF, 936.0),
            (912, 960, 1920, 936.0, 1456.0),
            (1040, 960, 1920, 1456.0, INF),
        ],
        id="half-height",
    ),
    # Height 96: half an input pixel per crop pixel; pieces of 3840, overlap 192.
    pytest.param(
        8000,
        96,
        {},
        [
            (0, 3840, 1920, -INF, 3744.0),
            (3648, 3840, 1920, 3744.0, 5824.0),
            (4160, 3840, 1920, 5824.0, INF),
        ],
        id="double-height",
    ),
    pytest.param(
        300,
        48,
        {"max_width": 100, "split_overlap": 20},
        [
            (0, 100, 100, -INF, 90.0),
            (80, 100, 100, 90.0, 170.0),
            (160, 100, 100, 170.0, 230.0),
            (200, 100, 100, 230.0, INF),
        ],
        id="small-config",
    ),
    # An overlap over half a piece is cut to half a piece.
    pytest.param(
        250,
        48,
        {"max_width": 100, "split_overlap": 80},
        [
            (0, 100, 100, -INF, 75.0),
            (50, 100, 100, 75.0, 125.0),
            (100, 100, 100, 125.0, 175.0),
            (150, 100, 100, 175.0, INF),
        ],
        id="overlap-capped",
    ),
]


@pytest.mark.parametrize(("width", "height", "options", "pieces"), SPLITS)
def test_split_pieces(
    width: int, height: int, options: dict[str, int], pieces: list[tuple[Any, ...]]
) -> None:
    rec, _ = recognizer(**options)
    got = rec._split(3, blank(width, height))
    assert [(p.x0, p.image.shape[1], p.width, p.own0, p.own1) for p in got] == pieces
    assert all(p.line == 3 and p.image.shape[0] == height for p in got)


@pytest.mark.parametrize(
    ("width", "height"),
    [(w, h) for w in (1921, 2500, 3744, 3745, 7777, 20000) for h in (17, 32, 48, 61, 100)],
)
def test_split_pieces_cover_the_line_and_own_it_once(width: int, height: int) -> None:
    rec, _ = recognizer()
    cfg = rec.config
    crop = blank(width, height)
    pieces = rec._split(0, crop)
    starts = [int(p.x0) for p in pieces]
    ends = [int(p.x0) + p.image.shape[1] for p in pieces]
    assert starts[0] == 0 and ends[-1] == width
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert all(p.width <= cfg.max_width for p in pieces)
    for p in pieces:  # each piece is the crop's own pixels
        assert np.shares_memory(p.image, crop)
    # Neighbours overlap, and the owned spans tile the line: each cut lies in an overlap.
    assert pieces[0].own0 == -INF and pieces[-1].own1 == INF
    for left, right in itertools.pairwise(pieces):
        assert right.x0 < left.x0 + left.image.shape[1]
        assert left.own1 == right.own0
        assert right.x0 <= left.own1 <= left.x0 + left.image.shape[1]


def test_a_line_up_to_max_width_is_one_piece_of_the_whole_crop() -> None:
    rec, _ = recognizer()
    crop = blank(960, 24)  # 1920 input columns
    (piece,) = rec._split(0, crop)
    assert piece.image is crop and piece.width == 1920


# -- _join_overlap: two neighbours' tokens ------------------------------------------------------

Tokens = list[tuple[float, str]]


@pytest.mark.parametrize(
    ("left", "right", "text"),
    [
        # Both read c and d in the overlap 80..100 (cut at 90): c is the left's, d the right's.
        ([(10, "a"), (50, "b"), (85, "c"), (95, "d")], [(86, "c"), (96, "d"), (120, "e")], "abcde"),
        # Position estimates on either side of the cut, both keeping c: one c.
        ([(10, "a"), (50, "b"), (88, "c")], [(91, "c"), (120, "e")], "abce"),
        # ...both dropping c: one c (the left's).
        ([(10, "a"), (50, "b"), (92, "c")], [(89, "c"), (120, "e")], "abce"),
        # Read by one side only: kept on the side of the cut that owns it, else dropped.
        ([(10, "a"), (85, "x")], [(120, "e")], "axe"),
        ([(10, "a"), (95, "x")], [(120, "e")], "ae"),
        ([(10, "a")], [(85, "x"), (120, "e")], "ae"),
        ([(10, "a")], [(95, "x"), (120, "e")], "axe"),
        # Disagreement in the overlap: past the cut the right's reading wins, before it the left's.
        ([(10, "a"), (95, "c")], [(96, "o"), (120, "e")], "aoe"),
        ([(10, "a"), (85, "c")], [(86, "o"), (120, "e")], "ace"),
        # Repeats align one to one: "aa" in the overlap stays "aa".
        ([(10, "b"), (84, "a"), (94, "a")], [(86, "a"), (96, "a"), (120, "e")], "baae"),
        # Tokens outside the overlap are never aligned: the left's "e" at 70 and the right's at
        # 120 are two characters.
        ([(70, "e"), (85, "c")], [(86, "c"), (120, "e")], "ece"),
        ([], [(86, "c"), (120, "e")], "ce"),
        ([(10, "a"), (85, "c")], [], "ac"),
    ],
)
def test_join_overlap(left: Tokens, right: Tokens, text: str) -> None:
    joined = _join_overlap(left, right, overlap_start=80, overlap_end=100, cut=90)
    assert "".join(ch for _, ch in joined) == text


def test_join_overlap_of_a_run_with_a_partly_read_character_at_the_piece_start() -> None:
    # Truth: x at 70, 90, 110 (overlap 80..120, cut 100). The right piece starts at 80, inside
    # the x at 70, and reads its visible part at 82 besides the two others.
    left = [(70, "x"), (90, "x"), (110, "x")]
    right = [(82, "x"), (90, "x"), (110, "x"), (130, "w")]
    joined = _join_overlap(left, right, overlap_start=80, overlap_end=120, cut=100)
    assert "".join(ch for _, ch in joined) == "xxxw"  # aligned by text alone: "xxxxw"


def test_join_overlap_keeps_the_tokens_positions() -> None:
    joined = _join_overlap([(10, "a"), (85, "c")], [(86, "c"), (96, "d")], 80, 100, 90)
    assert joined == [(10, "a"), (85, "c"), (96, "d")]


# -- _merge: the pieces of each line ------------------------------------------------------------


def piece(line: int, x0: float, width: int, own0: float = -INF, own1: float = INF) -> _Piece:
    return _Piece(line, blank(width), width, x0, own0, own1)


def decoded(score: float, width: int, *tokens: tuple[float, str]) -> Decoded:
    """Tokens at crop positions (piece-relative x), as CTC reports them: fractions of the width."""
    return Decoded(
        "".join(ch for _, ch in tokens),
        score,
        tuple(x / width for x, _ in tokens),
        tuple(ch for _, ch in tokens),
    )


def test_merge_joins_the_pieces_of_a_line_in_order_and_averages_their_scores() -> None:
    # Line 1 in three pieces of 100 at 0, 80 and 160 (cuts at 90 and 170), handed over out of
    # order; line 0 in one piece, passed through as it is.
    single = Decoded("solo", 0.7, (0.5,), ("solo",))
    pieces = [
        piece(1, 160, 100, 170, INF),
        piece(0, 0, 50),
        piece(1, 0, 100, -INF, 90),
        piece(1, 80, 100, 90, 170),
    ]
    results = [
        decoded(0.9, 100, (15, "e"), (60, "f")),  # at 175, 220
        single,
        decoded(0.8, 100, (10, "a"), (50, "b"), (88, "c")),  # at 10, 50, 88
        decoded(0.6, 100, (8, "c"), (30, "d"), (85, "e")),  # at 88, 110, 165
    ]
    merged = _merge(2, pieces, results)
    assert merged[0] is single
    assert merged[1].text == "abcdef"
    assert merged[1].score == pytest.approx((0.8 + 0.6 + 0.9) / 3)
    assert merged[1].positions == () and merged[1].tokens == ()


def test_a_piece_that_read_nothing_does_not_lower_the_score() -> None:
    pieces = [piece(0, 0, 100, -INF, 90), piece(0, 80, 100, 90, INF)]
    results = [decoded(0.8, 100, (10, "a")), Decoded("", 0.0)]
    (merged,) = _merge(1, pieces, results)
    assert merged.text == "a" and merged.score == pytest.approx(0.8)


def test_a_line_of_empty_pieces_is_empty_with_score_zero() -> None:
    pieces = [piece(0, 0, 100, -INF, 90), piece(0, 80, 100, 90, INF)]
    assert _merge(1, pieces, [Decoded("", 0.0), Decoded("", 0.0)]) == [Decoded("", 0.0)]


# -- Both, through TextRecognizer ---------------------------------------------------------------


def text_of(n: int) -> str:
    """n letters with repeats and runs, so the merge's alignment has something to get wrong."""
    pattern = "abcabcaabbzyxxxwq"
    return (pattern * (n // len(pattern) + 1))[:n]


@pytest.mark.parametrize(
    ("n_chars", "margin", "batch_widths"),
    [
        (30, 0, [1200]),  # 1200 columns: one piece
        (48, 0, [1920]),  # exactly max_width
        (48, 3, [1920, 1920]),  # 6 columns over: two pieces
        (100, 0, [1920, 1920, 1920]),  # 4000 columns: pieces at 0, 1824, 2080
        (100, 5, [1920, 1920, 1920]),  # pieces not on the 8-column grid of the characters
        (200, 7, [1920] * 5),
        # A piece starts inside the first x of an "xxx" run and reads it; aligned by text alone
        # (before the same-place rule) the run came out "xxxx".
        (301, 7, [1920] * 7),
    ],
)
def test_a_wide_line_reads_the_same_as_its_text(
    n_chars: int, margin: int, batch_widths: list[int]
) -> None:
    text = text_of(n_chars)
    rec, model = recognizer()
    (result,) = rec([painted_line(text, margin=margin)])
    assert model.widths == batch_widths  # how the line was cut
    assert result.text == text
    assert result.score == pytest.approx(0.9)


def test_split_lines_among_others_keep_their_places() -> None:
    texts = [text_of(100), "abc", text_of(60), "z"]
    rec, model = recognizer()
    results = rec([painted_line(t, margin=4) for t in texts])
    assert [r.text for r in results] == texts
    # "z" and "abc" in one batch 128 wide; the 3 + 2 pieces of the wide lines one by one.
    assert sorted(model.widths) == [128, 128] + [1920] * 5


def test_a_small_max_width_splits_into_many_pieces_with_the_same_text() -> None:
    text = text_of(40)  # 1600 columns
    rec, model = recognizer(max_width=256, split_overlap=64)
    (result,) = rec([painted_line(text, margin=2)])
    assert result.text == text
    assert len(model.widths) == math.ceil((1604 - 64) / (256 - 64))


def test_a_lone_crop_is_padded_to_the_width_asked_for() -> None:
    # OCR(det=False) reads its one crop padded to RecognitionConfig.lone_min_width (224), a
    # page's lines to min_width (96); every step is decoded, the padding's too.
    rec, model = recognizer()
    line = painted_line("abc", margin=4)
    own = line.shape[1]  # painted at the input height
    assert rec.config.min_width <= own < 224
    assert rec([line], min_width=224)[0].text == "abc"
    assert rec([line])[0].text == "abc"
    assert model.widths == [224, own]
