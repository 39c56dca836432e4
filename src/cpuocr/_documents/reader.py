"""Reading a document: a PDF, a multi-page TIFF or one image, page by page, into the document
model.

>>> with OCR() as ocr:                                            # doctest: +SKIP
...     doc = read_document("contract.pdf", ocr=ocr, pages="1-3,7")
...     for page in iter_pages("book.pdf", ocr=ocr):               # one page at a time
...         print(page.number, [line.text for line in page.lines])

The kind is sniffed from the content, never the name: ``%PDF-`` in the first kilobyte is a PDF, a
TIFF that chains more than one page is a multi-page TIFF, anything else goes to the engine's
loader as one image (which refuses what it cannot read).

Pages are rendered (or decoded) and read one at a time: memory holds one page whatever the page
count, and a caller of :func:`iter_pages` may stop early. Work is bounded before it starts: the
page count (``max_pages`` pages read in one call, checked before any page is rendered), each
page's size (rendered within the engine's ``max_pixels`` and :data:`MAX_RENDER_PIXELS`: the DPI
is lowered for an oversized page and ``Page.dpi`` says so; absurd pages are refused) and the
``deadline`` (checked before each page and inside the engine).
"""

from __future__ import annotations

import io
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from .._deadline import Deadline
from .._engine.imaging import ImageSource
from .._engine.pipeline import OCR
from .._types import Line
from ..errors import ConfigError, ImageTooLarge, InvalidImage, WorkLimitExceeded
from . import layout
from .model import DocumentResult, Page, PageSource
from .pdf import PdfDocument, PdfPage, fit_scale
from .textlayer import assess, group_lines
from .tiff import is_tiff, iter_tiff_pages, tiff_pages

TextLayerMode = Literal["auto", "use", "ignore"]
TEXT_LAYER_MODES: tuple[str, ...] = ("auto", "use", "ignore")
DocumentKind = Literal["pdf", "tiff", "image"]
DocumentSource = ImageSource

#: Pages read in one call by default (the library's limit; the doors may set their own). Checked
#: against the pages asked for, before any page is rendered.
DEFAULT_MAX_PAGES = 1000
#: The render resolution of PDF pages, chosen by measurement (BENCHMARKS.md, "PDF pages": the 8
#: OmniDocBench pages as A4 scans, rendered at 100/150/200/300 dpi): 200 dpi reads as well as 300
#: (region CER 5.84% both; 150: 6.22%, 100: 12.5%; the gap is small dense text) for less work
#: (3.9 MP an A4 page against 8.7); the detector's own size budget makes more pixels no better.
DEFAULT_DPI = 200.0
#: Most pixels a PDF page is rendered at (the DPI is lowered past it), besides the engine's own
#: limit. A3 at 200 dpi is 7.8 MP; past ~16 MP a page costs more memory (a 40 MP render and its
#: reading took ~300 MB) while the detector still sees at most 2 MP of it.
MAX_RENDER_PIXELS = 16_000_000
#: The DPI a caller may ask for.
MIN_DPI, MAX_DPI = 36.0, 1200.0
#: Characters of one page's text layer read at most (a page of dense text has a few thousand).
MAX_TEXT_LAYER_CHARS = 200_000
#: The long side, in pixels, of the image a page taken from its text layer is rendered at for an
#: ``on_image`` hook (no reading needs it; it is for a look at the page, e.g. the Web UI's).
IMAGE_HOOK_MAX_SIDE = 1600

#: Called with (page number, BGR image) as each page's image is ready, just before the engine
#: reads it (the engine may then preprocess the array in place: copy what you keep).
ImageHook = Callable[[int, np.ndarray], None]

_PDF_MAGIC = b"%PDF-"
_PAGE_TOKEN = re.compile(r"^\s*(\d+)\s*(?:(-)\s*(\d*)\s*)?$")


# -- pages ------------------------------------------------------------------------------------


def parse_pages(
    pages: str | Sequence[int] | None, page_count: int, max_pages: int | None = None
) -> tuple[int, ...]:
    """The 1-based page numbers ``pages`` selects, ascending, each once: ``None`` is every page;
    a string is comma-separated numbers and ranges (``"1-3,7"``, ``"5-"`` to the end); a sequence
    is page numbers. Bad specs raise :class:`ConfigError` (0, reversed ranges, pages beyond the
    end); more than ``max_pages`` selected raises :class:`WorkLimitExceeded` before the list is
    built."""
    if page_count <= 0:
        raise InvalidImage("the document has no pages")
    intervals: list[tuple[int, int]] = []
    if pages is None:
        intervals.append((1, page_count))
    elif isinstance(pages, str):
        if not pages.strip():
            raise ConfigError("empty page range; write pages like 1-3,7")
        for token in pages.split(","):
            match = _PAGE_TOKEN.match(token)
            if match is None:
                raise ConfigError(
                    f"bad page range {token.strip()!r}; write pages like 1-3,7 or 5- (to the end)"
                )
            first = int(match.group(1))
            if match.group(2):
                last = int(match.group(3)) if match.group(3) else page_count
                if last < first:
                    raise ConfigError(
                        f"page range {first}-{last} is reversed; write {last}-{first}"
                    )
            else:
                last = first
            intervals.append((first, last))
    else:
        for number in pages:
            if isinstance(number, bool) or not isinstance(number, int | np.integer):
                raise ConfigError(f"page numbers are integers; got {number!r}")
            intervals.append((int(number), int(number)))
        if not intervals:
            raise ConfigError("no pages asked for")
    for first, last in intervals:
        if first < 1:
            raise ConfigError(f"pages are numbered from 1; got {first}")
        if last > page_count:
            plural = "page" if page_count == 1 else "pages"
            raise ConfigError(
                f"page {last} is beyond the end: the document has {page_count} {plural}"
            )
    merged: list[tuple[int, int]] = []
    for first, last in sorted(intervals):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    total = sum(last - first + 1 for first, last in merged)
    if max_pages is not None and total > max_pages:
        raise WorkLimitExceeded(
            f"{total} pages asked for; at most {max_pages} pages are read in one call "
            "(max_pages; choose pages with a page range)"
        )
    return tuple(n for first, last in merged for n in range(first, last + 1))


# -- sniffing ---------------------------------------------------------------------------------


def sniff(head: bytes) -> Literal["pdf", "tiff", "other"]:
    """The kind from the first bytes: ``%PDF-`` in the first kilobyte (PDF allows junk before
    its header) or TIFF magic; anything else is for the image loader."""
    if _PDF_MAGIC in head[:1024]:
        return "pdf"
    if is_tiff(head):
        return "tiff"
    return "other"


def _head(source: DocumentSource) -> bytes:
    if isinstance(source, str | Path):
        try:
            with open(source, "rb") as f:
                return f.read(1024)
        except OSError:
            return b""  # the image loader names the problem
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[:1024])
    return b""


def _check_options(text_layer: str, dpi: float | None, max_pages: int) -> float:
    if text_layer not in TEXT_LAYER_MODES:
        raise ConfigError(f"unknown text_layer {text_layer!r}; use one of {TEXT_LAYER_MODES}")
    if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
        raise ConfigError(f"max_pages must be a positive integer; got {max_pages!r}")
    if dpi is None:
        return DEFAULT_DPI
    if not isinstance(dpi, int | float) or not math.isfinite(dpi) or not MIN_DPI <= dpi <= MAX_DPI:
        raise ConfigError(f"dpi must be between {MIN_DPI:g} and {MAX_DPI:g}; got {dpi!r}")
    return float(dpi)


# -- the document reader ----------------------------------------------------------------------


class DocumentReader:
    """An open document: ``kind``, ``page_count``, ``numbers`` (the pages that will be read) and
    ``metadata`` are known once it is open (the limits checked); iterating reads the pages one
    at a time. Close it (or use ``with``) to release the document, also when stopping early."""

    def __init__(
        self,
        source: DocumentSource,
        *,
        ocr: OCR,
        pages: str | Sequence[int] | None = None,
        dpi: float | None = None,
        text_layer: TextLayerMode = "auto",
        max_pages: int = DEFAULT_MAX_PAGES,
        deadline: Deadline | None = None,
        det: bool = True,
        preprocess: str | None = None,
        on_image: ImageHook | None = None,
    ) -> None:
        self._dpi = _check_options(text_layer, dpi, max_pages)
        self._on_image = on_image
        self._ocr = ocr
        self._text_layer = text_layer
        self._deadline = deadline
        self._det = det
        self._preprocess = preprocess
        self._pdf: PdfDocument | None = None
        self._tiff: bytes | None = None
        self._image: ImageSource | None = None
        self.metadata: dict[str, str] = {}
        if deadline is not None:
            deadline.check("opening the document")
        kind = sniff(_head(source))
        if kind == "pdf":
            pdf_source = source if isinstance(source, str | Path) else bytes(source)  # type: ignore[arg-type]
            self._pdf = PdfDocument(pdf_source)
            self.kind: DocumentKind = "pdf"
            self.page_count = self._pdf.page_count
            self.metadata = dict(self._pdf.metadata)
        else:
            data = _tiff_bytes(source, ocr.config.max_bytes) if kind == "tiff" else None
            count = tiff_pages(data) if data is not None else 1
            if data is not None and count > 1:
                self._tiff, self.kind, self.page_count = data, "tiff", count
            else:
                self._image, self.kind, self.page_count = source, "image", 1
        try:
            self.numbers = parse_pages(pages, self.page_count, max_pages)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None
        self._tiff = None
        self._image = None

    def __enter__(self) -> DocumentReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Page]:
        if self._pdf is not None:
            return self._pdf_pages(self._pdf)
        if self._tiff is not None:
            return self._tiff_pages(self._tiff)
        return self._image_pages()

    # -- PDF --

    def _pdf_pages(self, pdf: PdfDocument) -> Iterator[Page]:
        max_pixels = min(self._ocr.config.max_pixels, MAX_RENDER_PIXELS)
        for number in self.numbers:
            self._check_deadline(number)
            started = time.perf_counter()
            image: np.ndarray | None = None  # the page to read, or (text layer) to look at
            lines: list[Line] = []
            with pdf.page(number) as page:
                g = page.geometry
                scale = fit_scale(g.width_pt, g.height_pt, self._dpi, max_pixels)
                width, height = page.pixel_size(scale)
                source: PageSource = "ocr"
                if self._text_layer != "ignore":
                    lines = self._text_lines(page, scale)
                    source = "text_layer" if lines else "ocr"
                if source == "ocr":
                    image = page.render(scale)
                elif self._on_image is not None:  # a look at the page, while it is open
                    side = max(g.width_pt, g.height_pt)
                    image = page.render(min(scale, IMAGE_HOOK_MAX_SIDE / side))
            if image is not None and self._on_image is not None:
                self._on_image(number, image)  # outside the pdfium lock
            if source == "ocr" and image is not None:
                result = self._ocr(
                    image,
                    det=self._det,
                    preprocess=self._preprocess,
                    deadline=self._deadline,
                )
                lines = list(result.lines)
            image = None  # one page image at a time, not kept while the page is yielded
            yield _page(
                number, width, height, scale * 72.0, (g.width_pt, g.height_pt), lines,
                source, g.rotation, started,
            )  # fmt: skip

    def _text_lines(self, page: PdfPage, scale: float) -> list[Line]:
        """The page's text-layer lines when the mode takes them (``use``: any text; ``auto``:
        real text, see textlayer.py), else [] (the page is OCRed)."""
        chars = page.chars(MAX_TEXT_LAYER_CHARS)
        verdict = assess(chars)
        if verdict == "none" or (self._text_layer == "auto" and verdict != "real"):
            return []
        return group_lines(chars, page.to_pixels(scale))

    # -- TIFF and images --

    def _tiff_pages(self, data: bytes) -> Iterator[Page]:
        frames = iter_tiff_pages(data, self.numbers, self._ocr.config.max_pixels)
        try:
            for expected in self.numbers:
                self._check_deadline(expected)
                started = time.perf_counter()
                number, image, dpi = next(frames)
                height, width = image.shape[:2]
                if self._on_image is not None:
                    self._on_image(number, image)
                result = self._ocr(
                    image,
                    det=self._det,
                    preprocess=self._preprocess,
                    deadline=self._deadline,
                )
                del image
                size_pt = (width * 72.0 / dpi, height * 72.0 / dpi)
                yield _page(number, width, height, dpi, size_pt, list(result.lines), "ocr", 0,
                            started)  # fmt: skip
        finally:
            frames.close()

    def _image_pages(self) -> Iterator[Page]:
        source = self._image
        if source is None:
            return
        self._check_deadline(1)
        started = time.perf_counter()
        if self._on_image is not None:  # decoded here (the limits applied) to be shown first
            image = self._ocr.load(source)
            self._on_image(1, image)
            result = self._ocr(
                image,
                det=self._det,
                preprocess=self._preprocess,
                deadline=self._deadline,
            )
            del image
        else:
            result = self._ocr(
                source, det=self._det, preprocess=self._preprocess, deadline=self._deadline
            )
        dpi = _image_dpi(source)
        size_pt = (result.width * 72.0 / dpi, result.height * 72.0 / dpi)
        yield _page(1, result.width, result.height, dpi, size_pt, list(result.lines), "ocr", 0,
                    started)  # fmt: skip

    def _check_deadline(self, number: int) -> None:
        if self._deadline is not None:
            self._deadline.check(f"page {number}")


def _page(
    number: int,
    width: int,
    height: int,
    dpi: float,
    size_pt: tuple[float, float],
    lines: list[Line],
    source: PageSource,
    rotation: int,
    started: float,
) -> Page:
    ordered, blocks = layout.analyze(lines, width, height)
    return Page(
        number=number,
        width=width,
        height=height,
        dpi=dpi,
        size_pt=size_pt,
        lines=ordered,
        blocks=blocks,
        source=source,
        rotation=rotation,
        time_ms=(time.perf_counter() - started) * 1000.0,
    )


def _tiff_bytes(source: DocumentSource, max_bytes: int | None) -> bytes:
    """The bytes of a TIFF source, within the engine's byte limit."""
    if isinstance(source, str | Path):
        path = Path(source)
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise ImageTooLarge(f"file is {size} bytes, over the limit of {max_bytes} bytes")
        return path.read_bytes()
    data = bytes(source)  # type: ignore[arg-type]
    if max_bytes is not None and len(data) > max_bytes:
        raise ImageTooLarge(f"data is {len(data)} bytes, over the limit of {max_bytes} bytes")
    return data


def _image_dpi(source: ImageSource) -> float:
    """The image's own resolution from its header (72 when it has none); never fails."""
    try:
        if isinstance(source, Image.Image):
            info = source.info
        elif isinstance(source, str | Path | bytes | bytearray | memoryview):
            raw = source if isinstance(source, str | Path) else io.BytesIO(bytes(source))
            with Image.open(raw) as img:
                info = dict(img.info)
        else:
            return 72.0
        dpi = info.get("dpi")
        value = float(dpi[0]) if dpi else 0.0
    except Exception:
        return 72.0
    return value if 1.0 <= value <= 10_000.0 else 72.0


def probe_document(
    source: str | Path | bytes,
    *,
    pages: str | Sequence[int] | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_bytes: int | None = None,
) -> tuple[DocumentKind, int, tuple[int, ...]]:
    """What :class:`DocumentReader` would read of the file ``source`` (a path or the file's
    bytes), without an engine and without rendering or decoding a page: its kind, page count and
    the page numbers ``pages`` selects (the same checks and errors: a corrupt or encrypted PDF, a
    bad TIFF chain, a bad range, more than ``max_pages``). An image is one page; the engine
    judges it when read."""
    kind = sniff(_head(source))
    if kind == "pdf":
        with PdfDocument(source) as pdf:
            count = pdf.page_count
    elif kind == "tiff":
        count = tiff_pages(_tiff_bytes(source, max_bytes))
    else:
        count = 1
    document_kind: DocumentKind = "pdf" if kind == "pdf" else "tiff" if count > 1 else "image"
    return document_kind, count, parse_pages(pages, count, max_pages)


# -- the calls --------------------------------------------------------------------------------


def _options(arguments: dict[str, Any]) -> dict[str, Any]:
    """A call's keyword arguments for :class:`DocumentReader` (all but ``source``)."""
    return {k: v for k, v in arguments.items() if k != "source"}


def iter_pages(
    source: DocumentSource,
    *,
    ocr: OCR,
    pages: str | Sequence[int] | None = None,
    dpi: float | None = None,
    text_layer: TextLayerMode = "auto",
    max_pages: int = DEFAULT_MAX_PAGES,
    deadline: Deadline | None = None,
    det: bool = True,
    preprocess: str | None = None,
    on_image: ImageHook | None = None,
) -> Iterator[Page]:
    """The pages of ``source`` as they are read, one at a time (see :func:`read_document`). The
    document is opened at the first ``next()`` and closed when the iterator ends or is closed;
    to know the kind and page count before the first page, use :class:`DocumentReader`."""
    with DocumentReader(source, **_options(locals())) as reader:
        yield from reader


def read_document(
    source: DocumentSource,
    *,
    ocr: OCR,
    pages: str | Sequence[int] | None = None,
    dpi: float | None = None,
    text_layer: TextLayerMode = "auto",
    max_pages: int = DEFAULT_MAX_PAGES,
    deadline: Deadline | None = None,
    det: bool = True,
    preprocess: str | None = None,
    on_image: ImageHook | None = None,
) -> DocumentResult:
    """Read a document: a PDF (path or bytes), a multi-page TIFF (path or bytes) or one image
    (path, bytes, array, PIL image). ``pages``: ``"1-3,7"`` or page numbers (1-based; default
    all); ``dpi``: PDF render resolution (default :data:`DEFAULT_DPI`); ``text_layer``: ``auto``
    takes a PDF page's embedded text where it is real and OCRs the rest, ``use`` takes any
    embedded text, ``ignore`` always OCRs; ``max_pages``: pages read in one call at most
    (WorkLimitExceeded beyond). ``deadline``, ``det`` and ``preprocess`` go to the engine.
    ``on_image(number, image)``, if given, sees each page's BGR image just before the engine reads
    it (a page taken from its text layer is rendered for it, long side at most
    :data:`IMAGE_HOOK_MAX_SIDE`); the engine may write to the array afterwards."""
    with DocumentReader(source, **_options(locals())) as reader:
        read = tuple(reader)
        return DocumentResult(
            pages=read, page_count=reader.page_count, kind=reader.kind, metadata=reader.metadata
        )
