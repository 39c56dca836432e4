"""The ``degraded_zh`` dev set: Chinese pages rendered from ``shared/data/zh_corpus``, degraded.

    .venv/bin/python -m benchmarks.degraded --out DIR [--count N] [--seed S]
    .venv-bench/bin/python benchmarks/run.py --sets degraded_zh --data-dir DIR

Only this generator is in the repository, never the images. It writes
``DIR/degraded_zh/images/*.png|jpg``, ``DIR/degraded_zh/labels.jsonl`` (the whole-image format of
``shared/data/README.md``: ``image``, ``lines``, ``boxes``, ``width``, ``height``, plus
``degradation``, ``strength``, ``font``, ``char_px`` and ``how``, the parameters drawn) and
``DIR/degraded_zh/README.md``.

Each page is 4-10 lines of corpus sentences (a sentence starts a new line and wraps at the page
width, so line lengths are mixed; some carry the corpus' digits and Latin), in one of the Debian
CJK fonts that are installed (Noto Sans/Serif CJK SC, WenQuanYi Zen Hei), 16-40 px a character,
dark ink on white or off-white paper. A label box is the rendered line's tight box (scaled with
the page when a degradation keeps it small). Then one degradation at one strength:

- kinds (:data:`KINDS`): Gaussian blur, motion blur, defocus blur, fading (low contrast, light and
  patchy ink, uneven paper), Gaussian noise, salt-and-pepper specks, low resolution (downscaled,
  then kept small or scaled back up), JPEG at low quality, and three pairs of them;
- strengths (:data:`STRENGTHS`): ``mild``, ``medium``, ``strong`` (strong still readable by a
  person). Blur and speck sizes scale with the character size, so a strength means the same on
  a small and a large font. A pair applies both parts milder (:data:`PAIR_LEVEL`).

Page ``i`` takes kind ``KINDS[i % len(KINDS)]`` and strength ``i // len(KINDS) % 3``, so every
kind meets every strength equally often (the default 66 pages: two of each), and everything
else is drawn from random generators seeded by ``(seed, i)``: page ``i`` is the same whatever
``--count`` is. The output depends on the corpus file and on which fonts are installed (the
README written with the set names them).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .datasets import find_data_dir

SET_NAME = "degraded_zh"
DEFAULT_COUNT = 66
DEFAULT_SEED = 12

FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # face 2: Noto Sans CJK SC
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),  # Noto Serif CJK SC
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # WenQuanYi Zen Hei
)
"""(file, face index) of the fonts used where installed."""

KINDS: tuple[str, ...] = (
    "gaussian_blur",
    "motion_blur",
    "defocus_blur",
    "fade",
    "gaussian_noise",
    "salt_pepper",
    "low_res",
    "jpeg",
    "low_res+jpeg",
    "fade+gaussian_noise",
    "gaussian_blur+jpeg",
)
STRENGTHS: dict[str, float] = {"mild": 0.6, "medium": 0.8, "strong": 1.0}
"""Strength name -> level in (0, 1]; each degradation maps the level to its own parameter (level
1 being the strongest that a person still reads, judged by eye)."""
PAIR_LEVEL: dict[str, float] = {
    "low_res+jpeg": 0.75,
    "gaussian_blur+jpeg": 0.75,
    "fade+gaussian_noise": 0.5,  # faint ink in noise: both at 0.6 were hard to read by eye
}
"""The parts of a pair are applied at this share of the pair's level."""

CHAR_PX = (16, 40)
LINES_PER_PAGE = (4, 10)
CHARS_PER_LINE = (12, 36)
MAX_LINE_PX = 1400


@dataclass(frozen=True)
class Font:
    path: str
    index: int

    @property
    def name(self) -> str:
        return str(ImageFont.truetype(self.path, 20, index=self.index).getname()[0])


def available_fonts() -> list[Font]:
    """The installed fonts of :data:`FONT_CANDIDATES`, in that order."""
    return [Font(p, i) for p, i in FONT_CANDIDATES if Path(p).is_file()]


def default_corpus() -> Path | None:
    """``shared/data/zh_corpus/lines.txt``, where the labeled data is found."""
    data = find_data_dir()
    path = None if data is None else data / "zh_corpus" / "lines.txt"
    return path if path is not None and path.is_file() else None


def load_corpus(path: Path) -> list[str]:
    """The corpus' sentences, one a line, stripped, empty ones left out."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [s for s in (line.strip() for line in lines) if s]


class _Glyphs:
    """Which characters a font draws (anything but its .notdef box), cached per font."""

    def __init__(self) -> None:
        self._known: dict[tuple[Font, str], bool] = {}
        self._probe: dict[Font, tuple[ImageFont.FreeTypeFont, tuple[int, int], bytes]] = {}

    def covers(self, font: Font, text: str) -> bool:
        if font not in self._probe:
            face = ImageFont.truetype(font.path, 24, index=font.index)
            notdef = face.getmask("\U0010fffd")  # a private-use code point: no font has it
            self._probe[font] = (face, notdef.size, bytes(notdef))
        face, size, notdef_bytes = self._probe[font]
        for ch in text:
            if ch.isspace():
                continue
            known = self._known.get((font, ch))
            if known is None:
                mask = face.getmask(ch)
                cat = unicodedata.category(ch)
                known = cat not in ("Co", "Cn", "Cc") and not (
                    mask.size == size and bytes(mask) == notdef_bytes
                )
                self._known[(font, ch)] = known
            if not known:
                return False
        return True


_GLYPHS = _Glyphs()

# A line does not start with these (Chinese line breaking): they stay at the end of the line
# before, which may then run a little past the page width.
_NO_LINE_START = set("，。、；：？！）》」』】〕”’,.;:?!)%·…")


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (but for kept-back punctuation)."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if current and font.getlength(current + ch) > width and ch not in _NO_LINE_START:
            lines.append(current)
            current = ch.lstrip()
        else:
            current += ch
    if current.strip():
        lines.append(current)
    return [line.rstrip() for line in lines if line.strip()]


@dataclass
class _Page:
    image: Image.Image
    lines: list[str]
    boxes: list[list[float]]  # x1, y1, x2, y2 (axis-aligned, before any resize)
    char_px: int
    paper: tuple[int, int, int]
    font: Font


def _render(rng: random.Random, sentences: Sequence[str], fonts: Sequence[Font]) -> _Page:
    font = fonts[rng.randrange(len(fonts))]
    size = rng.randint(*CHAR_PX)
    face = ImageFont.truetype(font.path, size, index=font.index)
    chars = min(rng.randint(*CHARS_PER_LINE), MAX_LINE_PX // size)
    wrap_px = chars * size
    want = rng.randint(*LINES_PER_PAGE)
    indent = size * 2 if rng.random() < 0.5 else 0  # paragraphs start two characters in
    rows: list[tuple[str, int]] = []  # (text, x offset)
    while len(rows) < want:
        sentence = sentences[rng.randrange(len(sentences))]
        if not _GLYPHS.covers(font, sentence):
            continue
        first = _wrap(sentence, face, wrap_px - indent)[:1]
        rest = sentence[len(first[0]) :].lstrip() if first else ""
        rows += [(t, indent) for t in first]
        rows += [(t, 0) for t in _wrap(rest, face, wrap_px)] if rest else []
    rows = rows[:want]

    margin_x = round(size * rng.uniform(1.0, 3.0))
    margin_y = round(size * rng.uniform(1.0, 3.0))
    pitch = size * rng.uniform(1.35, 1.9)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    widest = max(x + probe.textbbox((0, 0), t, font=face)[2] for t, x in rows)
    width = int(max(wrap_px, widest)) + 2 * margin_x
    height = round(pitch * (len(rows) - 1) + size * 1.5) + 2 * margin_y

    base = rng.randint(236, 255)
    paper = (base, max(0, base - rng.randint(0, 4)), max(0, base - rng.randint(0, 12)))
    ink_level = rng.randint(0, 70)
    ink = (ink_level, ink_level, min(255, ink_level + rng.randint(0, 10)))
    image = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(image)
    lines: list[str] = []
    boxes: list[list[float]] = []
    for i, (text, x) in enumerate(rows):
        origin = (margin_x + x, round(margin_y + i * pitch))
        draw.text(origin, text, fill=ink, font=face)
        x1, y1, x2, y2 = draw.textbbox(origin, text, font=face)
        lines.append(text)
        boxes.append([float(x1), float(y1), float(x2), float(y2)])
    return _Page(image, lines, boxes, size, paper, font)


# -- Degradations ---------------------------------------------------------------------------------


@dataclass
class _State:
    """The page while it is degraded: the image, its scale against the rendering (for the
    boxes), and the JPEG quality it is to be saved with (None: PNG)."""

    image: Image.Image
    char_px: int
    paper: tuple[int, int, int]
    scale: float = 1.0
    jpeg_quality: int | None = None


def _array(state: _State) -> np.ndarray:
    return np.asarray(state.image, dtype=np.float32)


def _set(state: _State, values: np.ndarray) -> None:
    state.image = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "RGB")


def _average_shifts(a: np.ndarray, offsets: Sequence[tuple[int, int]]) -> np.ndarray:
    """The mean of ``a`` shifted by each (dx, dy), edges repeated: a box-shaped kernel."""
    r = max(1, *(max(abs(dx), abs(dy)) for dx, dy in offsets))
    padded = np.pad(a, ((r, r), (r, r), (0, 0)), mode="edge")
    h, w = a.shape[:2]
    out = np.zeros_like(a)
    for dx, dy in offsets:
        out += padded[r - dy : r - dy + h, r - dx : r - dx + w]
    return out / len(offsets)


def _char(state: _State) -> float:
    """The current character size in pixels."""
    return state.char_px * state.scale


def _gaussian_blur(state: _State, level: float, rng: random.Random, _: np.random.Generator) -> str:
    sigma = 0.12 * level * _char(state) * rng.uniform(0.9, 1.1)
    state.image = state.image.filter(ImageFilter.GaussianBlur(sigma))
    return f"sigma {sigma:.2f} px"


def _motion_blur(state: _State, level: float, rng: random.Random, _: np.random.Generator) -> str:
    length = max(2.0, 0.45 * level * _char(state) * rng.uniform(0.9, 1.1))
    angle = rng.uniform(0.0, math.pi)
    steps = max(2, round(length)) + 1
    offsets = [
        (round(t * math.cos(angle)), round(t * math.sin(angle)))
        for t in np.linspace(-length / 2, length / 2, steps)
    ]
    _set(state, _average_shifts(_array(state), offsets))
    return f"length {length:.1f} px at {math.degrees(angle):.0f} deg"


def _defocus_blur(state: _State, level: float, rng: random.Random, _: np.random.Generator) -> str:
    radius = max(1.0, 0.18 * level * _char(state) * rng.uniform(0.9, 1.1))
    r = math.ceil(radius)
    offsets = [
        (dx, dy)
        for dy in range(-r, r + 1)
        for dx in range(-r, r + 1)
        if dx * dx + dy * dy <= radius**2
    ]
    _set(state, _average_shifts(_array(state), offsets))
    state.image = state.image.filter(ImageFilter.GaussianBlur(0.5))
    return f"disk radius {radius:.1f} px"


def _smooth_field(shape: tuple[int, int], cell: float, gen: np.random.Generator) -> np.ndarray:
    """Smooth random values in [0, 1] over ``shape`` (h, w), varying over ``cell`` pixels."""
    h, w = shape
    small = gen.random((max(2, round(h / cell) + 2), max(2, round(w / cell) + 2)))
    field = Image.fromarray((small * 255).astype(np.uint8), "L").resize(
        (w, h), Image.Resampling.BICUBIC
    )
    return np.asarray(field, dtype=np.float32)[:, :, None] / 255.0


def _fade(state: _State, level: float, rng: random.Random, gen: np.random.Generator) -> str:
    a = _array(state)
    paper = np.asarray(state.paper, dtype=np.float32)
    ink = np.clip(paper - a, 0.0, None)  # how much darker than the paper
    top = max(1.0, float(ink.max()))
    gamma = 1.0 + 2.0 * level * rng.uniform(0.9, 1.1)  # strokes thin: their soft edges go first
    contrast = 1.0 - 0.85 * level * rng.uniform(0.95, 1.05)
    patchy = 1.0 - 0.5 * level * _smooth_field(a.shape[:2], 3.0 * _char(state), gen)
    paper_out = paper - 12.0 * level * _smooth_field(a.shape[:2], a.shape[0] / 2, gen)
    _set(state, paper_out - top * (ink / top) ** gamma * contrast * patchy)
    return f"contrast {contrast:.2f}, stroke gamma {gamma:.2f}"


def _gaussian_noise(
    state: _State, level: float, rng: random.Random, gen: np.random.Generator
) -> str:
    sigma = 115.0 * level * rng.uniform(0.9, 1.1)
    a = _array(state)
    noise = gen.normal(0.0, sigma, (*a.shape[:2], 1)) + gen.normal(0.0, sigma * 0.2, a.shape)
    _set(state, a + noise.astype(np.float32))
    return f"sigma {sigma:.1f}"


def _salt_pepper(state: _State, level: float, rng: random.Random, gen: np.random.Generator) -> str:
    share = 0.14 * level * rng.uniform(0.9, 1.1)
    a = _array(state)
    h, w = a.shape[:2]
    speck = max(1, round(_char(state) / 16))  # specks grow with the print
    u = gen.random((math.ceil(h / speck), math.ceil(w / speck)))
    u = np.repeat(np.repeat(u, speck, axis=0), speck, axis=1)[:h, :w]
    a[u < share / 2] = gen.integers(0, 60)
    a[u > 1.0 - share / 2] = 255.0
    _set(state, a)
    return f"{100 * share:.1f}% specks of {speck} px"


def _low_res(state: _State, level: float, rng: random.Random, _: np.random.Generator) -> str:
    target = (18.0 - 10.0 * level) * rng.uniform(0.95, 1.05)  # character px after: 14.7 .. 8
    factor = min(0.9, target / _char(state))
    w, h = state.image.size
    small = state.image.resize(
        (max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.BOX
    )
    if rng.random() < 0.5:  # scanned small, then scaled back up by the scanner's software
        method = Image.Resampling.BILINEAR if rng.random() < 0.5 else Image.Resampling.BICUBIC
        state.image = small.resize((w, h), method)
        return f"down {factor:.2f} and up again"
    state.scale *= small.size[0] / w
    state.image = small
    return f"down {factor:.2f}, kept small"


def _jpeg(state: _State, level: float, rng: random.Random, _: np.random.Generator) -> str:
    state.jpeg_quality = max(4, round((38.0 - 33.0 * level) * rng.uniform(0.9, 1.1)))
    return f"quality {state.jpeg_quality}"


Degradation = Callable[[_State, float, random.Random, np.random.Generator], str]
_APPLY: dict[str, Degradation] = {
    "gaussian_blur": _gaussian_blur,
    "motion_blur": _motion_blur,
    "defocus_blur": _defocus_blur,
    "fade": _fade,
    "gaussian_noise": _gaussian_noise,
    "salt_pepper": _salt_pepper,
    "low_res": _low_res,
    "jpeg": _jpeg,  # only sets the quality: JPEG is always applied last, when saving
}


def _degrade(
    state: _State, kind: str, level: float, rng: random.Random, gen: np.random.Generator
) -> str:
    parts = kind.split("+")
    level *= PAIR_LEVEL.get(kind, 1.0)
    return "; ".join(f"{p}: {_APPLY[p](state, level, rng, gen)}" for p in parts)


# -- Pages and the set ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedPage:
    """One page: the file's name and bytes, and its labels.jsonl record."""

    name: str
    data: bytes
    record: dict[str, Any]


def page_plan(index: int) -> tuple[str, str]:
    """Page ``index``'s (degradation kind, strength): every kind meets every strength."""
    kind = KINDS[index % len(KINDS)]
    strength = list(STRENGTHS)[index // len(KINDS) % len(STRENGTHS)]
    return kind, strength


def make_page(
    index: int, seed: int, sentences: Sequence[str], fonts: Sequence[Font]
) -> GeneratedPage:
    """Render and degrade page ``index`` (the same page for the same seed, corpus and fonts)."""
    if not fonts:
        raise RuntimeError("no CJK font: apt-get install fonts-noto-cjk fonts-wqy-zenhei")
    if not sentences:
        raise ValueError("empty corpus")
    rng = random.Random(f"{SET_NAME}:{seed}:{index}")
    gen = np.random.default_rng([seed, index])
    page = _render(rng, sentences, fonts)
    kind, strength = page_plan(index)
    state = _State(page.image, page.char_px, page.paper)
    how = _degrade(state, kind, STRENGTHS[strength], rng, gen)

    out = io.BytesIO()
    if state.jpeg_quality is None:
        name = f"dz_{index:03d}.png"
        state.image.save(out, "PNG")
    else:
        name = f"dz_{index:03d}.jpg"
        state.image.save(out, "JPEG", quality=state.jpeg_quality)
    width, height = state.image.size
    boxes = []
    for x1, y1, x2, y2 in page.boxes:
        s = state.scale
        a, b, c, d = (round(v * s, 1) for v in (x1, y1, x2, y2))
        boxes.append([a, b, c, b, c, d, a, d])
    record = {
        "image": f"images/{name}",
        "lines": page.lines,
        "boxes": boxes,
        "width": width,
        "height": height,
        "degradation": kind,
        "strength": strength,
        "font": page.font.name,
        "char_px": round(page.char_px * state.scale, 1),
        "how": how,
    }
    return GeneratedPage(name, out.getvalue(), record)


def generate(
    out_dir: Path,
    count: int = DEFAULT_COUNT,
    seed: int = DEFAULT_SEED,
    corpus: Path | None = None,
    command: str | None = None,
) -> Path:
    """Write the set into ``out_dir/degraded_zh`` (images, labels.jsonl, README.md); returns
    that folder. Images of an earlier run there are removed first."""
    corpus = corpus or default_corpus()
    if corpus is None:
        raise FileNotFoundError("zh_corpus/lines.txt not found: pass --corpus or set the data dir")
    fonts = available_fonts()
    sentences = load_corpus(corpus)
    folder = out_dir / SET_NAME
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    for old in images.glob("dz_*.*"):
        old.unlink()
    records = []
    for index in range(count):
        page = make_page(index, seed, sentences, fonts)
        (images / page.name).write_bytes(page.data)
        records.append(page.record)
    (folder / "labels.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    (folder / "README.md").write_text(_readme(count, seed, corpus, fonts, command), "utf-8")
    return folder


def _readme(count: int, seed: int, corpus: Path, fonts: Sequence[Font], command: str | None) -> str:
    fonts_used = ", ".join(f"{f.name} ({f.path})" for f in fonts)
    levels = ", ".join(f"{name} (level {level:g})" for name, level in STRENGTHS.items())
    return f"""# degraded_zh: degraded Chinese pages (generated)

Made by `benchmarks/degraded.py` of the cpuocr repository (see its module doc), never by hand:

    {command or f".venv/bin/python -m benchmarks.degraded --out DIR --count {count} --seed {seed}"}

- seed {seed}, {count} pages; corpus `{corpus}` (SophonPlus/ChineseNlpCorpus sentences, from
  `shared/data`: for testing only, not to be shipped);
- fonts installed and used: {fonts_used};
- degradation kinds: {", ".join(KINDS)}; strengths: {levels} (page i: kind i mod {len(KINDS)},
  strength i div {len(KINDS)} mod 3);
- labels.jsonl: the whole-image format of `shared/data/README.md` (`image`, `lines`, `boxes`,
  `width`, `height`), plus `degradation`, `strength`, `font`, `char_px` (character size in the
  saved image) and `how` (the degradation's parameters).

Benchmark it with `.venv-bench/bin/python benchmarks/run.py --sets degraded_zh --data-dir DIR`.
The same seed, corpus and fonts give the same labels and images.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.degraded", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="writes OUT/degraded_zh")
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="%(default)s pages")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="default %(default)s")
    parser.add_argument(
        "--corpus", type=Path, default=None, help="default: shared/data/zh_corpus/lines.txt"
    )
    args = parser.parse_args(argv)
    if not available_fonts():
        print("no CJK font: apt-get install fonts-noto-cjk fonts-wqy-zenhei", file=sys.stderr)
        return 2
    corpus = args.corpus or default_corpus()
    if corpus is None or not corpus.is_file():
        print("zh_corpus/lines.txt not found: pass --corpus FILE", file=sys.stderr)
        return 2
    command = f".venv/bin/python -m benchmarks.degraded --out {args.out} --count {args.count} "
    command += f"--seed {args.seed}" + (f" --corpus {args.corpus}" if args.corpus else "")
    folder = generate(args.out, args.count, args.seed, corpus, command)
    print(f"{args.count} pages: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
