"""Plain text and Markdown.

**TXT.** A page is its paragraphs in reading order (block by block), each paragraph's text as
:func:`~cpuocr._documents.layout.paragraph_text` joins it (a row of several cells is one line,
its cells separated by a tab), paragraphs separated by one blank line, the page ending with a
newline. Pages are separated by a form feed (``"\\f"``, as ``pdftotext`` does: one character
no text contains, that ``less``, editors and ``split`` understand); a one-page document has no
separator. An empty page is an empty string between its separators.

**Markdown.** Paragraphs separated by a blank line; a title paragraph is a heading on one line
(``#`` for the document's largest titles, ``##`` for the others); a block whose rows mostly have
several cells is a table (its first row the header); a row of several cells elsewhere is one line,
cells separated by spaces. Characters Markdown would read as markup are escaped. Pages are
separated by a ``---`` rule between blank lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .._documents.layout import paragraph_text
from .._documents.model import Block, DocumentResult, Page, Paragraph, Row
from .geometry import line_height

# -- TXT ------------------------------------------------------------------------------------


def _blocks(page: Page) -> tuple[Block, ...]:
    """The page's blocks; a page with lines but no blocks reads as one paragraph per line."""
    if page.blocks or not page.lines:
        return page.blocks
    paragraphs = tuple(Paragraph((Row((line,)),)) for line in page.lines)
    return (Block((0.0, 0.0, float(page.width), float(page.height)), paragraphs),)


def _paragraphs(page: Page) -> Iterator[Paragraph]:
    for block in _blocks(page):
        yield from block.paragraphs


def page_text(page: Page) -> str:
    """One page as TXT (see the module docstring)."""
    texts = [t for t in (paragraph_text(p) for p in _paragraphs(page)) if t]
    return "\n\n".join(texts) + "\n" if texts else ""


def write_txt(document: DocumentResult) -> bytes:
    return "\f".join(page_text(page) for page in document.pages).encode("utf-8")


# -- Markdown -------------------------------------------------------------------------------

_INLINE = re.compile(r"([\\`*_\[\]<>|])")
_BLOCK_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])")


def _escape(text: str) -> str:
    """``text`` with the characters Markdown reads as markup escaped."""
    out = []
    for line in text.split("\n"):
        line = _INLINE.sub(r"\\\1", line)
        out.append(_BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line))
    return "\n".join(out)


def _is_table(block: Block) -> bool:
    rows = [row for p in block.paragraphs for row in p.rows]
    multi = sum(1 for row in rows if len(row.lines) > 1)
    return len(rows) >= 2 and multi * 2 > len(rows)


def _table(block: Block) -> str:
    rows = [[_escape(line.text) for line in row.lines] for p in block.paragraphs for row in p.rows]
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _title_height(paragraph: Paragraph, page: Page) -> float:
    """The height of a title's first line, in points (pages may have different DPIs)."""
    first = paragraph.rows[0].lines[0] if paragraph.rows and paragraph.rows[0].lines else None
    if first is None:
        return 0.0
    return line_height(first) * 72.0 / (page.dpi if page.dpi > 0 else 72.0)


def _page_markdown(page: Page, top_title: float) -> str:
    parts: list[str] = []
    for block in _blocks(page):
        if _is_table(block):
            parts.append(_table(block))
            continue
        for paragraph in block.paragraphs:
            text = paragraph_text(paragraph)
            if not text:
                continue
            if paragraph.kind == "title":
                level = "#" if _title_height(paragraph, page) >= 0.9 * top_title else "##"
                heading = _INLINE.sub(r"\\\1", " ".join(text.replace("\t", " ").split()))
                parts.append(f"{level} {heading}")
            else:
                parts.append(_escape(text.replace("\t", " ")))
    return "\n\n".join(parts)


def write_md(document: DocumentResult) -> bytes:
    top_title = max(
        (
            _title_height(p, page)
            for page in document.pages
            for p in _paragraphs(page)
            if p.kind == "title"
        ),
        default=0.0,
    )
    pages = [_page_markdown(page, top_title) for page in document.pages]
    text = "\n\n---\n\n".join(pages)
    return (text + "\n").encode("utf-8") if text.strip() else b""
