"""Test images rendered on the fly with Debian's CJK fonts (no binary fixtures in the repo)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


def font_path() -> str | None:
    for p in FONT_CANDIDATES:
        if Path(p).is_file():
            return p
    return None


def render_lines(
    lines: Sequence[str],
    *,
    size: int = 32,
    margin: int = 24,
    spacing: float = 1.0,
    width: int | None = None,
) -> Image.Image:
    """Black text lines on white, one under another, left-aligned."""
    path = font_path()
    if path is None:
        raise RuntimeError("no CJK font: apt-get install fonts-noto-cjk fonts-wqy-zenhei")
    font = ImageFont.truetype(path, size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    widths = [probe.textbbox((0, 0), t, font=font)[2] for t in lines]
    line_h = int(size * (1.0 + spacing))
    w = width or (max(widths) + 2 * margin)
    h = line_h * len(lines) + 2 * margin
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(lines):
        draw.text((margin, margin + i * line_h), text, fill="black", font=font)
    return img


def render_vertical(text: str, *, size: int = 40, margin: int = 24) -> Image.Image:
    """One vertical line of CJK characters, stacked top to bottom."""
    path = font_path()
    if path is None:
        raise RuntimeError("no CJK font")
    font = ImageFont.truetype(path, size)
    step = int(size * 1.15)
    img = Image.new("RGB", (size + 2 * margin, step * len(text) + 2 * margin), "white")
    draw = ImageDraw.Draw(img)
    for i, ch in enumerate(text):
        draw.text((margin, margin + i * step), ch, fill="black", font=font)
    return img


def to_bgr(img: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])
