"""Searchable PDF: each page's image under an invisible text layer placed line by line.

**Input.** ``source`` is the document's original bytes.

- A PDF (``%PDF-`` in its first 1024 bytes): its pages are kept as they are (opened with
  pikepdf) and each page that was OCR-read gets the text layer as one more content stream, after
  the original content wrapped in ``q``/``Q`` (so a content stream that leaves its graphics state
  changed cannot move the text); the font is added to the page's resources under a fresh name.
  Pages that were not read (a page range) and pages whose text came from their own text layer
  (``Page.source == "text_layer"``) stay as they are. The file is saved with object streams, so
  an image-only PDF comes out about the size it went in (the text layer is a few KB a page).
- An image: one page per page read (the frame ``number - 1`` of a multi-page TIFF), the page
  ``pixels × 72 / dpi`` points. A JPEG is embedded as it is (DCTDecode, no re-encoding); any
  other image is decoded with PIL and stored Flate-compressed (PNG "Up" predictor) as 1-bit,
  gray, RGB or CMYK pixels, transparency flattened on white. An EXIF/TIFF orientation is applied
  by the matrix that draws the image, never by re-encoding.

**Page pixels to PDF user space.** The engine read the page upright as displayed: a PDF page's
crop box (its media box when it has none) turned by its /Rotate (``Page.rotation``). Pixel
(x, y) (y down) is first scaled to displayed points (the crop box's displayed size over the
page's pixels; ``72 / dpi`` for images), then turned back by the rotation and offset by the crop
box's origin.

**Text placement** (the models: Tesseract's pdfrenderer and OCRmyPDF's hocrtransform). In text
render mode 3 (invisible), per line: the text matrix's x axis runs along the line's baseline (the
bottom edge of its reading frame, see :mod:`.geometry`; any angle, vertical lines downward) and
its y axis up the line, the font size is the line's height, so a selection covers the line's
box. Each word is placed at its own start (``Tm``) with a horizontal scaling (``Tz``) that makes
its advance (500/1000 em per character) equal its width; between two words one space is drawn,
scaled to fill the gap, so extractors see the space and every character lies where the image
shows it. Character positions come from the line's ``chars`` when present, else spread evenly.

The font and its codes: :mod:`.font`.
"""

from __future__ import annotations

import io
import itertools
import math
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pikepdf
from PIL import Image

from .._documents.model import DocumentResult, Page
from .._types import Line, Point
from ..errors import ConfigError, CpuocrError, InvalidImage, ProcessingFailed
from .font import ADVANCE, FONT_NAME, CidEncoder, glyphless_ttf
from .geometry import reading_quad, word_spans

Affine = Callable[[Point], Point]

#: The gap left between two words of the text layer, as a fraction of the line's height.
_WORD_GAP = 0.2

#: The Flate level of the streams this module writes (the font, its maps, images, text layers).
_LEVEL = 9


def is_pdf(source: bytes) -> bool:
    return b"%PDF-" in source[:1024]


def write_pdf(document: DocumentResult, source: bytes | None) -> bytes:
    if source is None:
        raise ConfigError("the pdf format needs the source bytes (the PDF or image read)")
    with _errors():
        if is_pdf(source):
            return _onto_pdf(document, source)
        return _from_image(document, source)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except CpuocrError:
        raise
    except pikepdf.PasswordError:
        raise InvalidImage("the PDF is encrypted: it needs a password") from None
    except (pikepdf.PdfError, OSError, SyntaxError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise InvalidImage(f"the source could not be read again ({detail})") from exc
    except Exception as exc:
        detail = " ".join(str(exc).split())[:300]
        raise ProcessingFailed(
            f"the PDF could not be written ({type(exc).__name__}: {detail})"
        ) from exc


# -- The font -------------------------------------------------------------------------------


class _Font:
    """The glyphless Type0 font, made once per output document."""

    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.pdf = pdf
        self.codes = CidEncoder()
        ttf = glyphless_ttf()
        font_file = _flate(pdf, ttf)
        font_file.Length1 = len(ttf)
        descriptor = pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor,
            FontName=pikepdf.Name("/" + FONT_NAME),
            Flags=5,  # fixed pitch, symbolic
            FontBBox=[0, 0, ADVANCE, 1000],
            ItalicAngle=0,
            Ascent=1000,
            Descent=-1,  # "must be negative"; glyphs stand on the baseline
            CapHeight=1000,
            StemV=80,
            FontFile2=font_file,
        )
        cid_font = pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.CIDFontType2,
            BaseFont=pikepdf.Name("/" + FONT_NAME),
            CIDSystemInfo=pikepdf.Dictionary(
                Registry=pikepdf.String("Adobe"),
                Ordering=pikepdf.String("Identity"),
                Supplement=0,
            ),
            FontDescriptor=pdf.make_indirect(descriptor),
            DW=ADVANCE,
            CIDToGIDMap=_flate(pdf, b"\x00\x01" * 65536),  # every CID -> the blank glyph
        )
        self.obj = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font,
                Subtype=pikepdf.Name.Type0,
                BaseFont=pikepdf.Name("/" + FONT_NAME),
                Encoding=pikepdf.Name("/Identity-H"),
                DescendantFonts=[pdf.make_indirect(cid_font)],
            )
        )

    def finish(self) -> None:
        """Attach the ToUnicode CMap of every character used (call after the last page)."""
        self.obj.ToUnicode = _flate(self.pdf, self.codes.to_unicode())


def _flate(pdf: pikepdf.Pdf, data: bytes) -> pikepdf.Stream:
    stream = pikepdf.Stream(pdf, zlib.compress(data, _LEVEL))
    stream.Filter = pikepdf.Name.FlateDecode
    return stream


# -- The text layer -------------------------------------------------------------------------


def _num(v: float) -> str:
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text_layer(page: Page, to_pdf: Affine, font_name: str, codes: CidEncoder) -> bytes:
    """The content stream of a page's invisible text (see the module docstring)."""
    ops: list[str] = []
    for line in page.lines:
        ops.extend(_line_ops(line, to_pdf, font_name, codes))
    if not ops:
        return b""
    return ("q\nBT\n3 Tr\n" + "\n".join(ops) + "\nET\nQ\n").encode("ascii")


def _line_ops(line: Line, to_pdf: Affine, font_name: str, codes: CidEncoder) -> list[str]:
    tl, tr, br, bl = (to_pdf(p) for p in reading_quad(line))
    # Baseline: the bottom edge; direction and length averaged with the top edge.
    dx = (br[0] - bl[0] + tr[0] - tl[0]) / 2.0
    dy = (br[1] - bl[1] + tr[1] - tl[1]) / 2.0
    length = math.hypot(dx, dy)
    if length < 1e-3:
        return []
    ux, uy = dx / length, dy / length
    # Height: the distance of the top corners from the baseline, along its normal (-uy, ux).
    height = ((tl[0] - bl[0]) * -uy + (tl[1] - bl[1]) * ux + (tr[0] - br[0]) * -uy) / 2.0
    height += (tr[1] - br[1]) * ux / 2.0
    if height < 1e-3:
        return []
    words = word_spans(line)
    if not words:
        return []
    unit = height * ADVANCE / 1000.0  # the advance of one character at 100% scaling
    # One advance for the whole line (one text object: pdfium orders separate objects of a
    # line by x, which reverses the words of a line read upside down): the mean pitch of its
    # characters, lowered where a word would come closer to the next one than 0.2 of the line's
    # height (poppler sees a space in a gap of 0.15 of the font size) or reach past the end of
    # the box; at least half the pitch.
    chars = sum(len(w.text) for w in words)
    pitch = sum(w.end - w.start for w in words) * length / chars
    fits = [
        ((after.start - w.start) * length - _WORD_GAP * height) / len(w.text)
        for w, after in itertools.pairwise(words)
    ]
    last = words[-1]
    advance = max(min([pitch, *fits]), 0.5 * pitch)
    advance = min(advance, (1.0 - last.start) * length / len(last.text))
    if advance <= 1e-3:
        return []
    scale = advance / unit  # the horizontal scaling (Tz / 100)
    items: list[str] = []
    pen = 0.0  # along the baseline from its start, in points
    for i, word in enumerate(words):
        target = word.start * length
        if abs(target - pen) > 1e-3:
            items.append(_num(-(target - pen) * 1000.0 / (height * scale)))
        items.append(f"<{codes.encode(word.text)}>")
        pen = target + len(word.text) * advance
        if i + 1 < len(words):
            items.append(f"<{codes.encode(' ')}>")
            pen += advance
    return [
        f"/{font_name} {_num(height)} Tf {_num(100.0 * scale)} Tz",
        f"{_num(ux)} {_num(uy)} {_num(-uy)} {_num(ux)} {_num(bl[0])} {_num(bl[1])} Tm",
        f"[{' '.join(items)}] TJ",
    ]


# -- PDF in ---------------------------------------------------------------------------------


def _onto_pdf(document: DocumentResult, source: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(source)) as pdf:
        font = _Font(pdf)
        opened = pdf.make_stream(b"q\n")
        for page in document.pages:
            if page.source == "text_layer" or not page.lines:
                continue
            if not 1 <= page.number <= len(pdf.pages):
                raise ConfigError(
                    f"page {page.number} is not in the source PDF ({len(pdf.pages)} pages)"
                )
            target = pdf.pages[page.number - 1]
            name = str(target.add_resource(font.obj, pikepdf.Name.Font, prefix="FOcr"))
            layer = text_layer(page, _pdf_page_map(page, target), name.lstrip("/"), font.codes)
            if not layer:
                continue
            target.contents_add(opened, prepend=True)
            target.contents_add(_flate(pdf, b"Q\n" + layer))
        font.finish()
        out = io.BytesIO()
        pdf.save(
            out,
            compress_streams=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
        )
        return out.getvalue()


def _pdf_page_map(page: Page, target: pikepdf.Page) -> Affine:
    """Page pixels -> the PDF page's default user space (see the module docstring)."""
    box = [float(v) for v in target.cropbox]
    x0, x1 = sorted((box[0], box[2]))
    y0, y1 = sorted((box[1], box[3]))
    rotation = page.rotation % 360
    shown_w, shown_h = (y1 - y0, x1 - x0) if rotation in (90, 270) else (x1 - x0, y1 - y0)
    kx = shown_w / page.width if page.width > 0 else 72.0 / page.dpi
    ky = shown_h / page.height if page.height > 0 else 72.0 / page.dpi

    def to_pdf(p: Point) -> Point:
        u, v = p[0] * kx, p[1] * ky  # displayed points from the top-left corner, v down
        if rotation == 90:
            return (x0 + v, y0 + u)
        if rotation == 180:
            return (x1 - u, y0 + v)
        if rotation == 270:
            return (x1 - v, y1 - u)
        return (x0 + u, y1 - v)

    return to_pdf


# -- Image in -------------------------------------------------------------------------------

_ORIENTATION_TAG = 0x0112


def _from_image(document: DocumentResult, source: bytes) -> bytes:
    pdf = pikepdf.new()
    font = _Font(pdf)
    for page in document.pages:
        k = 72.0 / page.dpi if page.dpi > 0 else 1.0
        width_pt, height_pt = page.width * k, page.height * k
        image, stored, orientation = _image_xobject(pdf, source, page.number - 1)
        new = pdf.add_blank_page(page_size=(width_pt, height_pt))
        new.obj.Resources = pikepdf.Dictionary(
            XObject=pikepdf.Dictionary(Im0=image), Font=pikepdf.Dictionary(FOcr=font.obj)
        )
        draw = _image_matrix(stored, orientation, width_pt, height_pt)
        content = f"q {' '.join(_num(v) for v in draw)} cm /Im0 Do Q\n".encode("ascii")

        def to_pdf(p: Point, k: float = k, top: float = height_pt) -> Point:
            return (p[0] * k, top - p[1] * k)

        content += text_layer(page, to_pdf, "FOcr", font.codes)
        new.obj.Contents = _flate(pdf, content)
    font.finish()
    out = io.BytesIO()
    pdf.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def _image_matrix(
    stored: tuple[int, int], orientation: int, width_pt: float, height_pt: float
) -> tuple[float, float, float, float, float, float]:
    """The ``cm`` that draws an image of ``stored`` (width, height) pixels, turned upright by its
    EXIF ``orientation``, over the whole page."""
    sw, sh = stored
    turned = orientation in (5, 6, 7, 8)
    kx = width_pt / (sh if turned else sw)
    ky = height_pt / (sw if turned else sh)

    def upright(c: float, r: float) -> tuple[float, float]:  # stored pixel -> upright pixel
        return {
            1: (c, r),
            2: (sw - c, r),
            3: (sw - c, sh - r),
            4: (c, sh - r),
            5: (r, c),
            6: (sh - r, c),
            7: (sh - r, sw - c),
            8: (r, sw - c),
        }.get(orientation, (c, r))

    def at(a: float, t: float) -> tuple[float, float]:  # image space (a right, t up) -> page
        x, y = upright(a * sw, (1.0 - t) * sh)
        return (x * kx, height_pt - y * ky)

    ox, oy = at(0.0, 0.0)
    ax, ay = at(1.0, 0.0)
    tx, ty = at(0.0, 1.0)
    return (ax - ox, ay - oy, tx - ox, ty - oy, ox, oy)


def _image_xobject(
    pdf: pikepdf.Pdf, source: bytes, frame: int
) -> tuple[pikepdf.Stream, tuple[int, int], int]:
    """The image XObject of frame ``frame`` of ``source``, its stored size and orientation."""
    with Image.open(io.BytesIO(source)) as img:
        if frame > 0:
            img.seek(frame)
        orientation = img.getexif().get(_ORIENTATION_TAG, 1)
        if not (isinstance(orientation, int) and 1 <= orientation <= 8):
            orientation = 1
        size = img.size
        if img.format == "JPEG" and img.mode in ("L", "RGB") and frame == 0:
            stream = pikepdf.Stream(pdf, source)
            stream.Filter = pikepdf.Name.DCTDecode
            components = 1 if img.mode == "L" else 3
            bpc = 8
        else:
            raw, components, bpc = _pixels(img)
            rows = size[1]
            stream = pikepdf.Stream(pdf, zlib.compress(_up_filter(raw, rows), _LEVEL))
            stream.Filter = pikepdf.Name.FlateDecode
            stream.DecodeParms = pikepdf.Dictionary(
                Predictor=15, Colors=components, BitsPerComponent=bpc, Columns=size[0]
            )
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Image
    stream.Width, stream.Height = size
    stream.BitsPerComponent = bpc
    stream.ColorSpace = {
        1: pikepdf.Name.DeviceGray,
        3: pikepdf.Name.DeviceRGB,
        4: pikepdf.Name.DeviceCMYK,
    }[components]
    return stream, size, orientation


def _pixels(img: Image.Image) -> tuple[bytes, int, int]:
    """Raw rows of ``img`` for PDF: (bytes, components, bits per component)."""
    mode = img.mode
    if mode == "1":
        return img.tobytes(), 1, 1  # 1 = white, as DeviceGray reads it
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat.alpha_composite(rgba)
        if mode == "LA":
            return flat.convert("L").tobytes(), 1, 8
        return flat.convert("RGB").tobytes(), 3, 8
    if mode == "L":
        return img.tobytes(), 1, 8
    if mode == "CMYK":
        return img.tobytes(), 4, 8
    if mode.startswith("I") or mode == "F":
        values = np.asarray(img, dtype=np.float64)
        lo, hi = float(values.min(initial=0.0)), float(values.max(initial=0.0))
        gray = (values - lo) * (255.0 / (hi - lo or 1.0))
        return np.rint(gray).astype(np.uint8).tobytes(), 1, 8
    return img.convert("RGB").tobytes(), 3, 8


def _up_filter(raw: bytes, rows: int) -> bytes:
    """Rows of ``raw`` each prefixed by the PNG filter type 2 (Up): each byte minus the byte
    above it. Text scans compress much better so."""
    if rows <= 0 or not raw:
        return raw
    data = np.frombuffer(raw, np.uint8).reshape(rows, -1)
    out = np.empty((rows, data.shape[1] + 1), np.uint8)
    out[:, 0] = 2
    out[0, 1:] = data[0]
    np.subtract(data[1:], data[:-1], out=out[1:, 1:])
    return out.tobytes()
