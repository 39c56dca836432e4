"""Small posters: ``shared/data/mtwi_web_zh`` scaled down, for the detector's small-text pass.

    .venv/bin/python -m benchmarks.small_posters --out DIR [--long-side 430]
    .venv-bench/bin/python benchmarks/run.py --sets mtwi_web_zh --data-dir DIR

Issue 12 measured small busy e-commerce posters (~320×430) on held-back images, where short lines
went missing. The dev set's MTWI posters are mostly 800×800; this writes each one scaled down
(INTER_AREA) to a long side of ``--long-side`` pixels, as ``DIR/mtwi_web_zh/images/*`` with the
same ``labels.jsonl`` (its sizes updated, boxes scaled where an item has them), so the benchmark
and ``scripts/measure_accuracy.py`` read it under the set's own name. An image already that
small is copied as it is. Only this generator is in the repository, never the images.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2

from .datasets import find_data_dir

SET = "mtwi_web_zh"
DEFAULT_LONG_SIDE = 430


def write(data_dir: Path, out: Path, long_side: int = DEFAULT_LONG_SIDE) -> int:
    """Write the scaled set under ``out``; returns the number of images."""
    source = data_dir / SET
    target = out / SET
    (target / "images").mkdir(parents=True, exist_ok=True)
    count = 0
    with (
        (source / "labels.jsonl").open(encoding="utf-8") as labels,
        (target / "labels.jsonl").open("w", encoding="utf-8") as written,
    ):
        for row in labels:
            item = json.loads(row)
            image = cv2.imread(str(source / item["image"]), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f"cannot read {source / item['image']}")
            h, w = image.shape[:2]
            scale = min(1.0, long_side / max(h, w))
            if scale < 1.0:
                size = (max(1, round(w * scale)), max(1, round(h * scale)))
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            path = target / item["image"]
            path.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(path), image):
                raise ValueError(f"cannot write {path}")
            item["width"], item["height"] = int(image.shape[1]), int(image.shape[0])
            if "boxes" in item:
                item["boxes"] = [[v * scale for v in box] for box in item["boxes"]]
            written.write(json.dumps(item, ensure_ascii=False) + "\n")
            count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help=f"writes OUT/{SET}")
    parser.add_argument("--long-side", type=int, default=DEFAULT_LONG_SIDE)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: ../shared/data")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or find_data_dir()
    if data_dir is None or not (data_dir / SET).is_dir():
        print(f"no {SET} under the data directory", file=sys.stderr)
        return 1
    n = write(data_dir, args.out, args.long_side)
    print(f"{n} posters at a long side of at most {args.long_side} px in {args.out / SET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
