"""The hostile-input corpus: more than a thousand odd, broken and malicious images, generated
deterministically (seeded) from a few tiny rendered pictures, so nothing big is committed.

Each :class:`Case` says what a correct service does with it:

* ``ok``     an odd but valid image: the engine returns a result, HTTP answers 200;
* ``error``  not an acceptable image: the engine raises a :class:`cpuocr.CpuocrError`, HTTP
             answers one of ``statuses`` (4xx) with the JSON error body;
* ``either`` a mutated file that may or may not still decode: a result or a cpuocr error (200 or
             4xx), never anything else.

Everything is cheap to build (about a second for the whole corpus, the one real 30000×30000 PNG
bomb and the decoder-work files included; all cached). Decoding is bounded by the service's own
limits: the header and the decoder's work (scans, strips, chunks…) are checked before any pixel
is decoded, and the base pictures are tiny, so a mutated file that still decodes costs one small
inference.
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageFont

from rendering import font_path  # tests/rendering.py, on sys.path through tests/conftest.py

Expect = Literal["ok", "error", "either"]

SEED = 20240518
#: Formats whose bytes are mutated and truncated, with the PIL save options of the base file.
MUTATED_FORMATS: dict[str, dict[str, object]] = {
    "jpeg": {"format": "JPEG", "quality": 85},
    "png": {"format": "PNG"},
    "bmp": {"format": "BMP"},
    "tiff": {"format": "TIFF", "compression": "tiff_lzw"},
    "webp": {"format": "WEBP", "quality": 80},
    "gif": {"format": "GIF"},
}
MUTATIONS_PER_FORMAT = 135
TRUNCATIONS_PER_FORMAT = 20
RANDOM_BLOBS = 40

#: A byte count over every default upload limit (the HTTP limit is 20 MB, the engine's 50 MB).
HUGE_UPLOAD_BYTES = 60 * 1024 * 1024

STATUS_BAD = frozenset({400})
STATUS_TOO_LARGE = frozenset({413})
STATUS_UNSUPPORTED = frozenset({415})
STATUS_ANY_4XX = frozenset({400, 413, 415})
#: A mutated file may also land over a decoder-work cap (say a strip count that is still
#: plausible): 422 over HTTP.
STATUS_MUTATED = STATUS_ANY_4XX | {422}


@dataclass(frozen=True)
class Case:
    name: str  # unique: "group/detail"
    data: bytes
    expect: Expect
    statuses: frozenset[int] = STATUS_ANY_4XX  # for "error" (and the error side of "either")

    @property
    def group(self) -> str:
        return self.name.split("/", 1)[0]


# -- the base pictures -------------------------------------------------------------------------


@functools.cache
def base_picture() -> Image.Image:
    """A tiny text picture (about 120×40): small enough that a mutant that decodes is cheap."""
    path = font_path()
    font = ImageFont.truetype(path, 18) if path else ImageFont.load_default()
    image = Image.new("RGB", (120, 40), "white")
    ImageDraw.Draw(image).text((6, 8), "测试 OCR 42", font=font, fill="black")
    return image


def encode(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, **options)  # type: ignore[arg-type]
    return out.getvalue()


@functools.cache
def base_file(kind: str) -> bytes:
    return encode(base_picture(), **MUTATED_FORMATS[kind])


# -- odd but valid -----------------------------------------------------------------------------


def odd_valid_cases() -> Iterator[Case]:
    pic = base_picture()
    gray = pic.convert("L")
    yield Case("valid/1x1-png", encode(Image.new("RGB", (1, 1), "white"), format="PNG"), "ok")
    yield Case("valid/1x1-black-jpeg", encode(Image.new("L", (1, 1), 0), format="JPEG"), "ok")
    yield Case("valid/1x20000-png", encode(Image.new("L", (1, 20000), 255), format="PNG"), "ok")
    yield Case("valid/20000x1-png", encode(Image.new("L", (20000, 1), 255), format="PNG"), "ok")
    yield Case("valid/2x3000-text-strip", encode(pic.resize((2, 3000)), format="PNG"), "ok")
    yield Case("valid/3000x8-strip", encode(pic.resize((3000, 8)), format="PNG"), "ok")
    sixteen = Image.frombytes("I;16", pic.size, bytes(b for v in gray.tobytes() for b in (v, v)))
    yield Case("valid/16bit-png", encode(sixteen, format="PNG"), "ok")
    yield Case("valid/16bit-tiff", encode(sixteen, format="TIFF"), "ok")
    yield Case("valid/32bit-int-tiff", encode(gray.convert("I"), format="TIFF"), "ok")
    yield Case("valid/float-tiff", encode(gray.convert("F"), format="TIFF"), "ok")
    yield Case("valid/cmyk-jpeg", encode(pic.convert("CMYK"), format="JPEG"), "ok")
    yield Case("valid/cmyk-tiff", encode(pic.convert("CMYK"), format="TIFF"), "ok")
    yield Case("valid/palette-png", encode(pic.convert("P"), format="PNG"), "ok")
    palette = pic.convert("P")
    yield Case("valid/palette-transparent-png", encode(palette, format="PNG", transparency=0), "ok")
    rgba = pic.convert("RGBA")
    rgba.putalpha(Image.new("L", pic.size, 128))
    yield Case("valid/rgba-half-alpha-png", encode(rgba, format="PNG"), "ok")
    yield Case("valid/la-png", encode(pic.convert("LA"), format="PNG"), "ok")
    yield Case("valid/1bit-png", encode(pic.convert("1"), format="PNG"), "ok")
    yield Case("valid/1bit-bmp", encode(pic.convert("1"), format="BMP"), "ok")
    yield Case("valid/gray-jpeg", encode(gray, format="JPEG"), "ok")
    yield Case("valid/progressive-jpeg", encode(pic, format="JPEG", progressive=True), "ok")
    yield Case("valid/quality1-jpeg", encode(pic, format="JPEG", quality=1), "ok")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90°
    yield Case("valid/exif-rotated-jpeg", encode(pic, format="JPEG", exif=exif), "ok")
    yield Case("valid/webp-lossless", encode(pic, format="WEBP", lossless=True), "ok")
    yield Case("valid/webp-rgba", encode(rgba, format="WEBP"), "ok")
    yield Case("valid/ppm", encode(pic, format="PPM"), "ok")
    yield Case("valid/pgm", encode(gray, format="PPM"), "ok")
    for compression in ("raw", "packbits", "tiff_deflate", "jpeg", "group4"):
        image = pic.convert("1") if compression == "group4" else pic
        yield Case(
            f"valid/tiff-{compression}", encode(image, format="TIFF", compression=compression), "ok"
        )
    yield Case("valid/bmp-rle8", _bmp_rle8(gray), "ok")
    frames = [pic, pic.transpose(Image.Transpose.FLIP_LEFT_RIGHT), gray.convert("RGB")]
    yield Case(
        "valid/animated-gif",
        encode(frames[0], format="GIF", save_all=True, append_images=frames[1:], duration=50),
        "ok",
    )
    yield Case(
        "valid/animated-webp",
        encode(frames[0], format="WEBP", save_all=True, append_images=frames[1:]),
        "ok",
    )
    yield Case(
        "valid/multipage-tiff",
        encode(frames[0], format="TIFF", save_all=True, append_images=frames[1:]),
        "ok",
    )
    yield Case("valid/trailing-garbage-png", base_file("png") + b"\x00garbage" * 64, "ok")
    yield Case("valid/all-black-png", encode(Image.new("RGB", (300, 100), "black"), format="PNG"),
               "ok")  # fmt: skip


def _bmp_rle8(gray: Image.Image) -> bytes:
    """An 8-bit RLE-compressed BMP written by hand (PIL only writes uncompressed BMP)."""
    width, height = gray.size
    rows = []
    pixels = gray.tobytes()
    for y in range(height - 1, -1, -1):  # bottom-up
        row = pixels[y * width : (y + 1) * width]
        encoded = bytearray()
        i = 0
        while i < width:
            run = 1
            while i + run < width and run < 255 and row[i + run] == row[i]:
                run += 1
            encoded += bytes((run, row[i]))
            i += run
        rows.append(bytes(encoded) + b"\x00\x00")
    data = b"".join(rows) + b"\x00\x01"
    palette = b"".join(bytes((v, v, v, 0)) for v in range(256))
    offset = 14 + 40 + len(palette)
    header = b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(data), 2835, 2835, 256, 0)
    return header + info + palette + data


# -- decompression bombs and lying headers -----------------------------------------------------


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


@functools.cache
def png_bomb(side: int = 30000) -> bytes:
    """A *real* side×side 1-bit PNG of zeros: about 110 KB on disk, 900 MP once decoded."""
    row = b"\x00" * (1 + (side + 7) // 8)
    compressor = zlib.compressobj(9)
    parts = []
    block = row * 256
    for _ in range(side // 256):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(row * (side % 256)))
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def png_header(width: int, height: int, depth: int = 8, color: int = 0) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def bmp_header(width: int, height: int, bits: int = 24) -> bytes:
    """A BMP whose header claims width×height and which carries a few bytes of pixels."""
    pixels = b"\x00" * 64
    offset = 14 + 40
    size = offset + width * height * bits // 8
    header = b"BM" + struct.pack("<IHHI", size & 0xFFFFFFFF, 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, 0, 0, 2835, 2835, 0, 0)
    return header + info + pixels


def gif_header(width: int, height: int) -> bytes:
    screen = struct.pack("<HH", width, height) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHH", 0, 0, width, height) + b"\x00"
    return b"GIF89a" + screen + image + b"\x02\x02\x44\x01\x00\x3b"


def jpeg_header(width: int, height: int) -> bytes:
    """The base JPEG with its SOF0 frame size rewritten."""
    data = bytearray(base_file("jpeg"))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def tiff_header(width: int, height: int) -> bytes:
    entries = [
        (256, 4, 1, width),  # ImageWidth, LONG
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: min-is-black
        (273, 4, 1, 8 + 2 + 12 * 8 + 4),  # StripOffsets
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, width * height & 0xFFFFFFFF),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<I", value) if kind == 4 else struct.pack("<HH", value, 0)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00\x00\x00\x00" + b"\x00" * 64


def webp_vp8x_header(width: int, height: int) -> bytes:
    payload = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
    payload += (height - 1).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def bomb_cases() -> Iterator[Case]:
    big = STATUS_TOO_LARGE
    yield Case("bomb/png-30000x30000-real", png_bomb(), "error", big)
    yield Case("bomb/png-header-30000x30000", png_header(30000, 30000), "error", big)
    yield Case("bomb/png-header-65535x65535-rgba16", png_header(65535, 65535, 16, 6), "error", big)
    yield Case("bomb/png-header-7000x7000", png_header(7000, 7000), "error", big)
    yield Case("bomb/bmp-60000x60000", bmp_header(60000, 60000), "error", big)
    yield Case("bomb/bmp-60000x-60000-topdown", bmp_header(60000, -60000), "error", big)
    yield Case("bomb/gif-65535x65535", gif_header(65535, 65535), "error", big)
    yield Case("bomb/jpeg-sof-65500x65500", jpeg_header(65500, 65500), "error", big)
    yield Case("bomb/jpeg-sof-10000x5000", jpeg_header(10000, 5000), "error", big)
    yield Case("bomb/tiff-100000x100000", tiff_header(100000, 100000), "error", big)
    yield Case("bomb/webp-vp8x-16383x16383", webp_vp8x_header(16383, 16383), "error", big)
    # Lying headers inside the pixel limit: refused while decoding (truncated), never a crash.
    yield Case("lying/png-header-2000x2000", png_header(2000, 2000), "error", STATUS_BAD)
    yield Case("lying/bmp-2000x2000", bmp_header(2000, 2000), "error", STATUS_BAD)
    yield Case("lying/gif-2000x2000", gif_header(2000, 2000), "error", STATUS_BAD)
    yield Case("lying/tiff-2000x2000", tiff_header(2000, 2000), "error", STATUS_BAD)
    yield Case("lying/jpeg-sof-0x0", jpeg_header(0, 0), "error", STATUS_BAD)
    yield Case("lying/png-header-0x10", png_header(0, 10), "error", STATUS_BAD)
    yield Case("lying/bmp-0x0", bmp_header(0, 0), "error", STATUS_BAD)
    yield Case("lying/bmp-1x1-bits-7", bmp_header(1, 1, bits=7), "error", STATUS_BAD)


# -- decoder work bombs: small files within the byte and pixel limits whose decoding is costly ---
#
# Each is built in code (no file is committed) and cached. Sizes follow the HTTP limits: at most
# 20 MB of upload and 40 MP of pixels. The ``work`` cases must be refused before decoding (HTTP 422,
# the engine's WorkLimitExceeded); the ``big`` valid ones must decode within bounded memory.

#: What a refusal of decoder work looks like from the outside: 422 over HTTP. The engine test maps
#: every cpuocr error that is not a 413/415 to 400, so both are accepted for these cases.
STATUS_WORK = frozenset({400, 422})


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


@functools.cache
def jpeg_scan_bomb(width: int = 6000, height: int = 6600, scans: int = 20000) -> bytes:
    """A progressive JPEG whose frame claims width×height, followed by ``scans`` empty DC
    refinement scans: every scan makes libjpeg walk every coefficient block of the frame, so
    decoding costs ~2 ms per scan at 40 MP however small the file (20000 scans: 5 KB, ~45 s)."""
    data = bytearray(encode(Image.new("L", (16, 16), 255), format="JPEG", progressive=True))
    sof = data.find(b"\xff\xc2")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    eoi = data.rfind(b"\xff\xd9")
    # Ns=1, component 1, tables 0/0, Ss=0, Se=0, Ah=1 Al=0: a DC refinement (no Huffman table).
    sos = _jpeg_segment(0xDA, b"\x01\x01\x00\x00\x00\x10")
    return bytes(data[:eoi]) + sos * scans + b"\xff\xd9"


def _tiff(entries: list[tuple[int, int, list[int]]], extra: bytes = b"") -> bytes:
    """A little-endian TIFF with one IFD; value arrays that do not fit in the entry go after it,
    then ``extra`` (at the offset :func:`_tiff_extra_offset` returns)."""
    entries = sorted(entries)
    ifd_size = 2 + 12 * len(entries) + 4
    out_of_line = b""
    packed_entries = b""
    base = 8 + ifd_size
    for tag, kind, values in entries:
        fmt = {3: "H", 4: "I"}[kind]
        raw = struct.pack(f"<{len(values)}{fmt}", *values)
        if len(raw) <= 4:
            field = raw.ljust(4, b"\x00")
        else:
            field = struct.pack("<I", base + len(out_of_line))
            out_of_line += raw
        packed_entries += struct.pack("<HHI", tag, kind, len(values)) + field
    ifd = struct.pack("<H", len(entries)) + packed_entries + b"\x00\x00\x00\x00"
    return b"II*\x00" + struct.pack("<I", 8) + ifd + out_of_line + extra


@functools.cache
def tiff_many_strips(width: int = 8, height: int = 2_000_000, rows_per_strip: int = 1) -> bytes:
    """An uncompressed 8-bit gray TIFF of ``height / rows_per_strip`` strips (all pointing at the
    same few bytes): two million strips in 16 MB, each one a separate decoder call in PIL."""
    strips = -(-height // rows_per_strip)
    strip_bytes = width * rows_per_strip
    # The pixel data is a single strip's worth of bytes at the very end; every offset points there.
    head = _tiff(
        [
            (256, 4, [width]),
            (257, 4, [height]),
            (258, 3, [8]),
            (259, 3, [1]),
            (262, 3, [1]),
            (273, 4, [0] * strips),
            (277, 3, [1]),
            (278, 4, [rows_per_strip]),
            (279, 4, [strip_bytes] * strips),
        ]
    )
    data_at = len(head)
    return _tiff(
        [
            (256, 4, [width]),
            (257, 4, [height]),
            (258, 3, [8]),
            (259, 3, [1]),
            (262, 3, [1]),
            (273, 4, [data_at] * strips),
            (277, 3, [1]),
            (278, 4, [rows_per_strip]),
            (279, 4, [strip_bytes] * strips),
        ],
        b"\xff" * strip_bytes,
    )


@functools.cache
def tiff_many_tiles(width: int = 6400, height: int = 6240, tile: int = 16) -> bytes:
    """An uncompressed tiled TIFF of 16×16 tiles (the smallest TIFF allows): 156000 tiles at
    40 MP, every offset pointing at the same 256 bytes."""
    tiles = -(-width // tile) * -(-height // tile)
    entries = [
        (256, 4, [width]),
        (257, 4, [height]),
        (258, 3, [8]),
        (259, 3, [1]),
        (262, 3, [1]),
        (277, 3, [1]),
        (322, 4, [tile]),
        (323, 4, [tile]),
        (324, 4, [0] * tiles),
        (325, 4, [tile * tile] * tiles),
    ]
    data_at = len(_tiff(entries))
    entries[-2] = (324, 4, [data_at] * tiles)
    return _tiff(entries, b"\x80" * (tile * tile))


@functools.cache
def tiff_many_pages(pages: int = 180_000) -> bytes:
    """A TIFF of ``pages`` 8×8 pages (a chain of IFDs sharing one strip): only the first page is
    ever decoded, so the page count costs nothing."""
    pixels_at = 8
    out = bytearray(b"II*\x00" + struct.pack("<I", 8 + 64) + b"\xff" * 64)
    entries = [(256, 8), (257, 8), (258, 8), (259, 1), (262, 1), (273, pixels_at), (278, 8),
               (279, 64)]  # fmt: skip
    for page in range(pages):
        ifd_size = 2 + 12 * len(entries) + 4
        nxt = len(out) + ifd_size if page + 1 < pages else 0
        out += struct.pack("<H", len(entries))
        for tag, value in entries:
            out += struct.pack("<HHII", tag, 4, 1, value)
        out += struct.pack("<I", nxt)
    return bytes(out)


@functools.cache
def png_many_chunks(chunks: int = 1_500_000, private: bool = False) -> bytes:
    """A 64×64 gray PNG whose image data is cut into ``chunks`` IDAT chunks of one byte and
    empty ones (or, with ``private``, followed by as many empty private ancillary chunks): ~19 MB,
    each chunk a round of PIL's Python chunk reader."""
    raw = b"".join(b"\x00" + b"\xff" * 64 for _ in range(64))
    stream = zlib.compress(raw, 9)
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0))
    if private:
        body = _png_chunk(b"IDAT", stream) + _png_chunk(b"prVt", b"") * chunks
    else:
        pieces = [_png_chunk(b"IDAT", stream[i : i + 1]) for i in range(len(stream))]
        body = b"".join(pieces) + _png_chunk(b"IDAT", b"") * (chunks - len(pieces))
    return b"\x89PNG\r\n\x1a\n" + ihdr + body + _png_chunk(b"IEND", b"")


@functools.cache
def gif_many_frames(frames: int = 200_000, extensions: int = 0) -> bytes:
    """A 2×2 GIF of ``frames`` frames (and ``extensions`` empty comment blocks before the first):
    only the first frame is decoded."""
    screen = struct.pack("<HH", 2, 2) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHH", 0, 0, 2, 2) + b"\x00" + b"\x02\x02\x44\x01\x00"
    comments = b"\x21\xfe\x00" * extensions
    return b"GIF89a" + screen + comments + frame * frames + b"\x3b"


@functools.cache
def webp_many_frames(frames: int = 200_000, width: int = 4000, height: int = 4000) -> bytes:
    """An animated WebP with a width×height canvas and ``frames`` 1×1 frames (~40 bytes each)."""
    tiny = encode(Image.new("RGB", (1, 1), "white"), format="WEBP", lossless=True)
    vp8l = tiny[12:]  # the VP8L chunk of a 1×1 lossless WebP
    frame = struct.pack("<I", 0)[:3] + struct.pack("<I", 0)[:3]  # x, y offsets / 2
    frame += (0).to_bytes(3, "little") + (0).to_bytes(3, "little")  # 1×1 (minus one)
    frame += (100).to_bytes(3, "little") + b"\x00"  # duration, flags
    anmf_payload = frame + vp8l
    anmf = b"ANMF" + struct.pack("<I", len(anmf_payload)) + anmf_payload
    if len(anmf_payload) % 2:
        anmf += b"\x00"
    vp8x = b"\x02\x00\x00\x00" + (width - 1).to_bytes(3, "little")
    vp8x += (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + vp8x
    body += b"ANIM" + struct.pack("<I", 6) + b"\xff\xff\xff\xff" + b"\x00\x00"
    body += anmf * frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _bmp(width: int, height: int, bits: int, compression: int, pixels: bytes) -> bytes:
    colors = 1 << bits
    palette = b"".join(bytes((v, v, v, 0)) for v in range(0, 256, 256 // colors))
    offset = 14 + 40 + len(palette)
    header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    info = struct.pack(
        "<IiiHHIIiiII", 40, width, height, 1, bits, compression, len(pixels), 2835, 2835, colors, 0
    )
    return header + info + palette + pixels


@functools.cache
def bmp_rle_runs(width: int = 6000, height: int = 6600, limit_bytes: int = 19_000_000) -> bytes:
    """An RLE8 BMP of one-pixel runs (two bytes per pixel, the worst case of PIL's pure-Python
    RLE decoder): ~9.5 million decoder rounds in 19 MB."""
    pairs = min(width * height, limit_bytes // 2)
    return _bmp(width, height, 8, 1, b"\x01\x80" * pairs + b"\x00\x01")


@functools.cache
def bmp_rle_eol(width: int = 40_000_000, height: int = 1) -> bytes:
    """An RLE8 BMP of one pixel then "end of line" per row: PIL pads the rest of each row one byte
    at a time in Python (40 million rounds for one 40000000-pixel row, from 1 KB of file)."""
    return _bmp(width, height, 8, 1, b"\x01\x80\x00\x00" * height + b"\x00\x01")


# -- big images within the limits: they must decode in bounded memory --------------------------


@functools.cache
def png_rgba_40mp(width: int = 6000, height: int = 6600) -> bytes:
    """A 40 MP RGBA PNG, half-transparent (~170 KB): float alpha flattening made it cost +2.4 GB."""
    import numpy as np

    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[:, :, 3] = 128
    rgba[::50, :, :3] = 255
    return _cv2_png(rgba)


@functools.cache
def png_gray(width: int, height: int) -> bytes:
    """A black 8-bit gray PNG of any shape within 40 MP, written by hand (libpng refuses to write
    rows over a million pixels): 400000×1 is 500 bytes, 40000000×1 about 40 KB."""
    row = b"\x00" * (1 + width)
    compressor = zlib.compressobj(9)
    rows_per_block = max(1, (1 << 20) // len(row))
    parts = []
    for start in range(0, height, rows_per_block):
        parts.append(compressor.compress(row * min(rows_per_block, height - start)))
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def _cv2_png(array: object) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", array, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RuntimeError("cv2.imencode failed")
    return bytes(buf)


def decoder_work_cases() -> Iterator[Case]:
    """Files within the byte and pixel limits whose decoding would be unbounded work (refused
    before decoding: 422 over HTTP) and their bounded cousins (decoded). Kept small (a few MB in
    all) by going just over each cap; tests/unit/test_decode_limits.py runs the full-size ones."""
    work = STATUS_WORK
    yield Case("work/jpeg-6000x6600-20000-empty-scans", jpeg_scan_bomb(), "error", work)
    base = base_file("jpeg")
    yield Case("work/jpeg-20000-comment-segments", base[:2] + b"\xff\xfe\x00\x02" * 20000 +
               base[2:], "error", work)  # fmt: skip
    yield Case("work/tiff-200000-strips", tiff_many_strips(8, 200_000), "error", work)
    yield Case("work/tiff-6400x6240-16px-tiles", tiff_many_tiles(), "error", work)
    yield Case("work/png-150000-idat-chunks", png_many_chunks(150_000), "error", work)
    yield Case("work/png-150000-private-chunks", png_many_chunks(150_000, True), "error", work)
    yield Case("work/gif-20000-extension-blocks", gif_many_frames(1, 20_000), "error", work)
    yield Case("work/bmp-rle8-40000000x1-eol", bmp_rle_eol(), "error", work)
    yield Case("work/bmp-rle8-2000x2000-4MB-runs",
               bmp_rle_runs(2000, 2000, 4 * 1024 * 1024 + 64), "error", work)  # fmt: skip
    # Bounded: only the first page or frame is decoded; a scan count at the cap decodes.
    yield Case("work/jpeg-64x64-100-scans", jpeg_scan_bomb(64, 64, 94), "ok")
    # The engine reads a TIFF's first page (200); the service reads a multi-page TIFF as a
    # document, and 20,000 pages are over its page limit (422, with the page-range hint).
    yield Case("work/tiff-20000-pages", tiff_many_pages(20_000), "either", frozenset({422}))
    yield Case("work/gif-50000-frames", gif_many_frames(50_000), "ok")
    yield Case("work/webp-50000-frames", webp_many_frames(50_000, 64, 64), "ok")
    yield Case("work/png-400000x1", png_gray(400_000, 1), "ok")
    yield Case("work/png-1x400000", png_gray(1, 400_000), "ok")


def big_valid_cases() -> Iterator[Case]:
    """Valid images at the 40 MP limit (not in :func:`corpus`: each decodes to 120 MB, more than
    the corpus's memory budget allows): tests/hostile/test_decoder_bombs.py runs them."""
    yield Case("big/png-rgba-6000x6600", png_rgba_40mp(), "ok")
    yield Case("big/png-40000000x1", png_gray(40_000_000, 1), "ok")
    yield Case("big/png-1x40000000", png_gray(1, 40_000_000), "ok")


# -- not images at all -------------------------------------------------------------------------


def not_image_cases() -> Iterator[Case]:
    rng = random.Random(SEED + 1)
    bad, unsupported = STATUS_BAD, STATUS_UNSUPPORTED
    yield Case("notimage/zero-bytes", b"", "error", bad)
    yield Case("notimage/one-zero-byte", b"\x00", "error", bad)
    yield Case("notimage/4k-zeros", b"\x00" * 4096, "error", bad)
    yield Case("notimage/text", "这不是图片, not an image.\n".encode() * 20, "error", bad)
    yield Case("notimage/html", b"<!doctype html><html><body><img src=x onerror=alert(1)>",
               "error", bad)  # fmt: skip
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="40">'
        b"<script>fetch('http://127.0.0.1:1/steal')</script><text>hi</text></svg>"
    )
    yield Case("notimage/svg-script", svg, "error", unsupported)
    yield Case("notimage/svg-xml-prolog", b'<?xml version="1.0"?>\n' + svg, "error", unsupported)
    yield Case(
        "notimage/svg-xxe",
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<svg><text>&x;</text></svg>",
        "error",
        unsupported,
    )
    # The engine refuses a PDF as one image (415); the service reads PDFs as documents, and this
    # one has no pages (400).
    yield Case("notimage/pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF",
               "error", unsupported | {400})  # fmt: skip
    yield Case("notimage/postscript", b"%!PS-Adobe-3.0\n(%pipe%id) (r) file\n", "error",
               unsupported)  # fmt: skip
    yield Case("notimage/eps-binary", b"\xc5\xd0\xd3\xc6" + b"\x00" * 60, "error", unsupported)
    yield Case("notimage/zip", b"PK\x03\x04" + b"\x00" * 60, "error", unsupported)
    yield Case("notimage/gzip", b"\x1f\x8b\x08" + b"\x00" * 40, "error", unsupported)
    yield Case("notimage/psd", b"8BPS\x00\x01" + b"\x00" * 60, "error", unsupported)
    yield Case("notimage/ico", b"\x00\x00\x01\x00\x01\x00" + b"\x00" * 60, "error", unsupported)
    yield Case("notimage/heic", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40, "error", unsupported)
    yield Case("notimage/avif", b"\x00\x00\x00\x18ftypavif" + b"\x00" * 40, "error", unsupported)
    yield Case("notimage/jp2", b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 40, "error",
               unsupported)  # fmt: skip
    yield Case("notimage/elf", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "error", bad)
    yield Case("notimage/magic-only-png", b"\x89PNG\r\n\x1a\n", "error", bad)
    yield Case("notimage/magic-only-jpeg", b"\xff\xd8\xff", "error", bad)
    yield Case("notimage/magic-only-gif", b"GIF89a", "error", bad)
    yield Case("notimage/magic-only-bmp", b"BM", "error", bad)
    yield Case("notimage/magic-only-tiff", b"II*\x00", "error", bad)
    yield Case("notimage/magic-only-webp", b"RIFF\x00\x00\x00\x00WEBP", "error", bad)
    yield Case("notimage/60MB-zeros-after-png-magic", b"\x89PNG\r\n\x1a\n" +
               b"\x00" * (HUGE_UPLOAD_BYTES - 8), "error", STATUS_TOO_LARGE)  # fmt: skip
    for i in range(RANDOM_BLOBS):
        size = rng.choice((1, 7, 63, 512, 4096, 65536))
        yield Case(f"random/{i:03d}-{size}B", rng.randbytes(size), "error", bad)


# -- mutated and truncated files ---------------------------------------------------------------


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits: flip bits, overwrite bytes with extremes, insert, delete,
    duplicate or swap a span. The first 64 bytes (where headers live) get a third of the edits."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not out:
            break
        head = rng.random() < 0.33
        pos = rng.randrange(min(len(out), 64) if head else len(out))
        op = rng.randrange(6)
        if op == 0:
            out[pos] ^= 1 << rng.randrange(8)
        elif op == 1:
            span = rng.randint(1, 4)
            out[pos : pos + span] = bytes(rng.choice((0x00, 0xFF, 0x7F, 0x80)) for _ in range(span))
        elif op == 2:
            out[pos:pos] = rng.randbytes(rng.randint(1, 32))
        elif op == 3:
            del out[pos : pos + rng.randint(1, 32)]
        elif op == 4:
            span = bytes(out[pos : pos + rng.randint(1, 64)])
            out[pos:pos] = span * rng.randint(1, 8)
        else:
            other = rng.randrange(len(out))
            a, b = sorted((pos, other))
            n = min(16, b - a)
            out[a : a + n], out[b : b + n] = out[b : b + n], out[a : a + n]
    return bytes(out)


def mutated_cases() -> Iterator[Case]:
    for kind in MUTATED_FORMATS:
        rng = random.Random(f"{SEED}-{kind}")
        base = base_file(kind)
        yield Case(f"base/{kind}", base, "ok")
        for i in range(MUTATIONS_PER_FORMAT):
            yield Case(f"mutated-{kind}/{i:03d}", mutate(base, rng), "either", STATUS_MUTATED)
        cuts = sorted({rng.randrange(1, len(base)) for _ in range(TRUNCATIONS_PER_FORMAT)})
        for cut in cuts:
            # Cutting a file anywhere leaves at best a damaged picture; some decoders (GIF, BMP,
            # JPEG) fill the missing part, others refuse: both are acceptable answers.
            yield Case(f"truncated-{kind}/{cut:05d}", base[:cut], "either", STATUS_MUTATED)


# -- the whole corpus --------------------------------------------------------------------------


@functools.cache
def corpus() -> tuple[Case, ...]:
    cases = (
        *odd_valid_cases(),
        *bomb_cases(),
        *decoder_work_cases(),
        *not_image_cases(),
        *mutated_cases(),
    )
    names = [case.name for case in cases]
    if len(set(names)) != len(names):
        raise ValueError("duplicate case names in the hostile corpus")
    return cases


def groups() -> list[str]:
    return sorted({case.group for case in corpus()})


def sample(every: int) -> list[Case]:
    """Every ``every``-th case of each group (at least one per group), for the slow CLI."""
    picked: list[Case] = []
    by_group: dict[str, list[Case]] = {}
    for case in corpus():
        by_group.setdefault(case.group, []).append(case)
    for cases in by_group.values():
        picked.extend(cases[::every] or cases[:1])
    return picked


# -- whole requests (HTTP only): multipart abuse, bad JSON and base64, URLs --------------------


@dataclass(frozen=True)
class RequestCase:
    """One hostile request: ``kwargs`` for ``httpx.Client.request`` (method POST)."""

    name: str
    path: str
    kwargs: dict[str, object]
    statuses: frozenset[int]


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def request_cases(fetch_trap_url: str) -> list[RequestCase]:
    """``fetch_trap_url`` is a URL on a local listener: the server must never connect to it."""
    png = base_file("png")
    image = {"image": ("a.png", png, "image/png")}
    bad, big, media = STATUS_BAD, STATUS_TOO_LARGE, STATUS_UNSUPPORTED
    ok = frozenset({200})
    cases = [
        RequestCase("control/multipart-ok", "/ocr", {"files": image}, ok),
        RequestCase("control/json-ok", "/ocr", {"json": {"image": _b64(png)}}, ok),
        RequestCase("control/data-url-ok", "/ocr",
                    {"json": {"image": "data:image/png;base64," + _b64(png)}}, ok),
        RequestCase("control/odd-part-type-ok", "/ocr",
                    {"files": {"image": ("x.exe", png, "text/html")}}, ok),
        RequestCase("control/path-traversal-filename", "/ocr",
                    {"files": {"image": ("../../../../../tmp/cpuocr-pwned.png", png, "image/png")}},
                    ok),
        RequestCase("multipart/missing-field", "/ocr", {"files": {"file": ("a.png", png)}}, bad),
        RequestCase("multipart/empty-form", "/ocr",
                    {"content": b"--b--\r\n",
                     "headers": {"content-type": "multipart/form-data; boundary=b"}}, bad),
        RequestCase("multipart/40-parts-one-field", "/ocr",
                    {"files": [("image", (f"{i}.png", png, "image/png")) for i in range(40)]}, bad),
        RequestCase("multipart/40-parts-batch", "/ocr/batch",
                    {"files": [("image", (f"{i}.png", png, "image/png")) for i in range(40)]}, bad),
        RequestCase("multipart/40-text-fields", "/ocr",
                    {"files": image, "data": {f"f{i}": "x" for i in range(40)}}, bad),
        RequestCase("multipart/huge-text-field", "/ocr",
                    {"files": image, "data": {"det": "x" * 200_000}}, big),
        RequestCase("multipart/huge-text-field-name", "/ocr",
                    {"files": image, "data": {"n" * 100_000: "1"}}, frozenset({400, 413})),
        RequestCase("multipart/image-as-text", "/ocr",
                    {"files": {"other": ("o.png", png)}, "data": {"image": _b64(png)}}, bad),
        RequestCase("multipart/no-boundary", "/ocr",
                    {"content": png, "headers": {"content-type": "multipart/form-data"}}, bad),
        RequestCase("multipart/garbage-body", "/ocr",
                    {"content": random.Random(3).randbytes(5000),
                     "headers": {"content-type": "multipart/form-data; boundary=xyz"}}, bad),
        RequestCase("multipart/unterminated", "/ocr",
                    {"content": b'--xyz\r\nContent-Disposition: form-data; name="image"; '
                                b'filename="a.png"\r\n\r\n' + png[:100],
                     "headers": {"content-type": "multipart/form-data; boundary=xyz"}}, bad),
        RequestCase("multipart/bad-option", "/ocr",
                    {"files": image, "data": {"det": "maybe"}}, bad),
        RequestCase("multipart/bad-preprocess", "/ocr",
                    {"files": image, "data": {"preprocess": "../../etc/passwd"}}, bad),
        RequestCase("multipart/60MB-upload", "/ocr",
                    {"files": {"image": ("big.png", b"\x89PNG\r\n\x1a\n" +
                                         b"\x00" * HUGE_UPLOAD_BYTES, "image/png")}}, big),
        RequestCase("type/text-plain", "/ocr",
                    {"content": png, "headers": {"content-type": "text/plain"}}, media),
        RequestCase("type/image-png-raw", "/ocr",
                    {"content": png, "headers": {"content-type": "image/png"}}, media),
        RequestCase("type/xml", "/ocr",
                    {"content": b"<a/>", "headers": {"content-type": "application/xml"}}, media),
        RequestCase("type/urlencoded", "/ocr", {"data": {"image": _b64(png)}}, media),
        RequestCase("type/none", "/ocr", {"content": png}, media),
        RequestCase("base64/garbage", "/ocr", {"json": {"image": "!!!not base64***"}}, bad),
        RequestCase("base64/empty", "/ocr", {"json": {"image": ""}}, bad),
        RequestCase("base64/whitespace", "/ocr", {"json": {"image": " \n\t "}}, bad),
        RequestCase("base64/bad-padding", "/ocr", {"json": {"image": "abc=d"}}, bad),
        RequestCase("base64/non-ascii", "/ocr", {"json": {"image": "图片图片"}}, bad),
        RequestCase("base64/random-bytes", "/ocr",
                    {"json": {"image": _b64(random.Random(5).randbytes(3000))}}, bad),
        RequestCase("base64/text", "/ocr", {"json": {"image": _b64(b"hello world")}}, bad),
        RequestCase("base64/svg-script", "/ocr",
                    {"json": {"image": _b64(b"<svg><script>alert(1)</script></svg>")}}, media),
        RequestCase("base64/bomb", "/ocr", {"json": {"image": _b64(png_header(30000, 30000))}},
                    big),
        RequestCase("base64/data-url-garbage", "/ocr",
                    {"json": {"image": "data:image/png;base64,@@@@"}}, bad),
        RequestCase("base64/over-limit", "/ocr",
                    {"json": {"image": "A" * (28 * 1024 * 1024)}}, big),
        RequestCase("json/invalid", "/ocr",
                    {"content": b'{"image": ', "headers": {"content-type": "application/json"}},
                    bad),
        RequestCase("json/array", "/ocr", {"json": [_b64(png)]}, bad),
        RequestCase("json/number", "/ocr", {"json": 42}, bad),
        RequestCase("json/null", "/ocr", {"content": b"null",
                    "headers": {"content-type": "application/json"}}, bad),
        RequestCase("json/string", "/ocr", {"json": _b64(png)}, bad),
        RequestCase("json/image-number", "/ocr", {"json": {"image": 123}}, bad),
        RequestCase("json/image-list", "/ocr", {"json": {"image": [_b64(png)]}}, bad),
        RequestCase("json/image-object", "/ocr", {"json": {"image": {"$ref": "x"}}}, bad),
        RequestCase("json/images-string", "/ocr/batch", {"json": {"images": _b64(png)}}, bad),
        RequestCase("json/images-empty", "/ocr/batch", {"json": {"images": []}}, bad),
        RequestCase("json/images-40", "/ocr/batch", {"json": {"images": [_b64(png)] * 40}}, bad),
        RequestCase("json/deep-nesting", "/ocr",
                    {"content": b"[" * 200_000 + b"]" * 200_000,
                     "headers": {"content-type": "application/json"}}, bad),
        RequestCase("json/bad-utf8", "/ocr",
                    {"content": b'{"image": "\xff\xfe"}',
                     "headers": {"content-type": "application/json"}}, bad),
        RequestCase("json/bad-det", "/ocr", {"json": {"image": _b64(png), "det": [1]}}, bad),
        RequestCase("json/60MB", "/ocr",
                    {"content": b'{"image": "' + b"A" * HUGE_UPLOAD_BYTES + b'"}',
                     "headers": {"content-type": "application/json"}}, big),
        RequestCase("url/url-field", "/ocr", {"json": {"url": fetch_trap_url}}, bad),
        RequestCase("url/image-is-url", "/ocr", {"json": {"image": fetch_trap_url}}, bad),
        RequestCase("url/image-is-file-url", "/ocr", {"json": {"image": "file:///etc/passwd"}},
                    bad),
        RequestCase("url/multipart-url-text", "/ocr", {"data": {"url": fetch_trap_url},
                    "files": {"x": ("x", b"x")}}, bad),
        RequestCase("url/batch-urls", "/ocr/batch",
                    {"json": {"images": [fetch_trap_url, fetch_trap_url]}}, bad),
    ]  # fmt: skip
    return cases


# == PDF documents (issue 13) ====================================================================
#
# Read by the document reader (``cpuocr._documents.reader.read_document``, ``cpuocr FILE.pdf``,
# ``POST /ocr`` with a PDF), not by the single-image engine (which answers a PDF with 415): these
# cases are NOT in :func:`corpus`. Every file is built in code (pikepdf, imported here only, so the
# image corpus above needs no PDF library) and cached; the 10,000-page file is written by hand,
# one page object listed 10,000 times (60 KB), and its page count is refused before any page is
# rendered.

STATUS_PDF_BAD = STATUS_BAD  # InvalidImage: encrypted, corrupt, truncated, no pages
STATUS_PDF_TOO_LARGE = STATUS_TOO_LARGE  # ImageTooLarge: a page over the PDF size limit
STATUS_PDF_WORK = frozenset({422})  # WorkLimitExceeded: over the page limit
#: A mutated PDF may still open (pdfium repairs what it can) and then read, or be refused.
STATUS_PDF_MUTATED = STATUS_MUTATED

PDF_TEXT = "Hello from a PDF text layer"
PDF_MUTATIONS = 40
PDF_TRUNCATIONS = 12


def pdf_document(
    pages: int = 1,
    *,
    box: tuple[float, float, float, float] = (0, 0, 612, 792),
    content: bytes | None = None,
    rotate: int = 0,
    images: list[Image.Image] | None = None,
    encryption: object = None,
    extra: Callable[[Any], dict[str, object]] | None = None,
) -> bytes:
    """A PDF built with pikepdf. ``content``: the page's content stream (default: two lines of
    Helvetica text, a real text layer); ``images``: one page per image, each drawn over the whole
    page (a scan), ``content`` then drawn over it (an OCR layer, say); otherwise ``pages`` copies
    of ONE page object (cheap at any count). ``extra(pdf)``: entries to set on the catalog."""
    import pikepdf

    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica,
            Encoding=pikepdf.Name.WinAnsiEncoding,
        )
    )  # fmt: skip
    if content is None:
        content = pdf_text_content([PDF_TEXT, "Second line of the page"], x=72, y=box[3] - 100)

    def page(stream: bytes, xobjects: dict[str, object] | None = None) -> object:
        resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        if xobjects:
            resources.XObject = pikepdf.Dictionary(xobjects)
        d = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=list(box), Resources=resources,
            Contents=pdf.make_stream(stream),
        )  # fmt: skip
        if rotate:
            d.Rotate = rotate
        return pdf.make_indirect(d)

    if images:
        for image in images:
            rgb = image.convert("RGB")
            xobj = pdf.make_stream(
                encode(rgb, format="JPEG", quality=90),
                Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=rgb.width,
                Height=rgb.height, ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8,
                Filter=pikepdf.Name.DCTDecode,
            )  # fmt: skip
            w, h = box[2] - box[0], box[3] - box[1]
            draw = b"q %.3f 0 0 %.3f %.3f %.3f cm /Im0 Do Q\n" % (w, h, box[0], box[1])
            body = draw + (content if content is not None else b"")
            pdf.pages.append(pikepdf.Page(page(body, {"/Im0": xobj})))
    else:
        shared = page(content)
        for _ in range(pages):
            pdf.pages.append(pikepdf.Page(shared))
    for key, value in (extra(pdf) if extra else {}).items():
        pdf.Root[key] = value
    out = io.BytesIO()
    if encryption:  # an encrypted file cannot have a deterministic ID: a fixed one instead
        pdf.trailer.ID = [pikepdf.String(b"cpuocr-hostile-1"), pikepdf.String(b"cpuocr-hostile-1")]
        pdf.save(out, encryption=encryption, static_id=True)
    else:
        pdf.save(out, deterministic_id=True)
    return out.getvalue()


def pdf_text_content(
    lines: list[str], *, x: float = 72, y: float = 692, size: float = 24, mode: int = 0
) -> bytes:
    """A content stream of Helvetica text lines (Latin-1) from (x, y) down, text render mode
    ``mode`` (3: invisible, as an OCR layer)."""
    ops = [b"BT /F1 %.1f Tf %d Tr %.1f %.1f Td" % (size, mode, x, y)]
    for i, text in enumerate(lines):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        if i:
            ops.append(b"0 %.1f Td" % (-1.5 * size))
        ops.append(b"(" + escaped.encode("latin-1") + b") Tj")
    ops.append(b"ET\n")
    return b" ".join(ops)


@functools.cache
def pdf_base() -> bytes:
    return pdf_document()


def _pdf_active_content() -> bytes:
    """JavaScript on open, a form field with a JavaScript action, an embedded file and a launch
    action: pdfium runs none of it (forms are never initialised), the page reads normally."""
    import pikepdf

    def active(pdf: pikepdf.Pdf) -> dict[str, object]:
        js = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1);"))
        embedded = pikepdf.Dictionary(
            Type=pikepdf.Name.Filespec, F=pikepdf.String("evil.exe"),
            EF=pikepdf.Dictionary(F=pdf.make_stream(b"MZ not really")),
        )  # fmt: skip
        field = pdf.make_indirect(
            pikepdf.Dictionary(
                FT=pikepdf.Name.Tx, T=pikepdf.String("name"), Rect=[72, 72, 300, 100],
                AA=pikepdf.Dictionary(K=js),
            )
        )  # fmt: skip
        launch = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("/bin/sh"))
        return {
            "/OpenAction": js,
            "/AA": pikepdf.Dictionary(WC=launch),
            "/AcroForm": pikepdf.Dictionary(Fields=[field], NeedAppearances=True),
            "/Names": pikepdf.Dictionary(
                EmbeddedFiles=pikepdf.Dictionary(Names=[pikepdf.String("evil.exe"), embedded])
            ),
        }

    return pdf_document(extra=active)


@functools.cache
def pdf_cases() -> tuple[Case, ...]:
    """The hostile PDFs: what the document reader must refuse (with these statuses) or read."""
    import pikepdf

    base = pdf_base()
    bad, big, work = STATUS_PDF_BAD, STATUS_PDF_TOO_LARGE, STATUS_PDF_WORK
    cases = [
        Case("pdf/base", base, "ok"),
        Case("pdf/encrypted-user-password",
             pdf_document(encryption=pikepdf.Encryption(owner="o", user="secret")), "error", bad),
        Case("pdf/encrypted-aes256-user-password",
             pdf_document(encryption=pikepdf.Encryption(owner="o", user="u", R=6)), "error", bad),
        # only an owner password (printing/copying restrictions): anyone may open and read it
        Case("pdf/encrypted-owner-only",
             pdf_document(encryption=pikepdf.Encryption(owner="o", user="")), "ok"),
        Case("pdf/catalog-only", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF",
             "error", bad),
        Case("pdf/magic-only", b"%PDF-", "error", bad),
        Case("pdf/header-then-garbage", b"%PDF-1.4\n" + random.Random(SEED).randbytes(4000),
             "error", bad),
        Case("pdf/zero-pages", _pdf_zero_pages(), "error", bad),
        Case("pdf/10000-pages", pdf_many_pages(10_000), "error", work),
        Case("pdf/100000x100000-points", pdf_document(box=(0, 0, 100_000, 100_000)),
             "error", big),
        Case("pdf/negative-mediabox-huge", pdf_document(box=(0, 0, -90_000, 90_000)),
             "error", big),
        Case("pdf/half-point-page", pdf_document(box=(0, 0, 0.5, 0.5)), "error", bad),
        # 5000 pt a side: over 40 MP at the default DPI, read at a lower DPI instead of refused
        Case("pdf/large-page-fitted", pdf_document(box=(0, 0, 5000, 5000)), "ok"),
        Case("pdf/rotated-90", pdf_document(rotate=90), "ok"),
        Case("pdf/rotate-not-multiple-of-90", pdf_document(rotate=45), "ok"),
        Case("pdf/javascript-forms-embedded-file", _pdf_active_content(), "ok"),
        Case("pdf/junk-before-header", b"\x00junk\n" * 10 + base, "ok"),
    ]  # fmt: skip
    rng = random.Random(f"{SEED}-pdf")
    for i in range(PDF_MUTATIONS):
        cases.append(Case(f"pdf-mutated/{i:03d}", mutate(base, rng), "either", STATUS_PDF_MUTATED))
    for cut in sorted({rng.randrange(1, len(base)) for _ in range(PDF_TRUNCATIONS)}):
        cases.append(Case(f"pdf-truncated/{cut:05d}", base[:cut], "either", STATUS_PDF_MUTATED))
    names = [case.name for case in cases]
    if len(set(names)) != len(names):
        raise ValueError("duplicate case names in the PDF corpus")
    return tuple(cases)


def pdf_many_pages(count: int) -> bytes:
    """A hand-written PDF of ``count`` blank pages: one page object listed ``count`` times."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b"3 0 R " * count + b"] /Count %d >>" % count,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length 0 >>\nstream\n\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _pdf_zero_pages() -> bytes:
    """A well-formed PDF whose page tree is empty (``/Count 0``, no kids)."""
    import pikepdf

    pdf = pikepdf.new()
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True)
    return out.getvalue()
