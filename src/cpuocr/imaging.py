"""The one image loader: path / bytes / numpy array / PIL image → BGR uint8.

Size limits are checked from the file header *before* any pixel is decoded, so a small file that
claims to be 60000×60000 costs nothing. Only raster formats we can decode safely are opened (PIL is
told the list, so e.g. EPS never reaches Ghostscript). EXIF orientation is applied, alpha is
flattened on white, 16-bit and float images are scaled to 8 bits, palette/CMYK/gray are converted.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageTooLarge, InvalidImage, UnsupportedFormat

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


def _silence_libtiff_errors() -> None:
    """libtiff prints its decode errors ("LZWDecode: Not enough data at scanline 0") straight to
    the process's stderr, where they break the CLI's one-line-per-bad-file contract; PIL raises
    an OSError for the same failure anyway (→ InvalidImage). Unset libtiff's error handler in the
    copy PIL loaded. Best effort: without it only the extra stderr line comes back."""
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


_silence_libtiff_errors()


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
    try:
        with _quiet_pil():
            return Image.open(io.BytesIO(data), formats=DECODABLE_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"image dimensions are too large: {exc}") from None
    except UnidentifiedImageError:
        name = sniff_unsupported(data[:64])
        if name is not None:
            raise UnsupportedFormat(
                f"{name} files are not supported; send JPEG, PNG, BMP, WebP, TIFF or GIF"
            ) from None
        raise InvalidImage(
            "not an image: the data is not a JPEG, PNG, BMP, WebP, TIFF or GIF"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImage(f"corrupt image header: {exc}") from None


def probe_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[str, int, int]:
    """(format, width, height) from the header only; raises like :func:`load_image`."""
    img = _open(data)
    _check_size(img.size, max_pixels)
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
) -> np.ndarray:
    """Decode ``source`` to a contiguous BGR uint8 array (H, W, 3)."""
    if isinstance(source, np.ndarray):
        return array_to_bgr(source, max_pixels)
    if isinstance(source, Image.Image):
        _check_size(source.size, max_pixels)
        with _quiet_pil():
            return _pil_to_bgr(source)
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
    img = _open(data)
    _check_size(img.size, max_pixels)
    try:
        with _quiet_pil():
            img.load()
            return _pil_to_bgr(img)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImage(f"corrupt or truncated image data: {exc}") from None
    except MemoryError:
        raise ImageTooLarge("image needs more memory to decode than is available") from None


def _pil_to_bgr(img: Image.Image) -> np.ndarray:
    img = ImageOps.exif_transpose(img) or img
    mode = img.mode
    arr: np.ndarray[Any, Any]
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = _scale_to_uint8(np.asarray(img))
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)
        alpha = rgba[:, :, 3:4] / 255.0
        rgb = rgba[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
        arr = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    elif mode == "L":
        g = np.asarray(img)
        return np.ascontiguousarray(np.repeat(g[:, :, None], 3, axis=2))
    else:
        arr = np.asarray(img.convert("RGB"))
    return np.ascontiguousarray(arr[:, :, ::-1])


def _scale_to_uint8(arr: np.ndarray) -> np.ndarray:
    a = arr.astype(np.float32)
    if arr.dtype == np.uint16 or (arr.dtype.kind in "iu" and a.max(initial=0) > 255):
        top = 65535.0 if a.max(initial=0) > 4095 else 4095.0
        a = a * (255.0 / top)
    elif arr.dtype.kind == "f" and a.max(initial=0) <= 1.0:
        a = a * 255.0
    out: np.ndarray = np.clip(a + 0.5, 0, 255).astype(np.uint8)
    return out


def array_to_bgr(arr: np.ndarray, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Arrays follow OpenCV's convention: (H, W) gray, (H, W, 3) BGR, (H, W, 4) BGRA."""
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise InvalidImage(f"array of shape {arr.shape} is not an image")
    _check_size((arr.shape[1], arr.shape[0]), max_pixels)
    if arr.dtype != np.uint8:
        arr = _scale_to_uint8(arr)
    if arr.ndim == 2:
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    channels = arr.shape[2]
    if channels == 1:
        return np.ascontiguousarray(np.repeat(arr, 3, axis=2))
    if channels == 3:
        return np.ascontiguousarray(arr)
    if channels == 4:
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        bgr = arr[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        flat: np.ndarray = np.clip(bgr + 0.5, 0, 255).astype(np.uint8)
        return flat
    raise InvalidImage(f"array with {channels} channels is not an image")
