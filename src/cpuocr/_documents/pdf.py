"""PDF pages through pdfium (pypdfium2): opened, measured, rendered to BGR and their text layer
read, one page at a time.

PDFium is not thread-safe: no two threads may call it at once, even on different documents. Every
call into it here holds :data:`PDFIUM_LOCK` (a page is opened, measured, read and closed inside
one hold; the OCR of the rendered page runs outside it). Forms are never initialised and pdfium
runs no JavaScript; annotations' appearance streams are drawn as they look, embedded files are
never opened.

Every failure is a cpuocr error: pdfium's load errors are named (encrypted, not a PDF), anything
else it raises becomes :class:`~cpuocr.errors.InvalidImage` or ``ProcessingFailed``.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ..errors import CpuocrError, ImageTooLarge, InvalidImage, ProcessingFailed
from .textlayer import Affine, Char

log = logging.getLogger("cpuocr")

#: Held around every call into pdfium (see the module docstring).
PDFIUM_LOCK = threading.RLock()

#: The largest page side, in PDF points, a page may have: the PDF format's own limit (200 inches,
#: ISO 32000-1 Annex C, without UserUnit). Bigger pages are refused rather than rendered at a
#: resolution nobody can read.
MAX_PAGE_POINTS = 14_400.0
#: The lowest resolution a page is rendered at to fit the pixel limit; under it, text is too small
#: to read and the page is refused. (The largest legal page fits 40 MP at 31 dpi.)
MIN_FIT_DPI = 24.0

_LOAD_ERRORS = {
    pdfium_c.FPDF_ERR_FILE: "the PDF file cannot be opened",
    pdfium_c.FPDF_ERR_FORMAT: "not a readable PDF (corrupt, truncated or without pages)",
    pdfium_c.FPDF_ERR_PASSWORD: "the PDF is encrypted and needs a password",
    pdfium_c.FPDF_ERR_SECURITY: "the PDF uses an unsupported security handler",
    pdfium_c.FPDF_ERR_PAGE: "a page of the PDF cannot be read",
}


@contextlib.contextmanager
def pdfium_errors(what: str) -> Iterator[None]:
    """cpuocr errors pass; pdfium's become InvalidImage (the document's fault), anything else
    ProcessingFailed, with the library's words."""
    try:
        yield
    except CpuocrError:
        raise
    except pdfium.PdfiumError as exc:
        raise InvalidImage(f"{what}: {exc}") from None
    except MemoryError:
        raise ImageTooLarge(f"{what}: more memory is needed than is available") from None
    except Exception as exc:
        log.warning("unexpected %s in pdfium", type(exc).__name__, exc_info=True)
        detail = " ".join(str(exc).split())[:300]
        raise ProcessingFailed(f"{what} failed ({type(exc).__name__}: {detail})") from exc


@dataclass(frozen=True)
class PageGeometry:
    """A page as displayed: size in points (after /Rotate) and /Rotate in degrees clockwise."""

    width_pt: float
    height_pt: float
    rotation: int


def fit_scale(width_pt: float, height_pt: float, dpi: float, max_pixels: int) -> float:
    """Pixels per point to render a page at: ``dpi`` / 72, lowered where the rendered page would
    be over ``max_pixels``. Refuses sizes that are not positive (InvalidImage) and pages over
    :data:`MAX_PAGE_POINTS` or that would fall under :data:`MIN_FIT_DPI` (ImageTooLarge)."""
    if not (math.isfinite(width_pt) and math.isfinite(height_pt)) or (
        width_pt < 1.0 or height_pt < 1.0
    ):
        raise InvalidImage(f"the page has an empty size ({width_pt:g} × {height_pt:g} points)")
    if max(width_pt, height_pt) > MAX_PAGE_POINTS:
        raise ImageTooLarge(
            f"the page is {width_pt:.0f} × {height_pt:.0f} points, over the PDF limit of "
            f"{MAX_PAGE_POINTS:.0f} points (200 inches) a side"
        )
    scale = dpi / 72.0
    if _pixels(width_pt, height_pt, scale) > max_pixels:
        scale = math.sqrt(max_pixels / (width_pt * height_pt))
        while scale > 0 and _pixels(width_pt, height_pt, scale) > max_pixels:
            scale *= 0.999  # rounding each side may add a row and a column
        if scale * 72.0 < MIN_FIT_DPI:
            raise ImageTooLarge(
                f"the page is {width_pt:.0f} × {height_pt:.0f} points: within the limit of "
                f"{max_pixels / 1e6:.1f} MP it would render at {scale * 72.0:.0f} dpi, under "
                f"the {MIN_FIT_DPI:.0f} dpi text can be read at"
            )
    return scale


def _side(points: float, scale: float) -> int:
    """Pixels of a page side of ``points`` at ``scale`` (rounded: 792 pt at 150 dpi is 1650)."""
    return max(1, round(points * scale))


def _pixels(width_pt: float, height_pt: float, scale: float) -> int:
    return _side(width_pt, scale) * _side(height_pt, scale)


class PdfDocument:
    """An open PDF. Close it (or use it as a context manager) to free pdfium's memory."""

    def __init__(self, source: str | Path | bytes) -> None:
        with PDFIUM_LOCK:
            try:
                self._doc = pdfium.PdfDocument(str(source) if isinstance(source, Path) else source)
            except pdfium.PdfiumError as exc:
                message = _LOAD_ERRORS.get(exc.err_code or -1, f"not a readable PDF ({exc})")
                raise InvalidImage(message) from None
            except Exception as exc:  # a path that is not a file, odd input types
                raise InvalidImage(f"the PDF cannot be opened: {exc}") from None
            with pdfium_errors("reading the PDF"):
                self.page_count = len(self._doc)
                self.metadata = {
                    str(k): str(v)[:1000]
                    for k, v in self._doc.get_metadata_dict(skip_empty=True).items()
                }

    def close(self) -> None:
        with PDFIUM_LOCK:
            self._doc.close()

    def __enter__(self) -> PdfDocument:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def page(self, number: int) -> Iterator[PdfPage]:
        """Page ``number`` (1-based), open while the block runs; holds the pdfium lock."""
        with PDFIUM_LOCK, pdfium_errors(f"reading page {number} of the PDF"):
            page = self._doc[number - 1]
            try:
                yield PdfPage(page, number)
            finally:
                page.close()


class PdfPage:
    """One open page (only inside :meth:`PdfDocument.page`, under the lock)."""

    def __init__(self, page: pdfium.PdfPage, number: int) -> None:
        self._page = page
        self.number = number
        w, h = page.get_size()
        rotation = int(page.get_rotation()) % 360
        self.geometry = PageGeometry(float(w), float(h), rotation)

    def pixel_size(self, scale: float) -> tuple[int, int]:
        """(width, height) of the page rendered at ``scale`` pixels per point (the page is drawn
        to fill exactly this size)."""
        g = self.geometry
        return _side(g.width_pt, scale), _side(g.height_pt, scale)

    def render(self, scale: float) -> np.ndarray:
        """The page as a contiguous BGR uint8 array, drawn on white at ``scale`` pixels per point
        with its annotations' appearances (forms are never initialised): pdfium draws straight
        into a packed buffer owned by Python, and the array is a view of it (no copy)."""
        width, height = self.pixel_size(scale)
        bitmap = pdfium.PdfBitmap.new_native(width, height, pdfium_c.FPDFBitmap_BGR)
        try:
            bitmap.fill_rect((255, 255, 255, 255), 0, 0, width, height)
            pdfium_c.FPDF_RenderPageBitmap(
                bitmap, self._page, 0, 0, width, height, 0, pdfium_c.FPDF_ANNOT
            )
            array: np.ndarray = bitmap.to_numpy()
        finally:
            bitmap.close()  # a native bitmap: the buffer stays alive with the array
        if not array.flags.c_contiguous:  # pragma: no cover - native bitmaps are packed
            array = np.ascontiguousarray(array)
        return array

    def to_pixels(self, scale: float) -> Affine:
        """The affine map from PDF page units (y up, before /Rotate) to the pixels of the page
        rendered at ``scale`` (y down, as displayed), from pdfium's own transform."""
        width, height = self.pixel_size(scale)
        far = 10_000.0

        def device(x: float, y: float) -> tuple[float, float]:
            dx, dy = ctypes.c_int(), ctypes.c_int()
            ok = pdfium_c.FPDF_PageToDevice(
                self._page, 0, 0, width, height, 0, x, y, ctypes.byref(dx), ctypes.byref(dy)
            )
            if not ok:
                raise InvalidImage(f"page {self.number}: its coordinates cannot be mapped")
            return float(dx.value), float(dy.value)

        ox, oy = device(0.0, 0.0)
        xx, xy = device(far, 0.0)
        yx, yy = device(0.0, far)
        return ((xx - ox) / far, (yx - ox) / far, ox, (xy - oy) / far, (yy - oy) / far, oy)

    def chars(self, limit: int) -> list[Char]:
        """The characters of the page's text layer (at most ``limit``; more are not read)."""
        textpage = self._page.get_textpage()
        try:
            return _read_chars(textpage, limit)
        finally:
            textpage.close()


def _read_chars(textpage: pdfium.PdfTextPage, limit: int) -> list[Char]:
    count = min(textpage.count_chars(), limit)
    modes: dict[int | None, int] = {}
    left, right = ctypes.c_double(), ctypes.c_double()
    bottom, top = ctypes.c_double(), ctypes.c_double()
    out: list[Char] = []
    pending_high = 0
    for i in range(count):
        code = int(pdfium_c.FPDFText_GetUnicode(textpage, i))
        if 0xD800 <= code < 0xDC00:
            pending_high = code
            continue
        if 0xDC00 <= code < 0xE000 and pending_high:
            code = 0x10000 + ((pending_high - 0xD800) << 10) + (code - 0xDC00)
        pending_high = 0
        text = chr(code) if 0 < code < 0x110000 else "\ufffd"
        if pdfium_c.FPDFText_GetCharBox(
            textpage, i, ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom),
            ctypes.byref(top),
        ):  # fmt: skip
            box = (left.value, bottom.value, right.value, top.value)
        else:
            box = (0.0, 0.0, 0.0, 0.0)
        obj = pdfium_c.FPDFText_GetTextObject(textpage, i)
        key = ctypes.cast(obj, ctypes.c_void_p).value if obj else None
        mode = modes.get(key)
        if mode is None:
            mode = int(pdfium_c.FPDFTextObj_GetTextRenderMode(obj)) if obj else -1
            modes[key] = mode
        out.append(
            Char(
                text,
                box,
                generated=pdfium_c.FPDFText_IsGenerated(textpage, i) == 1,
                render_mode=mode,
                map_error=pdfium_c.FPDFText_HasUnicodeMapError(textpage, i) == 1,
            )
        )
    return out
