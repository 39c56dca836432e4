"""Pages as stored data and back (cpuocr._documents.serialize): an exact round trip through JSON,
and clear errors for data that is not a page. No models, no fonts."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from cpuocr._documents.model import Block, Page, Paragraph, Row
from cpuocr._documents.serialize import (
    PageDataError,
    document_from_pages,
    page_from_dict,
    page_to_dict,
)
from cpuocr._types import Char, Line


def _line(text: str, x0: float, y0: float, x1: float, y1: float, score: float = 0.9) -> Line:
    return Line(text, score, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))


TITLE = _line("发票 Invoice", 10.25, 10.5, 310.125, 50.0, 0.987654321)
CELL_A = Line(
    "Tea", 0.75, ((10, 130), (50, 130), (50, 150), (10, 150)),
    (Char("T", 0.0, 0.3), Char("e", 0.3, 0.6), Char("a", 0.6, 1.0)),
)  # fmt: skip
CELL_B = _line("15.00", 200, 130, 260, 150)
VERTICAL = _line("竖排文字", 400, 10, 430, 200)


def built_page(number: int = 3) -> Page:
    return Page(
        number=number,
        width=612,
        height=792,
        dpi=200.0 / 3.0,
        size_pt=(595.2755905511812, 841.8897637795276),
        lines=(TITLE, CELL_A, CELL_B, VERTICAL),
        blocks=(
            Block(
                (10.0, 10.5, 310.125, 150.0),
                (
                    Paragraph((Row((TITLE,)),), "title"),
                    Paragraph((Row((CELL_A, CELL_B)),), "text"),
                ),
            ),
            Block((400.0, 10.0, 430.0, 200.0), (Paragraph((Row((VERTICAL,)),)),), vertical=True),
        ),
        source="text_layer",
        rotation=90,
        time_ms=1234.5678,
    )


def test_a_page_survives_json_exactly() -> None:
    page = built_page()
    data = json.loads(json.dumps(page_to_dict(page), allow_nan=False))
    back = page_from_dict(data)
    assert back == page
    assert back.blocks[0].paragraphs[1].rows[0].lines[0].chars == CELL_A.chars
    assert back.lines[0].score == 0.987654321 and back.dpi == 200.0 / 3.0
    assert len(data["line_table"]) == 4  # each line once, referred to by rows and reading order


def test_an_empty_page_and_numpy_numbers() -> None:
    empty = Page(1, 10, 20, 72.0, (10.0, 20.0), (), ())
    assert page_from_dict(page_to_dict(empty)) == empty
    box = ((np.float32(1), 2), (3, 2), (3, 4), (1, 4))
    line = Line("x", np.float32(0.5), box)  # type: ignore[arg-type]
    page = Page(
        1,
        10,
        20,
        72.0,
        (10.0, 20.0),
        (line,),
        (Block((1, 2, 3, 4), (Paragraph((Row((line,)),)),)),),
    )
    data = json.loads(json.dumps(page_to_dict(page)))
    assert type(data["line_table"][0]["score"]) is float
    assert page_from_dict(data) == page


def test_a_document_from_pages_in_page_order() -> None:
    doc = document_from_pages([built_page(5), built_page(2)], page_count=9, kind="pdf")
    assert [p.number for p in doc.pages] == [2, 5] and doc.page_count == 9 and doc.kind == "pdf"


def _broken(edit: str) -> Any:
    data = page_to_dict(built_page())
    if edit == "version":
        data["v"] = 99
    elif edit == "missing_width":
        del data["width"]
    elif edit == "bad_index":
        data["lines"][0] = 17
    elif edit == "bad_row_index":
        data["blocks"][0]["paragraphs"][0]["rows"][0] = ["0"]
    elif edit == "bad_source":
        data["source"] = "magic"
    elif edit == "bad_box":
        data["line_table"][0]["box"] = [[1, 2], [3, 4]]
    elif edit == "bad_char":
        data["line_table"][1]["chars"][0] = ["T", "zero", 0.3]
    elif edit == "bad_kind":
        data["blocks"][0]["paragraphs"][0]["kind"] = "footer"
    elif edit == "not_an_object":
        return [1, 2, 3]
    elif edit == "bool_number":
        data["number"] = True
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("version", "version 99"),
        ("missing_width", "width"),
        ("bad_index", "lines[0]: line 17 is not in the line table"),
        ("bad_row_index", "blocks[0].paragraphs[0].rows[0][0]"),
        ("bad_source", "page.source"),
        ("bad_box", "line_table[0].box: expected 4 points"),
        ("bad_char", "line_table[1].chars[0]"),
        ("bad_kind", "blocks[0].paragraphs[0].kind"),
        ("not_an_object", "page: expected an object"),
        ("bool_number", "number: expected an integer"),
    ],
)
def test_data_that_is_not_a_page_is_a_clear_error(edit: str, message: str) -> None:
    with pytest.raises(PageDataError, match=message.replace("[", r"\[").replace("]", r"\]")):
        page_from_dict(_broken(edit))


def test_a_non_finite_number_is_refused_when_stored() -> None:
    page = Page(1, 10, 20, float("nan"), (10.0, 20.0), (), ())
    with pytest.raises(PageDataError, match="dpi"):
        page_to_dict(page)
    assert issubclass(PageDataError, ValueError)
