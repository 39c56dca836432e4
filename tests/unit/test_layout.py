"""Page layout on hand-made line boxes: blocks and their reading order (columns, titles,
sidebars, spreads, vertical Chinese), rows, paragraphs and their text; and the character
positions lines carry (from CTC spans, through the pipeline's stripping and page flips)."""

from __future__ import annotations

import numpy as np
import pytest

from cpuocr._documents.layout import LIST_ITEM, analyze, join_lines, paragraph_text, row_text
from cpuocr._documents.model import Block, Paragraph, Row
from cpuocr._engine.geometry import order_quad
from cpuocr._engine.pipeline import line_chars
from cpuocr._engine.recognition import Decoded, ctc_greedy_decode, token_spans
from cpuocr._types import Char, Line


def line(text: str, x0: float, y0: float, x1: float, y1: float, **kw: object) -> Line:
    return Line(text, 0.9, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)), **kw)  # type: ignore[arg-type]


def column(tag: str, x0: float, x1: float, y0: float, n: int, step: float = 40, h: float = 28):
    return [line(f"{tag}{i}", x0, y0 + step * i, x1, y0 + step * i + h) for i in range(n)]


def texts(lines: tuple[Line, ...]) -> list[str]:
    return [ln.text for ln in lines]


def shuffled(lines: list[Line]) -> list[Line]:
    order = np.random.default_rng(0).permutation(len(lines))
    return [lines[i] for i in order]


# -- blocks and reading order -------------------------------------------------------------------


def test_two_columns_under_a_spanning_title() -> None:
    title = [line("T", 20, 20, 980, 70)]
    left = column("L", 20, 480, 100, 8)
    right = column("R", 520, 980, 100, 8)
    ordered, blocks = analyze(shuffled(title + left + right), 1000, 500)
    assert texts(ordered) == texts(tuple(title + left + right))
    assert len(blocks[0].paragraphs) == 1
    assert blocks[0].paragraphs[0].kind == "title"
    assert [
        texts(tuple(ln for p in b.paragraphs for r in p.rows for ln in r.lines)) for b in blocks[1:]
    ] == [
        texts(tuple(left)),
        texts(tuple(right)),
    ]


def test_five_columns_with_a_headline_over_the_first_three() -> None:
    headline = [line("H", 20, 20, 580, 80)]
    cols = [column(f"C{c}", 20 + 200 * c, 200 + 200 * c, 110, 12, step=30, h=20) for c in range(3)]
    # Columns 4 and 5: another article, from the top of the page.
    cols += [column(f"C{c}", 20 + 200 * c, 200 + 200 * c, 20, 15, step=30, h=20) for c in (3, 4)]
    ordered, blocks = analyze(shuffled(headline + [ln for c in cols for ln in c]), 1000, 500)
    expected = ["H"] + [ln.text for c in cols for ln in c]
    assert texts(ordered) == expected
    assert len(blocks) == 6


def test_a_sidebar_is_read_after_the_main_column() -> None:
    main = column("M", 20, 700, 20, 15)
    side = column("S", 740, 980, 40, 5, step=30, h=20)
    ordered, blocks = analyze(shuffled(side + main), 1000, 700)
    assert texts(ordered) == texts(tuple(main + side))
    assert len(blocks) == 2


def test_a_two_page_spread_is_read_page_by_page() -> None:
    def page(tag: str, x0: float) -> list[Line]:
        head = [line(f"{tag}-title", x0 + 300, 20, x0 + 700, 70)]
        body = column(tag, x0 + 40, x0 + 960, 100, 12)
        number = [line(f"{tag}-page", x0 + 480, 620, x0 + 520, 645)]
        return head + body + number

    left, right = page("A", 0), page("B", 1050)
    ordered, _ = analyze(shuffled(right + left), 2100, 700)
    assert texts(ordered) == texts(tuple(left + right))


def test_vertical_chinese_columns_are_read_right_to_left() -> None:
    cols = [line(f"竖{i}", 500 - 60 * i, 20, 540 - 60 * i, 420) for i in range(4)]
    ordered, blocks = analyze(shuffled(cols), 600, 450)
    assert texts(ordered) == [f"竖{i}" for i in range(4)]
    assert all(b.vertical for b in blocks)
    assert paragraph_text(blocks[0].paragraphs[0]).startswith("竖0竖1")


def test_a_page_read_upside_down_is_ordered_from_its_top() -> None:
    # Characters running back toward box[0]: the engine read these lines turned 180°.
    back = (Char("a", 0.9, 1.0), Char("b", 0.0, 0.1))
    lines = [line(f"{i}", 20, 400 - 40 * i, 480, 428 - 40 * i, chars=back) for i in range(5)]
    ordered, _ = analyze(shuffled(lines), 500, 450)
    assert texts(ordered) == [f"{i}" for i in range(5)]


def test_empty_and_single_line() -> None:
    assert analyze([], 100, 100) == ((), ())
    one = line("x", 10, 10, 50, 30)
    ordered, blocks = analyze([one], 100, 100)
    assert ordered == (one,) and blocks[0].box == (10, 10, 50, 30)


# -- rows ---------------------------------------------------------------------------------------


def test_a_receipt_row_is_one_row_left_to_right() -> None:
    cells = [
        line("15.00", 400, 101, 480, 129),
        line("8239", 20, 100, 90, 128),
        line("1", 250, 102, 262, 128),
        line("GB", 150, 100, 190, 129),
    ]
    other = [line("TOTAL", 20, 140, 120, 168), line("15.00", 400, 141, 480, 169)]
    ordered, blocks = analyze(cells + other, 500, 200)
    rows = [r for b in blocks for p in b.paragraphs for r in p.rows]
    assert row_text(rows[0]) == "8239\tGB\t1\t15.00"
    assert row_text(rows[1]) == "TOTAL\t15.00"
    assert [len(r.lines) for r in rows] == [4, 2]
    assert texts(ordered) == ["8239", "GB", "1", "15.00", "TOTAL", "15.00"]


def test_receipt_prices_stay_with_their_items() -> None:
    items = [line(f"item {i}", 10, 10 + 40 * i, 300, 40 + 40 * i) for i in range(4)]
    prices = [line(f"{i}.00", 500, 12 + 40 * i, 560, 38 + 40 * i) for i in range(4)]
    ordered, blocks = analyze(prices + items, 600, 200)
    assert texts(ordered) == [t for i in range(4) for t in (f"item {i}", f"{i}.00")]
    (para,) = [p for b in blocks for p in b.paragraphs]
    assert paragraph_text(para) == "\n".join(f"item {i}\t{i}.00" for i in range(4))


# -- paragraphs ---------------------------------------------------------------------------------


def test_paragraphs_split_by_indent_and_a_short_last_line() -> None:
    rows = [
        line("First paragraph starts", 60, 0, 980, 28),
        line("and goes on over a full", 20, 40, 980, 68),
        line("line, then ends.", 20, 80, 400, 108),
        line("Second one starts indented", 60, 120, 980, 148),
        line("and is full to the end", 20, 160, 980, 188),
        line("of the block.", 20, 200, 980, 228),
        line("Third has no indent but the line above was full", 20, 240, 980, 268),
    ]
    _, (block,) = analyze(rows, 1000, 300)
    got = [paragraph_text(p) for p in block.paragraphs]
    assert got == [
        "First paragraph starts and goes on over a full line, then ends.",
        "Second one starts indented and is full to the end of the block. "
        "Third has no indent but the line above was full",
    ]


def test_list_items_start_paragraphs_and_keep_their_wrapped_rows() -> None:
    # A bulleted list after a full line, and a hanging indent: an item's second row sits under
    # its text (indented), which is not a new paragraph's first-line indent.
    rows = [
        line("The product is easy to learn and its features include:", 20, 0, 980, 28),
        line("\u2022 Operation like a tape recorder, with PLAY, STOP and", 20, 40, 980, 68),
        line("RECORD controls.", 50, 80, 400, 108),
        line("\u2022 One hundred sequences of thirty-two tracks each, all", 20, 120, 980, 148),
        line("of them polyphonic and assignable to any MIDI channel.", 50, 160, 980, 188),
        line("1. A numbered item", 20, 200, 500, 228),
        line("2.Another, read without its space", 20, 240, 980, 268),
    ]
    _, (block,) = analyze(rows, 1000, 300)
    assert [paragraph_text(p) for p in block.paragraphs] == [
        "The product is easy to learn and its features include:",
        "\u2022 Operation like a tape recorder, with PLAY, STOP and RECORD controls.",
        "\u2022 One hundred sequences of thirty-two tracks each, all of them polyphonic and "
        "assignable to any MIDI channel.",
        "1. A numbered item",
        "2.Another, read without its space",
    ]


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("\u2022 bullet", True),
        ("- dash", True),
        ("a) letter", True),
        ("(3) bracketed", True),
        ("一、总则", True),
        ("（二）付款方式", True),
        ("3、交货", True),
        ("1.5 kg of flour", False),  # a decimal, not an item
        ("J. Smith signed", False),  # an initial may begin a wrapped row
        ("-minus", False),
        ("第一条 合同", False),
    ],
)
def test_list_item_markers(text: str, item: bool) -> None:
    assert bool(LIST_ITEM.match(text)) is item


def test_a_chinese_numbered_clause_starts_a_paragraph_after_a_full_line() -> None:
    rows = [
        line("甲乙双方经友好协商就下列事项达成协议如下", 20, 0, 980, 40),
        line("一、甲方向乙方提供技术服务", 20, 50, 980, 90),
        line("二、乙方按月支付服务费用", 20, 100, 700, 140),
    ]
    _, (block,) = analyze(rows, 1000, 300)
    assert len(block.paragraphs) == 3


def test_a_larger_gap_starts_a_paragraph() -> None:
    rows = [line(f"w{i}", 20, y, 980, y + 28) for i, y in enumerate((0, 40, 80, 160, 200))]
    _, (block,) = analyze(rows, 1000, 300)
    assert [paragraph_text(p) for p in block.paragraphs] == ["w0 w1 w2", "w3 w4"]


def test_a_taller_line_set_apart_is_a_title() -> None:
    rows = [line("A Heading", 20, 0, 500, 50)]
    rows += [line(f"body {i}", 20, 80 + 40 * i, 980, 108 + 40 * i) for i in range(4)]
    _, blocks = analyze(rows, 1000, 300)
    paragraphs = [p for b in blocks for p in b.paragraphs]
    assert [p.kind for p in paragraphs] == ["title", "text"]
    assert paragraph_text(paragraphs[0]) == "A Heading"


def test_a_short_chinese_line_end_ends_a_paragraph_a_full_one_does_not() -> None:
    rows = [
        line("这是第一段的第一行文字内容", 20, 0, 540, 40),
        line("第一段结束。", 20, 50, 260, 90),
        line("第二段从这里开始写到行末尾", 20, 100, 540, 140),
        line("然后继续。", 20, 150, 220, 190),
    ]
    _, (block,) = analyze(rows, 600, 200)
    assert [paragraph_text(p) for p in block.paragraphs] == [
        "这是第一段的第一行文字内容第一段结束。",
        "第二段从这里开始写到行末尾然后继续。",
    ]


# -- text joining -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "joined"),
    [
        ("中文行末", "继续写", "中文行末继续写"),
        ("句子，", "下一行", "句子，下一行"),
        ("English line", "goes on", "English line goes on"),
        ("an exam-", "ple of it", "an example of it"),
        ("Jean-", "Paul", "Jean-Paul"),
        ("使用", "Python", "使用Python"),
        ("range 1-", "5", "range 1- 5"),
        ("", "x", "x"),
    ],
)
def test_join_lines(before: str, after: str, joined: str) -> None:
    assert join_lines(before, after) == joined


def test_a_row_of_cells_stays_on_its_own_line_in_a_paragraph() -> None:
    p = Paragraph(
        (
            Row((line("Name:", 0, 0, 50, 20), line("Li Lei", 100, 0, 160, 20))),
            Row((line("lives in", 0, 30, 80, 50),)),
            Row((line("Beijing", 0, 60, 80, 80),)),
        )
    )
    assert paragraph_text(p) == "Name:\tLi Lei\nlives in Beijing"


# -- character positions ------------------------------------------------------------------------


def test_line_to_dict_is_unchanged_and_chars_are_an_option() -> None:
    ln = line("ab", 0, 0, 20, 10, chars=(Char("a", 0.0, 0.5), Char("b", 0.5, 1.0)))
    assert ln.to_dict() == {
        "text": "ab",
        "score": 0.9,
        "box": [[0.0, 0.0], [20.0, 0.0], [20.0, 10.0], [0.0, 10.0]],
    }
    assert ln.to_dict(chars=True)["chars"] == [
        {"text": "a", "start": 0.0, "end": 0.5},
        {"text": "b", "start": 0.5, "end": 1.0},
    ]


def test_char_quads_slice_the_line_box() -> None:
    ln = line("ab", 10, 0, 30, 10, chars=(Char("a", 0.0, 0.5), Char("b", 0.5, 1.0)))
    assert ln.char_quads()[1] == ((20, 0), (30, 0), (30, 10), (20, 10))
    tall = line("竖字", 0, 0, 10, 40, chars=(Char("竖", 0.0, 0.5), Char("字", 0.5, 1.0)))
    assert tall.vertical
    assert tall.char_quads()[1] == ((0, 20), (10, 20), (10, 40), (0, 40))


def test_ctc_spans_cover_the_line_in_order() -> None:
    charset = ["", "a", "b", " "]
    steps = [0, 1, 1, 0, 3, 0, 2, 0, 0, 0]
    probs = np.full((10, 4), 0.01, np.float32)
    probs[np.arange(10), steps] = 0.97
    d = ctc_greedy_decode(probs, charset, 10)
    assert d.text == "a b"
    assert [s[0] for s in d.spans] == ["a", " ", "b"]
    edges = [x for _, s, e in d.spans for x in (s, e)]
    assert edges == sorted(edges)
    assert edges[0] >= 0.0 and edges[-1] <= 1.0
    # 'a' is emitted at steps 1-2, ' ' at 4, 'b' at 6: they meet between.
    assert d.spans[0][2] == pytest.approx(0.35) and d.spans[1][2] == pytest.approx(0.55)
    assert token_spans(["x"], [3], [4], 0.1) == (("x", 0.0, 1.0),)


def test_line_chars_follow_the_stripped_text_and_a_flip() -> None:
    d = Decoded(
        " ab ",
        0.9,
        spans=((" ", 0.0, 0.1), ("a", 0.1, 0.4), ("b", 0.4, 0.8), (" ", 0.8, 1.0)),
    )
    assert line_chars(d) == (Char("a", 0.1, 0.4), Char("b", 0.4, 0.8))
    flipped = line_chars(d, flipped=True)
    assert [c.text for c in flipped] == ["a", "b"]
    assert flipped[0].start == pytest.approx(0.6) and flipped[0].end == pytest.approx(0.9)
    # A token of two characters shares its span; spans that do not match the text give none.
    two = Decoded("xy", 0.9, spans=(("xy", 0.0, 1.0),))
    assert line_chars(two) == (Char("x", 0.0, 0.5), Char("y", 0.5, 1.0))
    assert line_chars(Decoded("xy", 0.9)) == ()


# -- slanted pages (a page photographed at an angle) --------------------------------------------


def slanted(lines: list[Line], degrees: float) -> list[Line]:
    """``lines`` turned ``degrees`` (y down: positive turns them down to the right) about
    (500, 300), each box ordered as the detector orders its quads."""
    t = np.deg2rad(degrees)
    m = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    centre = np.array([500.0, 300.0])
    out = []
    for ln in lines:
        q = order_quad(((np.array(ln.box) - centre) @ m.T + centre).astype(np.float32))
        box = tuple((float(x), float(y)) for x, y in q)
        out.append(Line(ln.text, ln.score, box, ln.chars))  # type: ignore[arg-type]
    return out


def structure(blocks: tuple[Block, ...]) -> list[list[list[list[str]]]]:
    return [[[[ln.text for ln in r.lines] for r in p.rows] for p in b.paragraphs] for b in blocks]


SLANTED_PAGES = {
    "columns under a title": [
        line("T", 20, 20, 980, 70),
        *column("L", 20, 480, 100, 8),
        *column("R", 520, 980, 100, 8),
    ],
    "receipt": [line(f"item {i}", 10, 10 + 40 * i, 300 - 40 * i, 40 + 40 * i) for i in range(4)]
    + [line(f"{i}.00", 500, 12 + 40 * i, 560, 38 + 40 * i) for i in range(4)],
    "paragraphs": [
        line("First paragraph starts", 60, 0, 980, 28),
        line("and goes on over a full", 20, 40, 980, 68),
        line("line, then ends.", 20, 80, 400, 108),
        line("Second one starts indented", 60, 120, 980, 148),
        line("and is full to the end", 20, 160, 980, 188),
        line("of the block.", 20, 200, 980, 228),
        line("Third has no indent but the line above was full", 20, 240, 980, 268),
    ],
    "a bulleted list": [
        line("Its features include:", 20, 0, 960, 28),
        line("\u2022 One item that is long enough to wrap onto", 20, 40, 980, 68),
        line("a second row under its text.", 50, 80, 600, 108),
        line("\u2022 A short item.", 20, 120, 400, 148),
    ],
}


# A photographed page (5-15 degrees) and a scan fed in a little crooked (1-2 degrees: a line
# across the page then climbs more than its own height, and its upright box looks like a title's).
@pytest.mark.parametrize("degrees", [-15.0, -10.0, -5.0, -2.0, -1.0, 1.0, 2.0, 5.0, 10.0, 15.0])
@pytest.mark.parametrize("name", list(SLANTED_PAGES))
def test_a_slanted_page_is_laid_out_as_the_upright_one(name: str, degrees: float) -> None:
    lines = SLANTED_PAGES[name]
    upright, upright_blocks = analyze(lines, 1000, 600)
    ordered, blocks = analyze(shuffled(slanted(lines, degrees)), 1000, 600)
    assert texts(ordered) == texts(upright)
    assert structure(blocks) == structure(upright_blocks)
