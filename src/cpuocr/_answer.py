"""The answer schema shared by the doors: one object per image, the same from ``POST /ocr``,
``/ocr/batch`` and ``cpuocr --json``. The engine returns an :class:`~cpuocr.OCRResult`; this
module alone turns it (or an error) into the answer's JSON.

Version 1 (``SCHEMA_VERSION``) — SPEC §2, compatible with the service cpuocr replaces::

    {"success": true, "text": [str], "time_ms": float,
     "lines": [{"text": str, "score": float, "box": [[x, y] * 4]}],
     "width": int, "height": int, "image_sha256": str, "cached": bool}
    {"success": false, "error": {"code": str, "message": str}}

A document (a PDF, a multi-page TIFF) is answered per page (:func:`document_answer`)::

    {"success": true, "page_count": int, "time_ms": float, "image_sha256": str, "cached": bool,
     "pages": [{"page": int, "text": [str], "lines": [...], "width": int, "height": int,
                "dpi": float, "source": "ocr" | "text_layer", "time_ms": float}]}

Asked for (REST ``preview=true``), each page also has ``"preview": {"width": int, "height": int,
"image": str}``: the page as it was read, a base64 JPEG scaled down for display.

A door may add keys of its own (the CLI adds ``file``); within a version keys are only ever added,
never renamed, removed or given another meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._documents.model import DocumentResult, Page
from ._types import OCRResult

SCHEMA_VERSION = 1


def ocr_answer(result: OCRResult, *, sha256: str, cached: bool = False) -> dict[str, Any]:
    """The answer for a read image (``timings_ms`` stays with the engine's result)."""
    return {
        "success": True,
        "text": result.text,
        "time_ms": round(result.time_ms, 1),
        "lines": [line.to_dict() for line in result.lines],
        "width": result.width,
        "height": result.height,
        "image_sha256": sha256,
        "cached": cached,
    }


def error_answer(code: str, message: str) -> dict[str, Any]:
    """The answer for an image (or request) that failed."""
    return {"success": False, "error": {"code": code, "message": message}}


def page_answer(page: Page, preview: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One page of a document answer: the lines in reading order, as in an image's answer (and
    the page's ``preview`` image when one is given)."""
    answer: dict[str, Any] = {
        "page": page.number,
        "text": [line.text for line in page.lines],
        "lines": [line.to_dict() for line in page.lines],
        "width": page.width,
        "height": page.height,
        "dpi": round(page.dpi, 2),
        "source": page.source,
        "time_ms": round(page.time_ms, 1),
    }
    if preview is not None:
        answer["preview"] = dict(preview)
    return answer


def document_answer(
    document: DocumentResult,
    *,
    sha256: str,
    cached: bool = False,
    previews: Mapping[int, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The answer for a document: its pages read (those asked for), in order; ``previews`` maps
    page numbers to their preview images (added to those pages' answers)."""
    return {
        "success": True,
        "page_count": document.page_count,
        "time_ms": round(sum(page.time_ms for page in document.pages), 1),
        "image_sha256": sha256,
        "cached": cached,
        "pages": [
            page_answer(page, previews.get(page.number) if previews else None)
            for page in document.pages
        ],
    }
