"""Multi-page TIFF: the pages counted and checked from the bytes, then decoded one at a time.

PIL opens a TIFF at its first page and walks the chain of pages (IFDs) one by one on ``seek``;
counting them with ``n_frames`` walks them all in Python. :func:`tiff_pages` walks the chain itself
first (a few microseconds a page, loops refused, stopped at :data:`MAX_TIFF_PAGES`) and checks each
page's strip count as the engine's loader does for the first page, so no page asks PIL for
unbounded work. Each page is then decoded by the engine's own loader (its pixel limit, its
conversion to BGR).
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Generator

import numpy as np
from PIL import Image

from .._engine.imaging import (
    DEFAULT_MAX_DECODE_BYTES,
    MAX_TIFF_STRIPS,
    decode_memory_estimate,
    load_image,
)
from ..errors import ImageTooLarge, InvalidImage, WorkLimitExceeded

#: Pages of one TIFF walked at most (a 50 MB file can chain millions of empty pages; a real
#: scanned document has tens to hundreds).
MAX_TIFF_PAGES = 100_000

_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_TYPE_SIZES = {3: 2, 4: 4, 16: 8}


def is_tiff(head: bytes) -> bool:
    return head[:4] in _MAGIC


def tiff_pages(data: bytes) -> int:
    """How many pages (IFDs) the TIFF chains; refuses loops, offsets outside the file, more than
    :data:`MAX_TIFF_PAGES` pages and pages with more strips or tiles than the engine decodes."""
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    seen: set[int] = set()
    try:
        if big:
            (offset,) = struct.unpack_from(order + "Q", data, 8)
        else:
            (offset,) = struct.unpack_from(order + "I", data, 4)
        while offset:
            if offset in seen or offset >= len(data):
                if not seen:
                    raise InvalidImage("corrupt TIFF: its first page lies outside the file")
                break  # a broken or looping chain: read the pages before it, as PIL does
            seen.add(offset)
            if len(seen) > MAX_TIFF_PAGES:
                raise WorkLimitExceeded(
                    f"the TIFF has more than {MAX_TIFF_PAGES} pages; at most {MAX_TIFF_PAGES} "
                    "are walked"
                )
            offset = _check_ifd(data, offset, order, big)
    except struct.error:
        if not seen:
            raise InvalidImage("corrupt TIFF header") from None
    return len(seen)


def _check_ifd(data: bytes, at: int, order: str, big: bool) -> int:
    """Check one page's strip/tile count; return the offset of the next page (0: none)."""
    if big:
        (entries,) = struct.unpack_from(order + "Q", data, at)
        first, size, count_fmt, next_fmt = at + 8, 20, "Q", "Q"
    else:
        (entries,) = struct.unpack_from(order + "H", data, at)
        first, size, count_fmt, next_fmt = at + 2, 12, "I", "I"
    entries = min(entries, 65535)
    for i in range(entries):
        pos = first + i * size
        (tag,) = struct.unpack_from(order + "H", data, pos)
        if tag in (273, 324):  # StripOffsets, TileOffsets
            kind_id, count = struct.unpack_from(order + "H" + count_fmt, data, pos + 2)
            if count * _TYPE_SIZES.get(kind_id, 1) > len(data):
                raise InvalidImage(
                    f"corrupt TIFF: a page claims {count} strips, more than the file holds"
                )
            if count > MAX_TIFF_STRIPS:
                kind = "strips" if tag == 273 else "tiles"
                raise WorkLimitExceeded(
                    f"a TIFF page has {count} {kind}; at most {MAX_TIFF_STRIPS} are decoded"
                )
    (following,) = struct.unpack_from(order + next_fmt, data, first + entries * size)
    return int(following)


def iter_tiff_pages(
    data: bytes, numbers: tuple[int, ...], max_pixels: int
) -> Generator[tuple[int, np.ndarray, float], None, None]:
    """(page number, BGR image, dpi) of each page in ``numbers`` (1-based, ascending), decoded
    one at a time by the engine's loader."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=("TIFF",))
        except Image.DecompressionBombError as exc:
            raise ImageTooLarge(f"TIFF page dimensions are too large: {exc}") from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise InvalidImage(f"corrupt TIFF: {exc}") from None
        try:
            for number in numbers:
                try:
                    img.seek(number - 1)
                except (EOFError, OSError, ValueError, SyntaxError, struct.error) as exc:
                    raise InvalidImage(f"TIFF page {number} cannot be read: {exc}") from None
                need = decode_memory_estimate(img)
                if need > DEFAULT_MAX_DECODE_BYTES:
                    raise WorkLimitExceeded(
                        f"decoding TIFF page {number} ({img.size[0]}×{img.size[1]}) needs about "
                        f"{need >> 20} MiB; at most {DEFAULT_MAX_DECODE_BYTES >> 20} MiB are "
                        "allowed"
                    )
                try:
                    bgr = load_image(img, max_pixels=max_pixels)
                except InvalidImage as exc:
                    raise type(exc)(f"TIFF page {number}: {exc}") from None
                yield number, bgr, _dpi(img)
        finally:
            img.close()


def _dpi(img: Image.Image) -> float:
    dpi = img.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    return value if 1.0 <= value <= 10_000.0 else 72.0
