"""The glyphless font of the searchable PDF's text layer, and its character codes.

The text layer is invisible (text render mode 3): it needs a font only so that viewers and text
extractors know each character's code, Unicode value and advance. As in Tesseract's PDF renderer,
the font is *glyphless*: a TrueType font of two glyphs that paint nothing (``.notdef`` and one
blank glyph), both 500/1000 em wide, which every code point maps to. It is written here, table
by table, at first use (728 bytes; no font tool needed at run time) and embedded in every PDF, so
Chinese copy and search work in every viewer, with no font substitution on conversion.

In the PDF it is a Type0 font, Identity-H encoding, over a CIDFontType2 whose CIDToGIDMap maps
every CID to the blank glyph (GID 1), default width ``/DW 500``. The codes are 2-byte CIDs:

- a character of the Basic Multilingual Plane is its own UTF-16 code unit (as Tesseract does);
- a character beyond it (CJK extension B, emoji) gets a CID of the surrogate range
  D800–DFFF, which no BMP character uses, allocated per document in order of first use, and the
  ToUnicode CMap maps that CID to the character's UTF-16 surrogate pair; one character, one CID,
  so placement stays one advance per character. After 2048 distinct such characters in one
  document, or for a lone surrogate, U+FFFD is written instead.

The ToUnicode CMap maps exactly the CIDs the document uses (ranges of consecutive CIDs within one
high byte, and single entries).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from functools import cache

FONT_NAME = "GlyphLessFont"
UNITS_PER_EM = 1000
#: Advance of every glyph, in 1/1000 em: the PDF's /DW.
ADVANCE = 500

_SURROGATES = range(0xD800, 0xE000)
_REPLACEMENT = 0xFFFD


def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    words: tuple[int, ...] = struct.unpack(f">{len(data) // 4}I", data)
    return sum(words) & 0xFFFFFFFF


def _name_table() -> bytes:
    names = {1: FONT_NAME, 2: "Regular", 3: FONT_NAME, 4: FONT_NAME, 6: FONT_NAME}
    records = b""
    strings = b""
    for name_id, text in names.items():
        raw = text.encode("utf-16-be")
        records += struct.pack(">6H", 3, 1, 0x409, name_id, len(raw), len(strings))
        strings += raw
    header = struct.pack(">3H", 0, len(names), 6 + len(records))
    return header + records + strings


def _cmap_table() -> bytes:
    # (3,1) format 4: U+0020 -> glyph 1 (and the required final 0xFFFF segment);
    # (3,10) format 13: every code point 0..10FFFF -> glyph 1.
    seg_count = 2
    fmt4 = struct.pack(
        ">7H",
        4,
        16 + 8 * seg_count,
        0,
        2 * seg_count,
        4,  # searchRange = 2 * 2**floor(log2(segCount))
        1,  # entrySelector
        0,  # rangeShift
    )
    fmt4 += struct.pack(">2H", 0x0020, 0xFFFF)  # endCode
    fmt4 += struct.pack(">H", 0)  # reservedPad
    fmt4 += struct.pack(">2H", 0x0020, 0xFFFF)  # startCode
    fmt4 += struct.pack(">2H", (1 - 0x20) & 0xFFFF, 1)  # idDelta
    fmt4 += struct.pack(">2H", 0, 0)  # idRangeOffset
    fmt13 = struct.pack(">HHIII", 13, 0, 28, 0, 1) + struct.pack(">3I", 0, 0x10FFFF, 1)
    header = struct.pack(">2H", 0, 2)
    records = struct.pack(">2HI", 3, 1, 4 + 16) + struct.pack(">2HI", 3, 10, 4 + 16 + len(fmt4))
    return header + records + fmt4 + fmt13


def _os2_table() -> bytes:
    return (
        struct.pack(">HhHHH", 4, ADVANCE, 400, 5, 0)  # version, avg width, weight, width, fsType
        + struct.pack(">11h", 650, 600, 0, 75, 650, 600, 0, 350, 50, 250, 0)
        + bytes(10)  # panose
        + struct.pack(">4I", 0, 0, 0, 0)  # unicode ranges
        + b"NONE"
        + struct.pack(">3H", 0x40, 0x20, 0xFFFF)  # fsSelection REGULAR, first/last char
        + struct.pack(">3h", UNITS_PER_EM, 0, 0)  # typo ascender, descender, line gap
        + struct.pack(">2H", UNITS_PER_EM, 0)  # win ascent, descent
        + struct.pack(">2I", 1, 0)  # code page ranges (Latin 1)
        + struct.pack(">2h", 500, 700)  # x height, cap height
        + struct.pack(">3H", 0, 0x20, 1)  # default char, break char, max context
    )


#: The blank glyph: one contour of two on-curve points, (0, 0) and (500, 1000), which encloses
#: no area (nothing to paint, even where render mode 3 were ignored) but gives the glyph the
#: bounding box of a full character cell. Extractors that size characters from their glyphs
#: need it: pdfium drops a text run whose box has no width, which a run of empty glyphs turned
#: 90° (a vertical line) would have.
_BLANK_GLYPH = struct.pack(
    ">5hHH2B4h", 1, 0, 0, ADVANCE, UNITS_PER_EM, 1, 0, 1, 1, 0, ADVANCE, 0, UNITS_PER_EM
)


@cache
def glyphless_ttf() -> bytes:
    """The TrueType font program (see the module docstring)."""
    num_glyphs = 2
    tables = {
        "OS/2": _os2_table(),
        "cmap": _cmap_table(),
        "glyf": _BLANK_GLYPH,
        "head": struct.pack(
            ">IIIIHHqqhhhhHHhhh",
            0x00010000,
            0x00010000,
            0,  # checkSumAdjustment, set below
            0x5F0F3CF5,
            0b1011,  # baseline at y=0, lsb at x=0, integer ppem
            UNITS_PER_EM,
            0,
            0,
            0,
            0,
            ADVANCE,
            UNITS_PER_EM,
            0,  # macStyle
            8,  # lowestRecPPEM
            2,  # fontDirectionHint
            0,  # indexToLocFormat: short
            0,
        ),
        "hhea": struct.pack(
            ">IhhhHhhhhhhhhhhhH",
            0x00010000,
            UNITS_PER_EM,  # ascender
            0,  # descender
            0,  # lineGap
            ADVANCE,  # advanceWidthMax
            0,
            0,
            0,
            1,  # caretSlopeRise
            0,
            0,
            0,
            0,
            0,
            0,
            0,  # metricDataFormat
            num_glyphs,  # numberOfHMetrics
        ),
        "hmtx": struct.pack(">HhHh", ADVANCE, 0, ADVANCE, 0),
        "loca": struct.pack(">3H", 0, 0, len(_BLANK_GLYPH) // 2),  # .notdef: empty
        "maxp": struct.pack(">IH13H", 0x00010000, num_glyphs, 2, 1, 0, 0, 2, *([0] * 8)),
        "name": _name_table(),
        "post": struct.pack(">IIhhIIIII", 0x00030000, 0, -100, 50, 1, 0, 0, 0, 0),
    }
    n = len(tables)
    entry_selector = n.bit_length() - 1
    search_range = 16 * (1 << entry_selector)
    directory = struct.pack(
        ">IHHHH", 0x00010000, n, search_range, entry_selector, 16 * n - search_range
    )
    offset = 12 + 16 * n
    records = b""
    body = b""
    for tag in sorted(tables):
        data = tables[tag]
        records += struct.pack(">4sIII", tag.encode("ascii"), _checksum(data), offset, len(data))
        padded = data + b"\0" * (-len(data) % 4)
        body += padded
        offset += len(padded)
    font = bytearray(directory + records + body)
    adjustment = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
    head_offset = (
        12
        + 16 * n
        + sum(len(tables[t]) + (-len(tables[t]) % 4) for t in sorted(tables) if t < "head")
    )
    font[head_offset + 8 : head_offset + 12] = struct.pack(">I", adjustment)
    return bytes(font)


class CidEncoder:
    """Text -> 2-byte CIDs for one document, remembering the CIDs used for its ToUnicode CMap."""

    def __init__(self) -> None:
        self.used: dict[int, str] = {}  # CID -> the text it stands for
        self._extra: dict[str, int] = {}  # character beyond the BMP -> its CID

    def cid(self, ch: str) -> int:
        code = ord(ch)
        if code in _SURROGATES:
            code = _REPLACEMENT
        elif code > 0xFFFF:
            found = self._extra.get(ch)
            if found is None:
                if len(self._extra) < len(_SURROGATES):
                    found = _SURROGATES.start + len(self._extra)
                    self._extra[ch] = found
                else:
                    found = _REPLACEMENT
            self.used[found] = ch if found != _REPLACEMENT else "\ufffd"
            return found
        self.used[code] = chr(code)
        return code

    def encode(self, text: str) -> str:
        """``text`` as the hex digits of a PDF string of CIDs (one per character)."""
        return "".join(f"{self.cid(ch):04X}" for ch in text)

    def to_unicode(self) -> bytes:
        """The ToUnicode CMap of the CIDs used so far."""
        ranges: list[str] = []
        singles: list[str] = []
        for first, last in _runs(c for c in sorted(self.used) if c not in _SURROGATES):
            if first == last:
                singles.append(f"<{first:04X}> <{first:04X}>")
            else:
                ranges.append(f"<{first:04X}> <{last:04X}> <{first:04X}>")
        for c in sorted(c for c in self.used if c in _SURROGATES):
            utf16 = self.used[c].encode("utf-16-be").hex().upper()
            singles.append(f"<{c:04X}> <{utf16}>")
        out = [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            "<0000> <FFFF>",
            "endcodespacerange",
        ]
        for i in range(0, len(ranges), 100):
            chunk = ranges[i : i + 100]
            out += [f"{len(chunk)} beginbfrange", *chunk, "endbfrange"]
        for i in range(0, len(singles), 100):
            chunk = singles[i : i + 100]
            out += [f"{len(chunk)} beginbfchar", *chunk, "endbfchar"]
        out += [
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
        return ("\n".join(out) + "\n").encode("ascii")


def _runs(codes: Iterable[int]) -> list[tuple[int, int]]:
    """Runs of consecutive codes that share their high byte (a bfrange may vary only in the
    last byte)."""
    runs: list[tuple[int, int]] = []
    for c in codes:
        if runs and c == runs[-1][1] + 1 and c >> 8 == runs[-1][0] >> 8:
            runs[-1] = (runs[-1][0], c)
        else:
            runs.append((c, c))
    return runs
