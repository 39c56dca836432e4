"""The document result: pages, each with its lines in reading order and its layout.

A page's coordinates are the pixels of the image that was read (a PDF page rendered at ``dpi``,
or the image itself); ``size_pt`` and ``rotation`` tie them back to the PDF page for writers that
place a text layer on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .._types import Line

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in page pixels
PageSource = Literal["ocr", "text_layer"]


@dataclass(frozen=True)
class Row:
    """Lines that sit on one baseline, left to right (a receipt's item and price, a form's
    label and value). Most rows hold one line. Each line keeps its own box."""

    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Paragraph:
    """Rows that read as one paragraph; ``kind`` is ``"title"`` for a line that is clearly a
    heading (set apart, larger), else ``"text"``."""

    rows: tuple[Row, ...]
    kind: Literal["text", "title"] = "text"


@dataclass(frozen=True)
class Block:
    """A region of the page read as a unit (a column, an article, a sidebar), its paragraphs in
    reading order. ``vertical``: a block of vertical Chinese lines (read right to left)."""

    box: Box
    paragraphs: tuple[Paragraph, ...]
    vertical: bool = False


@dataclass(frozen=True)
class Page:
    """One page read: ``number`` is 1-based in the document; ``width``/``height`` the pixels of
    the image read; ``dpi`` its pixels per inch (the render DPI for PDF pages; the image's own,
    or 72 when it has none); ``size_pt`` the page's size in PDF points as displayed (after
    ``rotation``, the PDF page's /Rotate in degrees clockwise; 0 for images)."""

    number: int
    width: int
    height: int
    dpi: float
    size_pt: tuple[float, float]
    lines: tuple[Line, ...]  # every line, in reading order
    blocks: tuple[Block, ...]
    source: PageSource = "ocr"
    rotation: int = 0
    time_ms: float = 0.0


@dataclass(frozen=True)
class DocumentResult:
    """A whole document: its pages in order (only those asked for), and how many it has."""

    pages: tuple[Page, ...]
    page_count: int
    kind: Literal["pdf", "tiff", "image"] = "image"
    metadata: dict[str, str] = field(default_factory=dict)
