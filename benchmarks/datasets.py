"""The labeled benchmark sets in ``shared/data`` (see its README): finding, loading, splitting.

``degraded_zh`` is the one set made here rather than found there (``benchmarks/degraded.py``).

Each set is either ``lines`` (line crops read as one line: image + text) or ``pages`` (whole
images: image + label lines, with boxes where the set has them, plus OmniDocBench's
``ignore_boxes``). Items whose ``label_quality`` is ``"noisy"`` are left out unless asked for.

The calibration/scoring split is deterministic: an item belongs to the calibration slice when
the SHA-256 of ``"<set>/<image path>"`` falls in the lowest 20% of the hash range. The int8
calibration uses only that slice, and an fp32-vs-int8 comparison scores only the rest
(``part="score"``); the default benchmark scores every item (``part="all"``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

Kind = Literal["lines", "pages"]
Part = Literal["all", "calib", "score"]
PARTS: tuple[Part, ...] = ("all", "calib", "score")

CALIBRATION_SHARE = 0.2
"""Share of each set (by hash of the image name) kept for int8 calibration."""

DATA_DIR_ENV = "CPUOCR_DATA_DIR"


@dataclass(frozen=True)
class SetInfo:
    """What the README says about a set: its kind and whether scoring folds case."""

    name: str
    kind: Kind
    fold: bool
    lang: str


SETS: dict[str, SetInfo] = {
    info.name: info
    for info in (
        SetInfo("omnidocbench_lines_zh", "lines", False, "zh"),
        SetInfo("plates_lprnet_zh", "lines", False, "zh"),
        SetInfo("scut_ept_hw_zh", "lines", False, "zh"),
        SetInfo("iiit5k_words_en", "lines", True, "en"),
        SetInfo("ic13_words_en", "lines", True, "en"),
        SetInfo("svt_words_en", "lines", True, "en"),
        SetInfo("uw3_lines_en", "lines", False, "en"),
        SetInfo("omnidocbench_pages", "pages", False, "zh"),
        SetInfo("sroie_en", "pages", True, "en"),
        SetInfo("funsd_en", "pages", False, "en"),
        SetInfo("game_ui_zh", "pages", False, "zh"),
        SetInfo("mtwi_web_zh", "pages", False, "zh"),
        SetInfo("degraded_zh", "pages", False, "zh"),
    )
}
"""Every set, line crops first; ``fold`` follows the README ("English scene-word sets and SROIE
also fold case and keep only letters, digits and CJK"). ``ic13_words_en`` keeps case and
punctuation in its labels, so it is not folded. ``degraded_zh`` is not in ``shared/data``: it is
generated (``python -m benchmarks.degraded --out DIR``, see ``benchmarks/degraded.py``) and read
with ``--data-dir DIR``."""

Box = tuple[float, float, float, float, float, float, float, float]


@dataclass(frozen=True)
class LineItem:
    """A line crop: the whole image is one line of ``text``."""

    set_name: str
    image: Path
    text: str

    @property
    def key(self) -> str:
        """``<set>/<image path relative to the set>``: stable id used for the split."""
        return _key(self.set_name, self.image)


@dataclass(frozen=True)
class PageItem:
    """A whole image with its label lines (and boxes, when the set has them)."""

    set_name: str
    image: Path
    lines: tuple[str, ...]
    boxes: tuple[Box, ...] | None
    ignore_boxes: tuple[Box, ...] = ()
    label_quality: str = "ok"

    @property
    def key(self) -> str:
        """``<set>/<image path relative to the set>``: stable id used for the split."""
        return _key(self.set_name, self.image)


Item = LineItem | PageItem
ItemT = TypeVar("ItemT", bound=LineItem | PageItem)


@dataclass(frozen=True)
class Dataset:
    """One loaded set."""

    info: SetInfo
    items: tuple[LineItem, ...] | tuple[PageItem, ...]

    @property
    def name(self) -> str:
        return self.info.name


def _key(set_name: str, image: Path) -> str:
    return f"{set_name}/{image.parent.name}/{image.name}"


def find_data_dir() -> Path | None:
    """The ``shared/data`` folder: ``$CPUOCR_DATA_DIR``, else ``../shared/data`` beside the repo.

    The repository root is searched from this file's location (``benchmarks/`` in the
    repository) and from the working directory upwards. Returns None when nothing is found.
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        path = Path(env).expanduser()
        return path.resolve() if path.is_dir() else None
    starts = [Path(__file__).resolve().parent, Path.cwd().resolve()]
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder.parent / "shared" / "data"
            if (folder / "pyproject.toml").is_file() and candidate.is_dir():
                return candidate.resolve()
            if (folder / "shared" / "data" / "README.md").is_file():
                return (folder / "shared" / "data").resolve()
    return None


def available_sets(data_dir: Path) -> list[str]:
    """Known sets that have a ``labels.jsonl`` under ``data_dir``, in ``SETS`` order."""
    return [name for name in SETS if (data_dir / name / "labels.jsonl").is_file()]


def _box(values: Sequence[Any]) -> Box:
    if len(values) != 8:
        raise ValueError(f"a label box needs 8 numbers, got {len(values)}")
    v = [float(x) for x in values]
    return (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])


def load_dataset(name: str, data_dir: Path, include_noisy: bool = False) -> Dataset:
    """Read ``<data_dir>/<name>/labels.jsonl``. Unknown names fail with the list of known ones."""
    info = SETS.get(name)
    if info is None:
        raise ValueError(f"unknown set {name!r}; known sets: {', '.join(SETS)}")
    folder = data_dir / name
    labels = folder / "labels.jsonl"
    if not labels.is_file():
        raise FileNotFoundError(f"{labels} not found (is {DATA_DIR_ENV} right?)")
    records = [
        json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    if info.kind == "lines":
        lines = tuple(LineItem(name, folder / r["image"], str(r["text"])) for r in records)
        return Dataset(info, lines)
    pages: list[PageItem] = []
    for r in records:
        quality = str(r.get("label_quality", "ok"))
        if quality == "noisy" and not include_noisy:
            continue
        boxes = r.get("boxes")
        pages.append(
            PageItem(
                set_name=name,
                image=folder / r["image"],
                lines=tuple(str(t) for t in r["lines"]),
                boxes=None if boxes is None else tuple(_box(b) for b in boxes),
                ignore_boxes=tuple(_box(b) for b in r.get("ignore_boxes", ())),
                label_quality=quality,
            )
        )
    return Dataset(info, tuple(pages))


def in_calibration_slice(key: str) -> bool:
    """Whether the item with this key belongs to the fixed calibration slice."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") < CALIBRATION_SHARE * 2**64


def split_items(items: Sequence[ItemT], part: Part = "all") -> list[ItemT]:
    """The items of one part: ``calib`` (~20%, by hash), ``score`` (the rest) or ``all``."""
    if part == "all":
        return list(items)
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of {', '.join(PARTS)}")
    want_calib = part == "calib"
    return [item for item in items if in_calibration_slice(item.key) == want_calib]
