"""The one image loader: path / bytes / numpy array / PIL image → BGR uint8.

Size limits are checked from the file header *before* any pixel is decoded, so a small file that
claims to be 60000×60000 costs nothing. Only raster formats we can decode safely are opened (PIL is
told the list, so e.g. EPS never reaches Ghostscript). EXIF orientation is applied, alpha is
flattened on a backdrop chosen from the content (white, or black under light ink: see
:func:`choose_backdrop`), 16-bit and float images are scaled to 8 bits, palette/CMYK/gray are
converted.

Within the byte and pixel limits a file can still ask its decoder for unbounded work (20000 empty
progressive JPEG scans, two million TIFF strips, a million PNG chunks, a 40-megapixel RLE bitmap
decoded in Python) or memory. :func:`check_decode_work` reads the structure of the bytes before
PIL is called and refuses such files with :class:`WorkLimitExceeded`; the working memory of the
decode is estimated from the header and capped too. Conversion to BGR then works in bands of rows,
so it never holds more than the decoded image, the result and one band.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import io
import re
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import ImageTooLarge, InvalidImage, UnsupportedFormat, WorkLimitExceeded

DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

#: PIL format names we open. Anything else is refused before decoding.
DECODABLE_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "TIFF", "GIF", "PPM")

# Magic numbers of files we recognise but do not decode: a precise 415, not "not an image".
_KNOWN_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "PDF"),
    (b"<svg", "SVG"),
    (b"<?xml", "XML/SVG"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"%!PS", "PostScript"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"PK\x03\x04", "ZIP"),
    (b"\x1f\x8b", "GZIP"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
)
_FTYP_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"avif": "AVIF", b"isom": "MP4"}

ImageSource = str | Path | bytes | bytearray | memoryview | np.ndarray | Image.Image


def sniff_unsupported(head: bytes) -> str | None:
    """Name of a recognised-but-unsupported format from the first bytes, else None."""
    stripped = head.lstrip()
    for magic, name in _KNOWN_UNSUPPORTED:
        if head.startswith(magic) or stripped[:5].lower().startswith(magic.lower()):
            return name
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "ISO media")
    return None


# -- decoder work, checked from the bytes before any decoder runs ------------------------------
#
# Each cap is far above what real files need and far below what makes a decoder slow; the cost
# figures are PIL 13 / libjpeg-turbo on one core of a laptop-class CPU.

#: Scans of one JPEG. libjpeg walks every coefficient block of the frame once per scan (~2 ms a
#: scan at 40 MP, however empty the scan): 20000 scans in a 5 KB file held a worker 45–85 s.
#: Real progressive JPEGs have 6–12 scans (libjpeg's default script: 10 for colour, 6 for gray;
#: mozjpeg and jpegtran scripts stay under 20); a baseline JPEG has 1 to 4 (one per component).
MAX_JPEG_SCANS = 100
#: Marker segments of one JPEG (APPn, DQT, DHT, SOS…), read one by one by PIL and libjpeg. A real
#: file has tens (ICC profiles and XMP split over 64 KB segments: a few hundred at most).
MAX_JPEG_SEGMENTS = 10_000
#: Strips or tiles of a TIFF's first page. PIL builds a Python tile per strip when it opens the
#: file (~3.5 µs and ~350 bytes each: two million strips took 7 s and 700 MB). Writers use strips
#: of 8–64 KB or one row each (6600 strips for a 40 MP page) and tiles of 256×256 (610 at 40 MP).
MAX_TIFF_STRIPS = 100_000
#: Chunks of one PNG, each a round of PIL's Python chunk reader (~1.6 µs; 1.5 million empty
#: chunks: 2.5 s, and 170 MB for private ones). libpng writes 8 KB IDAT chunks (2560 in 20 MB);
#: a writer that puts each row in its own chunk needs one per row.
MAX_PNG_CHUNKS = 100_000
#: Blocks (extensions and their sub-blocks) before the first image of a GIF, each a round of
#: PIL's Python reader. Real files have a handful (graphic control, NETSCAPE loop, comments, XMP).
MAX_GIF_BLOCKS = 10_000
#: RLE-compressed BMPs are decoded by PIL in pure Python: ~0.3 µs per byte of RLE data and
#: ~0.1 µs per pixel of row padding, one pixel at a time for RLE4 (a 1 KB RLE8 file of
#: 40 MP took 3.6 s; 19 MB of one-pixel runs 3.2 s). RLE is for small palette graphics; bigger
#: pictures are stored uncompressed.
MAX_BMP_RLE_PIXELS = 4_000_000
MAX_BMP_RLE_BYTES = 4 * 1024 * 1024

#: Working memory of one decode (the decoded image in PIL's layout, the decoder's own buffers and
#: the BGR result), estimated from the header. Every image within the default 40 MP limit fits
#: (the worst, a 40 MP animated WebP: ~0.9 GB); it bites when ``max_pixels`` is raised.
DEFAULT_MAX_DECODE_BYTES = 1024 * 1024 * 1024

_JPEG_NEXT_MARKER = re.compile(rb"\xff+[^\x00\xd0-\xd7\xff]")
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_PROGRESSIVE_SOF = frozenset({0xC2, 0xC6, 0xCA, 0xCE})


@dataclasses.dataclass(frozen=True)
class _DecodeWork:
    """What the byte scan learnt that the memory estimate needs (JPEG only)."""

    jpeg_scans: int = 0
    jpeg_components: int = 0
    jpeg_progressive: bool = False


def check_decode_work(data: bytes) -> None:
    """Refuse (:class:`WorkLimitExceeded`) a file whose decoding would do unbounded work; reads
    only the structure of the bytes (cost: well under a millisecond per cap's worth of items)."""
    _scan_decode_work(data)


def _scan_decode_work(data: bytes) -> _DecodeWork:
    if data.startswith(b"\xff\xd8"):
        return _jpeg_work(data)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        _png_work(data)
    elif data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        _tiff_work(data)
    elif data.startswith((b"GIF87a", b"GIF89a")):
        _gif_work(data)
    elif data.startswith(b"BM"):
        _bmp_work(data)
    return _DecodeWork()


def _jpeg_work(data: bytes) -> _DecodeWork:
    """Walk the marker segments up to the first EOI; entropy-coded data after each SOS is skipped
    to the next marker (0xFF not followed by a stuffed 0x00, a restart marker or fill)."""
    scans = segments = components = 0
    progressive = False
    pos, end = 2, len(data)
    while pos + 1 < end:
        if data[pos] != 0xFF or data[pos + 1] in (0x00, 0xFF) or 0xD0 <= data[pos + 1] <= 0xD7:
            found = _JPEG_NEXT_MARKER.search(data, pos)
            if found is None:
                break
            pos = found.end() - 2
            continue
        marker = data[pos + 1]
        if marker == 0xD9:  # EOI: libjpeg stops here (MPO files put their next image after it)
            break
        if marker in (0xD8, 0x01):  # SOI, TEM: no length
            pos += 2
            continue
        if pos + 4 > end:
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        segments += 1
        if segments > MAX_JPEG_SEGMENTS:
            raise WorkLimitExceeded(
                f"JPEG has more than {MAX_JPEG_SEGMENTS} marker segments; "
                f"at most {MAX_JPEG_SEGMENTS} are read"
            )
        if marker == 0xDA:
            scans += 1
            if scans > MAX_JPEG_SCANS:
                total = scans + _count_remaining_scans(data, pos + 2 + length)
                raise WorkLimitExceeded(
                    f"JPEG has {total} scans; at most {MAX_JPEG_SCANS} are decoded"
                )
        elif marker in _JPEG_SOF and pos + 10 <= end and not components:
            components = data[pos + 9]
            progressive = marker in _JPEG_PROGRESSIVE_SOF
        pos += 2 + length
    return _DecodeWork(scans, components, progressive)


def _count_remaining_scans(data: bytes, pos: int) -> int:
    """SOS markers after ``pos`` up to EOI, for the error message only (a C-speed search)."""
    eoi = data.find(b"\xff\xd9", pos)
    return data.count(b"\xff\xda", pos, eoi if eoi >= 0 else len(data))


def _png_work(data: bytes) -> None:
    pos, end, chunks = 8, len(data), 0
    while pos + 8 <= end:
        (length,) = struct.unpack_from(">I", data, pos)
        chunks += 1
        if chunks > MAX_PNG_CHUNKS:
            raise WorkLimitExceeded(
                f"PNG has more than {MAX_PNG_CHUNKS} chunks; at most {MAX_PNG_CHUNKS} are read"
            )
        if data[pos + 4 : pos + 8] == b"IEND":
            break
        pos += 12 + length


_TIFF_TYPE_SIZES = {3: 2, 4: 4, 16: 8}  # SHORT, LONG, LONG8: the types of strip offsets


def _tiff_work(data: bytes) -> None:
    """Count the strips or tiles of the first page (what PIL opens) from its IFD entries."""
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    try:
        if big:  # BigTIFF: 8-byte offsets and counts, 20-byte entries
            (ifd,) = struct.unpack_from(order + "Q", data, 8)
            (entries,) = struct.unpack_from(order + "Q", data, ifd)
            first, size, count_fmt = ifd + 8, 20, "Q"
        else:
            (ifd,) = struct.unpack_from(order + "I", data, 4)
            (entries,) = struct.unpack_from(order + "H", data, ifd)
            first, size, count_fmt = ifd + 2, 12, "I"
        for i in range(min(entries, 65535)):
            at = first + i * size
            (tag,) = struct.unpack_from(order + "H", data, at)
            if tag in (273, 324):  # StripOffsets, TileOffsets
                (kind_id, count) = struct.unpack_from(order + "H" + count_fmt, data, at + 2)
                if count * _TIFF_TYPE_SIZES.get(kind_id, 1) > len(data):
                    raise InvalidImage(
                        f"corrupt TIFF header: tag {tag} claims {count} values, "
                        f"more than the {len(data)}-byte file holds"
                    )
                if count > MAX_TIFF_STRIPS:
                    kind = "strips" if tag == 273 else "tiles"
                    raise WorkLimitExceeded(
                        f"TIFF has {count} {kind}; at most {MAX_TIFF_STRIPS} are decoded"
                    )
    except struct.error:
        return  # a damaged header: PIL's open refuses it with its own message


def _gif_work(data: bytes) -> None:
    """Count the extension blocks and sub-blocks before the first image descriptor."""
    pos, end, blocks = 13, len(data), 0
    if end > 10 and data[10] & 0x80:
        pos += 3 << ((data[10] & 7) + 1)  # global colour table
    while pos < end and data[pos] == 0x21:  # extension introducer
        pos += 2
        while pos < end:
            blocks += 1
            if blocks > MAX_GIF_BLOCKS:
                raise WorkLimitExceeded(
                    f"GIF has more than {MAX_GIF_BLOCKS} blocks before its first image; "
                    f"at most {MAX_GIF_BLOCKS} are read"
                )
            size = data[pos]
            pos += 1 + size
            if size == 0:
                break


def _bmp_work(data: bytes) -> None:
    if len(data) < 34:
        return
    (header_size,) = struct.unpack_from("<I", data, 14)
    if header_size < 40:
        return  # OS/2 core header: no compression
    width, height, _, bits, compression = struct.unpack_from("<iiHHI", data, 18)
    if compression not in (1, 2) or bits not in (4, 8):  # BI_RLE8, BI_RLE4
        return
    pixels = abs(width) * abs(height)
    if pixels > MAX_BMP_RLE_PIXELS:
        raise WorkLimitExceeded(
            f"BMP is RLE-compressed and {abs(width)}×{abs(height)} = {pixels / 1e6:.1f} MP; "
            f"at most {MAX_BMP_RLE_PIXELS / 1e6:.1f} MP of RLE bitmap are decoded"
        )
    (offset,) = struct.unpack_from("<I", data, 10)
    rle_bytes = len(data) - offset
    if rle_bytes > MAX_BMP_RLE_BYTES:
        raise WorkLimitExceeded(
            f"BMP has {rle_bytes} bytes of RLE data; at most {MAX_BMP_RLE_BYTES} are decoded"
        )


# -- decode memory ------------------------------------------------------------------------------

#: Bytes per pixel of PIL's storage of each mode (everything not listed: 4).
_PIL_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}


def decode_memory_estimate(img: Image.Image, work: _DecodeWork | None = None) -> int:
    """Bytes one decode of ``img`` holds at its peak: PIL's image, the decoder's own buffers (a
    multi-scan JPEG keeps 2 bytes of coefficients per sample; an animated WebP its canvases),
    the BGR result and a rotated copy of it (EXIF orientation)."""
    w, h = img.size
    per_pixel = _PIL_BYTES_PER_PIXEL.get(img.mode, 4) + 3 + 3
    if work is not None and (work.jpeg_progressive or work.jpeg_scans > 1):
        per_pixel += 2 * max(1, work.jpeg_components)
    if img.format == "WEBP":
        per_pixel += 4 * (3 if getattr(img, "n_frames", 1) > 1 else 1)
    return w * h * per_pixel


def _check_decode_memory(img: Image.Image, work: _DecodeWork, max_decode_bytes: int) -> None:
    need = decode_memory_estimate(img, work)
    if need > max_decode_bytes:
        w, h = img.size
        raise WorkLimitExceeded(
            f"decoding this {w}×{h} {img.format} ({img.mode}) needs about {need >> 20} MiB; "
            f"at most {max_decode_bytes >> 20} MiB are allowed"
        )


@functools.cache
def _silence_libtiff_errors() -> None:
    """libtiff prints its decode errors ("LZWDecode: Not enough data at scanline 0") straight to
    the process's stderr, where they break the CLI's one-line-per-bad-file contract; PIL raises
    an OSError for the same failure anyway (→ InvalidImage). Unset libtiff's error handler in the
    copy PIL loaded. Best effort: without it only the extra stderr line comes back. Done once, at
    the first decode (not at import: importing cpuocr touches no C library's global state)."""
    try:
        from PIL import TiffImagePlugin  # noqa: F401  (loads PIL's _imaging and its libtiff)

        maps = Path("/proc/self/maps").read_text()
        paths = {line.split()[-1] for line in maps.splitlines() if "libtiff" in line}
        for path in paths:
            libtiff = ctypes.CDLL(path)
            libtiff.TIFFSetErrorHandler.argtypes = [ctypes.c_void_p]
            libtiff.TIFFSetErrorHandler.restype = ctypes.c_void_p
            libtiff.TIFFSetErrorHandler(None)
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def _quiet_pil() -> Iterator[None]:
    """PIL warns about damaged files it can still read ("Corrupt EXIF data", "Truncated File
    Read", bomb warnings under our own pixel limit). The input is the caller's problem, not a
    warning about the program: where warnings are errors (pytest, ``-W error``) they would escape
    as a non-cpuocr exception, so they are silenced while opening and decoding."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _open(data: bytes) -> Image.Image:
    if not data:
        raise InvalidImage("the file is empty (0 bytes)")
    _silence_libtiff_errors()
    try:
        with _quiet_pil():
            return Image.open(io.BytesIO(data), formats=DECODABLE_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"image dimensions are too large: {exc}") from None
    except UnidentifiedImageError:
        name = sniff_unsupported(data[:64])
        if name is not None:
            if name == "PDF":
                raise UnsupportedFormat(
                    "a PDF is a document, not one image: read it page by page "
                    "(read_document, cpuocr FILE.pdf, or alone to POST /ocr)"
                ) from None
            raise UnsupportedFormat(
                f"{name} files are not supported; send JPEG, PNG, BMP, WebP, TIFF or GIF"
            ) from None
        raise InvalidImage(
            "not an image: the data is not a JPEG, PNG, BMP, WebP, TIFF or GIF"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImage(f"corrupt image header: {exc}") from None


def probe_image(
    data: bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES,
) -> tuple[str, int, int]:
    """(format, width, height) from the header only; raises like :func:`load_image`, including
    its :class:`WorkLimitExceeded` checks (nothing is decoded)."""
    work = _scan_decode_work(data)
    img = _open(data)
    _check_size(img.size, max_pixels)
    _check_decode_memory(img, work, max_decode_bytes)
    return str(img.format), img.size[0], img.size[1]


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise InvalidImage(f"image has an empty size {w}×{h}")
    if w * h > max_pixels:
        raise ImageTooLarge(
            f"image is {w}×{h} = {w * h / 1e6:.1f} MP, over the limit of {max_pixels / 1e6:.1f} MP"
        )


def load_image(
    source: ImageSource,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES,
) -> np.ndarray:
    """Decode ``source`` to a contiguous BGR uint8 array (H, W, 3)."""
    if isinstance(source, np.ndarray):
        return array_to_bgr(source, max_pixels)
    if isinstance(source, Image.Image):
        _check_size(source.size, max_pixels)
        try:
            with _quiet_pil():
                return _pil_to_bgr(source)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise InvalidImage(f"corrupt or truncated image data: {exc}") from None
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise InvalidImage(f"no such file: {path}")
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise ImageTooLarge(f"file is {size} bytes, over the limit of {max_bytes} bytes")
        data = path.read_bytes()
    elif isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        raise InvalidImage(f"cannot read an image from a {type(source).__name__}")
    if max_bytes is not None and len(data) > max_bytes:
        raise ImageTooLarge(f"data is {len(data)} bytes, over the limit of {max_bytes} bytes")
    work = _scan_decode_work(data)
    img = _open(data)
    _check_size(img.size, max_pixels)
    _check_decode_memory(img, work, max_decode_bytes)
    try:
        with _quiet_pil():
            img.load()
            return _pil_to_bgr(img, owned=True)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImage(f"corrupt or truncated image data: {exc}") from None
    except MemoryError:
        raise ImageTooLarge("image needs more memory to decode than is available") from None
    finally:
        img.close()


#: Pixels converted at a time: bands of this many pixels keep the temporaries of the conversion
#: (RGBA bytes, integer alpha products, scaled 16-bit values) a few MB whatever the image size.
BAND_PIXELS = 1 << 20

_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_EXIF_ORIENTATION = 0x0112


def _bands(width: int, height: int) -> Iterator[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) boxes of at most about BAND_PIXELS, covering the image row-major: whole
    rows when a row fits, pieces of one row when it does not (a 40000000×1 image)."""
    if width <= BAND_PIXELS:
        rows = max(1, BAND_PIXELS // width)
        for y in range(0, height, rows):
            yield 0, y, width, min(height, y + rows)
    else:
        for y in range(height):
            for x in range(0, width, BAND_PIXELS):
                yield x, y, min(width, x + BAND_PIXELS), y + 1


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, KeyError, TypeError):
        return 1  # damaged EXIF: decode the picture as stored
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _pil_to_bgr(img: Image.Image, *, owned: bool = False) -> np.ndarray:
    """BGR uint8 of a PIL image, converted in bands (see :data:`BAND_PIXELS`) into one result
    array, then turned upright by its EXIF orientation. ``owned``: ``img`` is ours and is closed
    (its pixels freed) before the turn, so the decoded image and a turned copy never coexist."""
    orientation = _orientation(img)
    img.load()
    w, h = img.size
    out = np.empty((h, w, 3), np.uint8)
    mode = img.mode
    if mode in _HIGH_DEPTH_MODES:
        scale = _uint8_scale(img)
        for box in _bands(w, h):
            x0, y0, x1, y1 = box
            scaled = _apply_scale(np.asarray(img.crop(box)), scale)
            out[y0:y1, x0:x1] = scaled[:, :, None]
    elif mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        backdrop = _pil_backdrop(img)
        for box in _bands(w, h):
            x0, y0, x1, y1 = box
            rgba = np.asarray(img.crop(box).convert("RGBA"))
            _flatten(rgba[:, :, 2::-1], rgba[:, :, 3], out[y0:y1, x0:x1], backdrop)
    elif mode in ("L", "1"):
        for box in _bands(w, h):
            x0, y0, x1, y1 = box
            cut = img.crop(box)
            gray = np.asarray(cut if mode == "L" else cut.convert("L"))
            out[y0:y1, x0:x1] = gray[:, :, None]
    else:
        for box in _bands(w, h):
            x0, y0, x1, y1 = box
            piece = img.crop(box)
            if piece.mode != "RGB":
                piece = piece.convert("RGB")
            raw = piece.tobytes("raw", "BGR")
            out[y0:y1, x0:x1] = np.frombuffer(raw, np.uint8).reshape(y1 - y0, x1 - x0, 3)
    if orientation == 1:
        return out
    if owned:
        img.close()
    return _orient(out, orientation)


def _orient(bgr: np.ndarray, orientation: int) -> np.ndarray:
    """EXIF orientation 2–8 applied as PIL's ImageOps.exif_transpose does (one contiguous copy)."""
    view = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
        8: lambda a: a.transpose(1, 0, 2)[::-1],
    }[orientation](bgr)
    return np.ascontiguousarray(view)


#: Alpha from which a pixel counts as visible content when the backdrop is chosen.
ALPHA_VISIBLE = 128
#: Mean lightness (0–255 luma) of the visible pixels from which they are light ink…
LIGHT_INK = 160
#: …provided at most this share of them is dark (luma < 128): light content with dark ink of its
#: own (a white page with black text, partly transparent) keeps the white backdrop.
DARK_SHARE = 0.02
#: Side of the subsample the backdrop is chosen from (at most SAMPLE_SIDE² pixels: one band).
SAMPLE_SIDE = 1024


def choose_backdrop(luma: np.ndarray, alpha: np.ndarray) -> int:
    """The backdrop (0 or 255) that transparent pixels are flattened on, from a sample of the
    image's lightness and alpha: black when the visible pixels (alpha ≥ :data:`ALPHA_VISIBLE`)
    are light ink — white text on a transparent background would vanish on white — else white.
    An opaque sample (nothing to flatten) or a fully transparent one gets white, as always."""
    visible = alpha >= ALPHA_VISIBLE
    n = int(np.count_nonzero(visible))
    if n == 0 or bool(np.all(alpha == 255)):
        return 255
    seen = luma[visible].astype(np.float32)
    light = float(seen.mean()) >= LIGHT_INK
    dark_share = float(np.count_nonzero(seen < 128)) / n
    return 0 if light and dark_share <= DARK_SHARE else 255


def _luma(color: np.ndarray) -> np.ndarray:
    """Rec. 601 lightness of (…, 3) BGR or (…, 1) gray uint8 pixels, as float32 (…)."""
    if color.shape[-1] == 1:
        return color[..., 0].astype(np.float32)
    c = color.astype(np.float32)
    return np.asarray(0.114 * c[..., 0] + 0.587 * c[..., 1] + 0.299 * c[..., 2], np.float32)


def _pil_backdrop(img: Image.Image) -> int:
    """:func:`choose_backdrop` on a nearest-neighbour subsample of a PIL image with alpha (at most
    :data:`SAMPLE_SIDE` a side: no copy of the whole image)."""
    w, h = img.size
    small = img.resize((min(w, SAMPLE_SIDE), min(h, SAMPLE_SIDE)), Image.Resampling.NEAREST)
    rgba = np.asarray(small.convert("RGBA"))
    return choose_backdrop(_luma(rgba[:, :, 2::-1]), rgba[:, :, 3])


def _array_backdrop(arr: np.ndarray) -> int:
    """:func:`choose_backdrop` on a strided subsample of a uint8 (H, W, 2) or (H, W, 4) array."""
    h, w = arr.shape[:2]
    sample = arr[:: -(-h // SAMPLE_SIDE), :: -(-w // SAMPLE_SIDE)]
    return choose_backdrop(_luma(sample[:, :, :-1]), sample[:, :, -1])


def _flatten(color: np.ndarray, alpha: np.ndarray, out: np.ndarray, backdrop: int = 255) -> None:
    """out = round(color × a/255 + backdrop × (1 − a/255)) in integers (exact: the numerator over
    255 is never a half), into ``out``; ``color`` (H, W, 3) or (H, W, 1) gray and ``alpha``
    (H, W) uint8."""
    a = alpha.astype(np.uint16)[:, :, None]
    mixed = color * a  # uint16: at most 255 × 255
    if backdrop:
        mixed += (255 - a) * np.uint16(backdrop)
    mixed += np.uint16(127)
    np.floor_divide(mixed, np.uint16(255), out=mixed)
    out[...] = mixed


def _uint8_scale(img: Image.Image) -> float:
    """The factor that maps a high-depth PIL image to 0–255, from its global maximum."""
    extrema = img.getextrema()
    high = extrema[1] if isinstance(extrema[1], int | float) else 0
    return _scale_for(img.mode.startswith("I;16"), img.mode == "F", float(high))


def _scale_for(unsigned16: bool, floating: bool, high: float) -> float:
    """16-bit data is scaled from 0–65535 (or 0–4095, 12-bit sensors) and other integers over
    255 likewise; floats of at most 1.0 from 0–1; anything else is clipped to 0–255."""
    if unsigned16 or (not floating and high > 255):
        return 255.0 / (65535.0 if high > 4095 else 4095.0)
    if floating and high <= 1.0:
        return 255.0
    return 1.0


def _apply_scale(band: np.ndarray, scale: float) -> np.ndarray:
    a = band.astype(np.float32)
    if scale != 1.0:
        a *= scale
    a += 0.5
    np.clip(a, 0, 255, out=a)
    return a.astype(np.uint8)


def _scale_to_uint8(arr: np.ndarray) -> np.ndarray:
    """A high-depth array (any integer or float dtype) to uint8, in bands of rows. Floats must be
    finite and in [0, 255]: at most 1.0 they are read as 0–1, else as 0–255 (OpenCV's float
    images); anything else is refused rather than guessed at."""
    finite_max = float(np.max(arr, initial=0)) if arr.size else 0.0
    if arr.dtype.kind == "f":
        low = float(np.min(arr))
        if not (np.isfinite(low) and np.isfinite(finite_max)):
            raise InvalidImage("float array has NaN or infinite values")
        if low < 0.0 or finite_max > 255.0:
            raise InvalidImage(
                f"float array values run from {low:g} to {finite_max:g}; float images must be "
                "in [0, 1] (or 0–255): scale it, or pass uint8/uint16"
            )
    scale = _scale_for(arr.dtype == np.uint16, arr.dtype.kind == "f", finite_max)
    out = np.empty(arr.shape, np.uint8)
    rows = max(1, BAND_PIXELS // max(1, arr.size // max(1, arr.shape[0])))
    for y in range(0, arr.shape[0], rows):
        out[y : y + rows] = _apply_scale(arr[y : y + rows], scale)
    return out


#: Layouts of an array image, by its channel count (the last axis of a 3-D array).
_ARRAY_LAYOUTS = {1: "gray", 2: "gray + alpha", 3: "BGR", 4: "BGRA"}


def array_to_bgr(arr: np.ndarray, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Arrays follow OpenCV's convention: (H, W) or (H, W, 1) gray, (H, W, 2) gray + alpha,
    (H, W, 3) BGR, (H, W, 4) BGRA. dtypes: uint8; uint16 (from 0–65535, or 0–4095 when no value
    is over 4095) and other integers (over 255: like uint16; else as they are); float finite in
    [0, 1] (×255) or, when a value is over 1, in 0–255; bool (True is white). Alpha is flattened
    like a file's (:func:`choose_backdrop`). Anything else is refused with InvalidImage."""
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise InvalidImage(
            f"an array of dtype {arr.dtype} is not an image: pass uint8, uint16, "
            "float in [0, 1] or bool"
        )
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise InvalidImage(
            f"array of shape {arr.shape} is not an image: pass (H, W) gray or (H, W, C) "
            "with C = 1 (gray), 2 (gray + alpha), 3 (BGR) or 4 (BGRA)"
        )
    _check_size((arr.shape[1], arr.shape[0]), max_pixels)
    if arr.ndim == 3 and arr.shape[2] not in _ARRAY_LAYOUTS:
        raise InvalidImage(
            f"an array with {arr.shape[2]} channels is not an image: C must be 1 (gray), "
            "2 (gray + alpha), 3 (BGR) or 4 (BGRA)"
        )
    if kind == "b":
        arr = np.multiply(arr, np.uint8(255), dtype=np.uint8)
    elif arr.dtype != np.uint8:
        arr = _scale_to_uint8(arr)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    channels = arr.shape[2]
    if channels == 3:
        return np.ascontiguousarray(arr)
    backdrop = _array_backdrop(arr) if channels in (2, 4) else 255
    h, w = arr.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    rows = max(1, BAND_PIXELS // w)
    for y in range(0, h, rows):
        band = arr[y : y + rows]
        if channels == 1:
            out[y : y + rows] = band
        else:
            _flatten(band[:, :, :-1], band[:, :, -1], out[y : y + rows], backdrop)
    return out
