"""The answer schema shared by the doors: one object per image, the same from ``POST /ocr``,
``/ocr/batch`` and ``cpuocr --json``. The engine returns an :class:`~cpuocr.OCRResult`; this
module alone turns it (or an error) into the answer's JSON.

Version 1 (``SCHEMA_VERSION``) — SPEC §2, compatible with the service cpuocr replaces::

    {"success": true, "text": [str], "time_ms": float,
     "lines": [{"text": str, "score": float, "box": [[x, y] * 4]}],
     "width": int, "height": int, "image_sha256": str, "cached": bool}
    {"success": false, "error": {"code": str, "message": str}}

A door may add keys of its own (the CLI adds ``file``); within a version keys are only ever added,
never renamed, removed or given another meaning.
"""

from __future__ import annotations

from typing import Any

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
