"""JSON: one schema for a document result, shared by the library, the CLI and the REST API.

Schema version 1 (compact UTF-8 JSON, non-ASCII characters as they are). Coordinates are the
pixels of the page image read (x right, y down); numbers are rounded (boxes to 0.1 px, scores
and fractions to 4 digits)::

    {
      "version": 1,
      "kind": "pdf" | "tiff" | "image",
      "page_count": int,              # pages in the document (not only those read)
      "metadata": {str: str},         # only when the document has some
      "pages": [{
        "number": int,                # 1-based page number in the document
        "width": int, "height": int,  # pixels of the page image read
        "dpi": float,                 # its pixels per inch
        "size_pt": [float, float],    # the page's size in PDF points, as displayed
        "rotation": int,              # the PDF page's /Rotate (0 for images)
        "source": "ocr" | "text_layer",
        "time_ms": float,
        "text": str,                  # the page as TXT (paragraphs, rows; see .text)
        "blocks": [{                  # in reading order
          "box": [x0, y0, x1, y1],
          "vertical": bool,           # vertical Chinese, read right to left
          "paragraphs": [{
            "kind": "text" | "title",
            "text": str,              # the paragraph's text, joined by the layout's rules
            "rows": [{                # lines on one baseline (cells), left to right
              "lines": [{
                "text": str,
                "score": float,       # confidence 0..1
                "box": [[x, y] x 4],  # top-left, top-right, bottom-right, bottom-left
                "chars": [{           # only with chars=True, where the line has them
                  "text": str,
                  "start": float, "end": float,   # fractions 0..1 along the line
                  "box": [[x, y] x 4]             # its slice of the line's box (absent when
                                                  # the chars do not spell the line's text)
                }]
              }]
            }]
          }]
        }]
      }]
    }

Every line of a page is in exactly one row; a page's lines in reading order are its blocks'
paragraphs' rows' lines, in order.
"""

from __future__ import annotations

import json
from typing import Any

from .._documents.layout import paragraph_text
from .._documents.model import DocumentResult, Page
from .._types import Line, Quad
from .geometry import char_spans, has_chars, reading_quad, sub_quad
from .text import _blocks, page_text

SCHEMA_VERSION = 1


def _quad(q: Quad) -> list[list[float]]:
    return [[round(float(x), 1), round(float(y), 1)] for x, y in q]


def _line(line: Line, chars: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "text": line.text,
        "score": round(float(line.score), 4),
        "box": _quad(line.box),
    }
    found = getattr(line, "chars", None) or ()
    if chars and found:
        spans = char_spans(line) if has_chars(line) else []
        frame = reading_quad(line)
        data["chars"] = []
        for i, c in enumerate(found):
            item: dict[str, Any] = {
                "text": str(c.text),
                "start": round(float(c.start), 4),
                "end": round(float(c.end), 4),
            }
            if spans:
                item["box"] = _quad(sub_quad(frame, spans[i].start, spans[i].end))
            data["chars"].append(item)
    return data


def _page(page: Page, chars: bool) -> dict[str, Any]:
    return {
        "number": page.number,
        "width": page.width,
        "height": page.height,
        "dpi": round(float(page.dpi), 2),
        "size_pt": [round(float(v), 2) for v in page.size_pt],
        "rotation": page.rotation,
        "source": page.source,
        "time_ms": round(float(page.time_ms), 1),
        "text": page_text(page),
        "blocks": [
            {
                "box": [round(float(v), 1) for v in block.box],
                "vertical": block.vertical,
                "paragraphs": [
                    {
                        "kind": p.kind,
                        "text": paragraph_text(p),
                        "rows": [{"lines": [_line(x, chars) for x in row.lines]} for row in p.rows],
                    }
                    for p in block.paragraphs
                ],
            }
            for block in _blocks(page)
        ],
    }


def document_dict(document: DocumentResult, *, chars: bool = False) -> dict[str, Any]:
    """The document as plain data in the schema above."""
    data: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "kind": document.kind,
        "page_count": document.page_count,
    }
    if document.metadata:
        data["metadata"] = dict(document.metadata)
    data["pages"] = [_page(page, chars) for page in document.pages]
    return data


def write_json(document: DocumentResult, *, chars: bool = False) -> bytes:
    return json.dumps(
        document_dict(document, chars=chars), ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
