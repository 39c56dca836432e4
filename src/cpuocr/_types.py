"""Frozen result types returned by the engine (and serialised by the CLI and the REST API)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]


@dataclass(frozen=True, slots=True)
class Char:
    """One character of a line and where it lies along the line: ``start`` <= ``end`` are
    fractions (0..1) of the line's length, measured from ``box[0]`` toward ``box[1]`` (toward
    ``box[3]`` for a vertical line: :attr:`Line.vertical`). Spaces are characters too."""

    text: str
    start: float
    end: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": round(self.start, 4), "end": round(self.end, 4)}


# A line whose box is this much taller than wide was read as a vertical line (the engine's
# default ``OrientationConfig.vertical_ratio``): its characters run from box[0] toward box[3].
VERTICAL_RATIO = 1.5


@dataclass(frozen=True)
class Line:
    """One recognised text line: its text, confidence in [0, 1] and a 4-point box
    (top-left, top-right, bottom-right, bottom-left) in original image pixels.

    ``chars``: where each character of ``text`` lies: one :class:`Char` per character of
    ``text`` (spaces included), in text order, from the recogniser's CTC alignment; empty where
    unknown (a line the engine did not read). In text order the fractions increase, except on a
    page read upside down, where the text runs from ``box[1]`` back toward ``box[0]``."""

    text: str
    score: float
    box: Quad
    chars: tuple[Char, ...] = ()

    def to_dict(self, *, chars: bool = False) -> dict[str, Any]:
        """The line as plain data; ``chars=True`` adds ``"chars"``: a list of
        ``{"text", "start", "end"}`` (see :class:`Char`)."""
        data: dict[str, Any] = {
            "text": self.text,
            "score": round(float(self.score), 4),
            "box": [[round(float(x), 1), round(float(y), 1)] for x, y in self.box],
        }
        if chars:
            data["chars"] = [c.to_dict() for c in self.chars]
        return data

    @property
    def vertical(self) -> bool:
        """Whether the box is a vertical line's (much taller than wide: the engine turned it to
        read it, so its characters run from box[0] toward box[3])."""
        p0, p1, p2, p3 = self.box
        w = max(math.dist(p0, p1), math.dist(p3, p2))
        h = max(math.dist(p0, p3), math.dist(p1, p2))
        return h >= VERTICAL_RATIO * w

    def char_quads(self) -> list[Quad]:
        """Each character's box in image pixels (the slice of the line's box between its
        ``start`` and ``end``), in the order of :attr:`chars`."""
        p0, p1, p2, p3 = self.box

        def at(p: Point, q: Point, f: float) -> Point:
            return (p[0] + (q[0] - p[0]) * f, p[1] + (q[1] - p[1]) * f)

        quads: list[Quad] = []
        for ch in self.chars:
            s, e = ch.start, ch.end
            if self.vertical:  # along the left (p0 -> p3) and right (p1 -> p2) edges
                quads.append((at(p0, p3, s), at(p1, p2, s), at(p1, p2, e), at(p0, p3, e)))
            else:  # along the top (p0 -> p1) and bottom (p3 -> p2) edges
                quads.append((at(p0, p1, s), at(p0, p1, e), at(p3, p2, e), at(p3, p2, s)))
        return quads


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
