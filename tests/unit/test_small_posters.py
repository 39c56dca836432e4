"""The small-poster set generator (benchmarks/small_posters.py): MTWI scaled down, same labels,
readable by the benchmark's loader."""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from benchmarks import small_posters
from benchmarks.datasets import load_dataset


def test_posters_are_scaled_down_with_their_labels(data_dir: Path, tmp_path: Path) -> None:
    n = small_posters.write(data_dir, tmp_path, long_side=200)
    source = (data_dir / "mtwi_web_zh" / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    assert n == len(source) > 0
    dataset = load_dataset("mtwi_web_zh", tmp_path)
    assert len(dataset.items) == len(load_dataset("mtwi_web_zh", data_dir).items)
    written = (tmp_path / "mtwi_web_zh" / "labels.jsonl").read_text(encoding="utf-8")
    for before, after in zip(source, written.splitlines(), strict=True):
        a, b = json.loads(before), json.loads(after)
        assert b["lines"] == a["lines"] and b["image"] == a["image"]
        image = cv2.imread(str(tmp_path / "mtwi_web_zh" / b["image"]))
        assert image is not None
        assert (b["height"], b["width"]) == image.shape[:2]
        assert max(image.shape[:2]) <= 200
