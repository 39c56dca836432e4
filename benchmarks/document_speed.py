"""Seconds per page of a scanned PDF, end to end (render + OCR + layout), on this machine.

A 10-page image-only A4 PDF at 200 dpi is built in memory (12 lines of mixed Chinese and English a
page, rendered with the test suite's CJK fonts), read once to warm up, then read whole twice::

    .venv/bin/python -m benchmarks.document_speed
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from cpuocr import OCR, read_document

from rendering import image_pdf, render_lines

A4_200_DPI = (1654, 2339)


def scanned_pdf(pages: int = 10, lines: int = 12) -> bytes:
    images = []
    for p in range(pages):
        text = [
            f"第{p + 1}页 第{i + 1}行 合同条款 Contract clause {i + 1}: payment within 30 days, "
            f"金额 {1000 + i * 37}.00 元"
            for i in range(lines)
        ]
        canvas = Image.new("RGB", A4_200_DPI, "white")
        canvas.paste(render_lines(text, size=30, spacing=1.2), (120, 200))
        images.append(canvas)
    return image_pdf(images, dpi=200)


def main() -> int:
    pdf = scanned_pdf()
    with OCR() as ocr:
        read_document(pdf, ocr=ocr, pages="1")  # warm-up
        for run in range(2):
            started = time.perf_counter()
            document = read_document(pdf, ocr=ocr)
            seconds = time.perf_counter() - started
            lines = sum(len(page.lines) for page in document.pages)
            pages = len(document.pages)
            print(
                f"run {run + 1}: {seconds:.2f} s for {pages} pages = {seconds / pages:.2f} s/page "
                f"({60 * pages / seconds:.0f} pages/min), {lines} lines"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
