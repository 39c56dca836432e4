"""Frozen result types returned by the engine (and serialised by the CLI and the REST API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]


@dataclass(frozen=True)
class Line:
    """One recognised text line: its text, confidence in [0, 1] and a 4-point box
    (top-left, top-right, bottom-right, bottom-left) in original image pixels."""

    text: str
    score: float
    box: Quad

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "score": round(float(self.score), 4),
            "box": [[round(float(x), 1), round(float(y), 1)] for x, y in self.box],
        }


@dataclass(frozen=True)
class OCRResult:
    """The whole answer for one image. ``timings_ms`` holds per-stage wall times."""

    lines: tuple[Line, ...]
    width: int
    height: int
    time_ms: float
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> list[str]:
        return [line.text for line in self.lines]

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (JSON-ready). The answers of the REST API and of
        ``cpuocr --json`` are built from it with their own fields (``cpuocr._answer``)."""
        return {
            "text": self.text,
            "time_ms": round(self.time_ms, 1),
            "lines": [line.to_dict() for line in self.lines],
            "width": self.width,
            "height": self.height,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
