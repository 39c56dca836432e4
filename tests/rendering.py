"""Test images rendered on the fly with Debian's CJK fonts (no binary fixtures in the repo)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
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


def image_pdf(images: Sequence[Image.Image], *, dpi: float = 150.0, jpeg: bool = True) -> bytes:
    """An image-only PDF (a scan): one page per image, each page the image at ``dpi``, no text
    layer. Built with pikepdf, as a scanner's software would."""
    import io
    import zlib

    import pikepdf

    pdf = pikepdf.new()
    for img in images:
        rgb = img.convert("RGB")
        w, h = rgb.size
        if jpeg:
            out = io.BytesIO()
            rgb.save(out, "JPEG", quality=90)
            stream = pikepdf.Stream(pdf, out.getvalue())
            stream.Filter = pikepdf.Name.DCTDecode
        else:
            stream = pikepdf.Stream(pdf, zlib.compress(rgb.tobytes()))
            stream.Filter = pikepdf.Name.FlateDecode
        stream.Type = pikepdf.Name.XObject
        stream.Subtype = pikepdf.Name.Image
        stream.Width, stream.Height = w, h
        stream.ColorSpace = pikepdf.Name.DeviceRGB
        stream.BitsPerComponent = 8
        pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
        content = f"q {pw:.3f} 0 0 {ph:.3f} 0 0 cm /Im0 Do Q".encode()
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, pw, ph],
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream)),
            Contents=pikepdf.Stream(pdf, content),
        )
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def motion_blur(image: np.ndarray, length: float, degrees: float) -> np.ndarray:
    """``image`` smeared ``length`` px along ``degrees`` (a shaken camera): the mean of copies
    shifted along that line, as the degraded dev set's motion blur (benchmarks/degraded.py)."""
    a = math.radians(degrees)
    steps = np.linspace(-length / 2, length / 2, max(2, round(length)) + 1)
    source = image.astype(np.float32)
    acc = np.zeros_like(source)
    size = (image.shape[1], image.shape[0])
    for t in steps:
        shift = np.float32([[1, 0, round(t * math.cos(a))], [0, 1, round(t * math.sin(a))]])
        acc += cv2.warpAffine(source, shift, size, borderMode=cv2.BORDER_REPLICATE)
    return (acc / len(steps)).astype(np.uint8)
