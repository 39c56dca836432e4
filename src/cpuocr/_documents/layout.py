"""Page layout: blocks, reading order, paragraphs and rows from a page's lines.

PLACEHOLDER (one block, one paragraph per line, lines kept in the engine's order) until the layout
work lands; the signatures are the contract the readers and writers use.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._types import Line
from .model import Block, Paragraph, Row


def analyze(
    lines: Sequence[Line], width: int, height: int
) -> tuple[tuple[Line, ...], tuple[Block, ...]]:
    """The page's lines in reading order and its blocks (each holding paragraphs of rows)."""
    ordered = tuple(lines)
    if not ordered:
        return (), ()
    paragraphs = tuple(Paragraph((Row((line,)),)) for line in ordered)
    return ordered, (Block((0.0, 0.0, float(width), float(height)), paragraphs),)


def row_text(row: Row) -> str:
    """A row's text: its cells separated by a tab."""
    return "\t".join(line.text for line in row.lines)


def paragraph_text(paragraph: Paragraph) -> str:
    """A paragraph's text as one string: rows joined by the language rule (Chinese with no space,
    Latin with one space, a hyphen at a line end joined); rows with several cells stay on their
    own line."""
    return "\n".join(row_text(row) for row in paragraph.rows)
