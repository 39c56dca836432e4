"""The hostile-input corpus: more than a thousand odd, broken and malicious images, generated
deterministically (seeded) from a few tiny rendered pictures, so nothing big is committed.

Each :class:`Case` says what a correct service does with it:

* ``ok``     an odd but valid image: the engine returns a result, HTTP answers 200;
* ``error``  not an acceptable image: the engine raises a :class:`cpuocr.CpuocrError`, HTTP
             answers one of ``statuses`` (4xx) with the JSON error body;
* ``either`` a mutated file that may or may not still decode: a result or a cpuocr error (200 or
             4xx), never anything else.

Everything is cheap to build (well under a second for the whole corpus, except the one real
30000×30000 PNG bomb, which is cached). Decoding is bounded by the service's own limits: the
header is checked before any pixel is decoded, and the base pictures are tiny, so a mutated file
that still decodes costs one small inference.
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

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
    yield Case("notimage/pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF",
               "error", unsupported)  # fmt: skip
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
            yield Case(f"mutated-{kind}/{i:03d}", mutate(base, rng), "either")
        cuts = sorted({rng.randrange(1, len(base)) for _ in range(TRUNCATIONS_PER_FORMAT)})
        for cut in cuts:
            # Cutting a file anywhere leaves at best a damaged picture; some decoders (GIF, BMP,
            # JPEG) fill the missing part, others refuse: both are acceptable answers.
            yield Case(f"truncated-{kind}/{cut:05d}", base[:cut], "either")


# -- the whole corpus --------------------------------------------------------------------------


@functools.cache
def corpus() -> tuple[Case, ...]:
    cases = (
        *odd_valid_cases(),
        *bomb_cases(),
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
