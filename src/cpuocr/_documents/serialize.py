"""A :class:`~.model.Page` as plain JSON-safe data and back, exactly: what a job store keeps of a
page read, and what a batch run may keep between runs.

Not the output format (that is :mod:`cpuocr._writers.jsonout`, rounded and meant for readers):
here nothing is rounded, characters keep their positions, and ``page_from_dict(page_to_dict(p))
== p``. Each distinct line is stored once, in ``line_table``; the page's reading order
(``lines``) and its rows refer to it by index::

    {"v": 1, "number": int, "width": int, "height": int, "dpi": float,
     "size_pt": [float, float], "rotation": int, "source": "ocr" | "text_layer",
     "time_ms": float,
     "line_table": [{"text": str, "score": float, "box": [[x, y] * 4],
                     "chars": [[text, start, end], ...]}],      # "chars" only when known
     "lines": [int, ...],
     "blocks": [{"box": [x0, y0, x1, y1], "vertical": bool,
                 "paragraphs": [{"kind": "text" | "title", "rows": [[int, ...], ...]}]}]}

Data that does not have this shape raises :class:`PageDataError` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal, cast

from .._types import Char, Line, Quad
from .model import Block, DocumentResult, Page, PageSource, Paragraph, Row

VERSION = 1
_SOURCES = ("ocr", "text_layer")
_KINDS = ("text", "title")


class PageDataError(ValueError):
    """Stored page data that is not a page of :data:`VERSION` (a bug or a damaged store)."""


# -- to data -----------------------------------------------------------------------------------


def page_to_dict(page: Page) -> dict[str, Any]:
    """``page`` as JSON-safe data (the module docstring); numbers become plain ints and floats.
    A non-finite number (never produced by the engine) raises :class:`PageDataError`."""
    table: dict[Line, int] = {}
    for line in _all_lines(page):
        table.setdefault(line, len(table))

    def ref(line: Line) -> int:
        return table[line]

    return {
        "v": VERSION,
        "number": int(page.number),
        "width": int(page.width),
        "height": int(page.height),
        "dpi": _finite(page.dpi, "dpi"),
        "size_pt": [_finite(v, "size_pt") for v in page.size_pt],
        "rotation": int(page.rotation),
        "source": page.source,
        "time_ms": _finite(page.time_ms, "time_ms"),
        "line_table": [_line_to_dict(line) for line in table],
        "lines": [ref(line) for line in page.lines],
        "blocks": [
            {
                "box": [_finite(v, "block box") for v in block.box],
                "vertical": bool(block.vertical),
                "paragraphs": [
                    {"kind": p.kind, "rows": [[ref(x) for x in row.lines] for row in p.rows]}
                    for p in block.paragraphs
                ],
            }
            for block in page.blocks
        ],
    }


def _all_lines(page: Page) -> Iterable[Line]:
    yield from page.lines
    for block in page.blocks:
        for paragraph in block.paragraphs:
            for row in paragraph.rows:
                yield from row.lines


def _line_to_dict(line: Line) -> dict[str, Any]:
    data: dict[str, Any] = {
        "text": str(line.text),
        "score": _finite(line.score, "line score"),
        "box": [[_finite(x, "line box"), _finite(y, "line box")] for x, y in line.box],
    }
    if line.chars:
        data["chars"] = [
            [str(c.text), _finite(c.start, "char start"), _finite(c.end, "char end")]
            for c in line.chars
        ]
    return data


def _finite(value: Any, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise PageDataError(f"{what}: {value!r} is not a finite number")
    return number


# -- from data ---------------------------------------------------------------------------------


def page_from_dict(data: Any) -> Page:
    """The page :func:`page_to_dict` made ``data`` from; :class:`PageDataError` when ``data`` is
    not such a page (wrong version, a field missing or of the wrong type, a bad line index)."""
    d = _mapping(data, "page")
    version = d.get("v")
    if version != VERSION:
        raise PageDataError(f"page data version {version!r}; this cpuocr reads version {VERSION}")
    table = tuple(
        _line_from_dict(item, f"line_table[{i}]")
        for i, item in enumerate(_list(d, "line_table", "page"))
    )

    def lines_at(raw: Any, where: str) -> tuple[Line, ...]:
        out = []
        for k, index in enumerate(_seq(raw, where)):
            if isinstance(index, bool) or not isinstance(index, int):
                raise PageDataError(f"{where}[{k}]: expected a line index, got {index!r}")
            if not 0 <= index < len(table):
                raise PageDataError(f"{where}[{k}]: line {index} is not in the line table")
            out.append(table[index])
        return tuple(out)

    blocks = []
    for b, raw_block in enumerate(_list(d, "blocks", "page")):
        where = f"blocks[{b}]"
        block = _mapping(raw_block, where)
        paragraphs = []
        for p, raw_paragraph in enumerate(_list(block, "paragraphs", where)):
            pw = f"{where}.paragraphs[{p}]"
            paragraph = _mapping(raw_paragraph, pw)
            kind = _choice(paragraph, "kind", _KINDS, pw)
            rows = tuple(
                Row(lines_at(raw_row, f"{pw}.rows[{r}]"))
                for r, raw_row in enumerate(_list(paragraph, "rows", pw))
            )
            paragraphs.append(Paragraph(rows, kind))  # type: ignore[arg-type]
        box = _numbers(block.get("box"), 4, f"{where}.box")
        blocks.append(
            Block(
                (box[0], box[1], box[2], box[3]),
                tuple(paragraphs),
                _bool(block.get("vertical"), f"{where}.vertical"),
            )
        )
    size_pt = _numbers(d.get("size_pt"), 2, "size_pt")
    return Page(
        number=_int(d.get("number"), "number"),
        width=_int(d.get("width"), "width"),
        height=_int(d.get("height"), "height"),
        dpi=_number(d.get("dpi"), "dpi"),
        size_pt=(size_pt[0], size_pt[1]),
        lines=lines_at(d.get("lines"), "lines"),
        blocks=tuple(blocks),
        source=cast(PageSource, _choice(d, "source", _SOURCES, "page")),
        rotation=_int(d.get("rotation"), "rotation"),
        time_ms=_number(d.get("time_ms"), "time_ms"),
    )


def document_from_pages(
    pages: Sequence[Page],
    *,
    page_count: int,
    kind: Literal["pdf", "tiff", "image"] = "image",
    metadata: dict[str, str] | None = None,
) -> DocumentResult:
    """A document of ``pages`` (put in page order) out of ``page_count``, for the writers."""
    ordered = tuple(sorted(pages, key=lambda page: page.number))
    return DocumentResult(ordered, page_count, kind, dict(metadata or {}))


def _line_from_dict(data: Any, where: str) -> Line:
    d = _mapping(data, where)
    text = d.get("text")
    if not isinstance(text, str):
        raise PageDataError(f"{where}.text: expected a string, got {text!r}")
    raw_box = _seq(d.get("box"), f"{where}.box")
    if len(raw_box) != 4:
        raise PageDataError(f"{where}.box: expected 4 points, got {len(raw_box)}")
    points = [_numbers(p, 2, f"{where}.box[{i}]") for i, p in enumerate(raw_box)]
    box: Quad = cast(Quad, tuple((p[0], p[1]) for p in points))
    chars = []
    for i, raw in enumerate(_seq(d.get("chars", []), f"{where}.chars")):
        item = _seq(raw, f"{where}.chars[{i}]")
        if len(item) != 3 or not isinstance(item[0], str):
            raise PageDataError(f"{where}.chars[{i}]: expected [text, start, end], got {raw!r}")
        cw = f"{where}.chars[{i}]"
        chars.append(Char(item[0], _number(item[1], cw), _number(item[2], cw)))
    return Line(text, _number(d.get("score"), f"{where}.score"), box, tuple(chars))


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PageDataError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _seq(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise PageDataError(f"{where}: expected a list, got {type(value).__name__}")
    return list(value)


def _list(d: dict[str, Any], key: str, where: str) -> list[Any]:
    return _seq(d.get(key), f"{where}.{key}" if where != "page" else key)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PageDataError(f"{where}: expected a number, got {value!r}")
    return _finite(value, where)


def _numbers(value: Any, count: int, where: str) -> list[float]:
    items = _seq(value, where)
    if len(items) != count:
        raise PageDataError(f"{where}: expected {count} numbers, got {len(items)}")
    return [_number(v, where) for v in items]


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PageDataError(f"{where}: expected an integer, got {value!r}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise PageDataError(f"{where}: expected true or false, got {value!r}")
    return value


def _choice(d: dict[str, Any], key: str, choices: tuple[str, ...], where: str) -> str:
    value = d.get(key)
    if value not in choices:
        raise PageDataError(f"{where}.{key}: expected one of {', '.join(choices)}, got {value!r}")
    return str(value)
