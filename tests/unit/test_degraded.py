"""The degraded_zh generator (benchmarks/degraded.py): determinism, the labels' format, boxes.

Renders a few small pages from a built-in corpus (not ../shared/data); skips where the CJK fonts
are missing (the unit tier may run without them).
"""

from __future__ import annotations

import io
import json
import random
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import degraded
from benchmarks.datasets import SETS, available_sets, load_dataset

SENTENCES = (
    "当地人说，每年大约有300多万人从这座桥上走过。",
    "海尔立即改进产品设计，推出可用来洗地瓜的洗衣机。",
    "一边是高耸耀眼的庙堂，一边是漏风漏雨的学堂。",
    "以一个鸡蛋的重量，垂直放在N73的屏幕上，屏幕中间已经内凹。",
    "分娩是一个正常、自然、健康的过程。",
    "亲爱的同事：",
    "多通道扫描辐射计要在36000公里的高空看地球，要看到1公里的分辨率，难度很大。",
    "现在无论是麋鹿的数量，还是麋鹿保存率，均居世界之首。",
)


@pytest.fixture(scope="module")
def fonts() -> list[degraded.Font]:
    found = degraded.available_fonts()
    if not found:
        pytest.skip("CJK fonts missing (fonts-noto-cjk, fonts-wqy-zenhei): nothing to render")
    return found


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, fonts: list[degraded.Font]) -> Path:
    """One page of every kind (11 pages), written as the command writes them."""
    root = tmp_path_factory.mktemp("degraded")
    corpus = root / "lines.txt"
    corpus.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    degraded.generate(root, count=len(degraded.KINDS), seed=5, corpus=corpus)
    return root


def test_every_kind_meets_every_strength() -> None:
    plans = [degraded.page_plan(i) for i in range(len(degraded.KINDS) * len(degraded.STRENGTHS))]
    assert sorted(plans) == sorted(product(degraded.KINDS, degraded.STRENGTHS))


@pytest.mark.parametrize("index", [3, 7, 9])  # fade, jpeg, fade+gaussian_noise
def test_same_seed_same_page(fonts: list[degraded.Font], index: int) -> None:
    first = degraded.make_page(index, 7, SENTENCES, fonts)
    again = degraded.make_page(index, 7, SENTENCES, fonts)
    assert first.name == again.name
    assert first.record == again.record
    assert first.data == again.data
    other = degraded.make_page(index, 8, SENTENCES, fonts)
    assert other.data != first.data


def test_labels_format(generated: Path) -> None:
    folder = generated / degraded.SET_NAME
    records = [
        json.loads(line)
        for line in (folder / "labels.jsonl").read_text("utf-8").split("\n")
        if line
    ]
    assert [r["degradation"] for r in records] == list(degraded.KINDS)
    assert (folder / "README.md").is_file()
    for r in records:
        assert set(r) >= {"image", "lines", "boxes", "width", "height", "degradation", "strength"}
        assert r["strength"] in degraded.STRENGTHS
        assert r["image"].startswith("images/")
        assert r["image"].endswith(".jpg" if "jpeg" in r["degradation"] else ".png")
        with Image.open(folder / r["image"]) as img:
            assert img.size == (r["width"], r["height"])
        lo, hi = degraded.LINES_PER_PAGE
        assert lo <= len(r["lines"]) <= hi
        assert len(r["boxes"]) == len(r["lines"])
        assert all(isinstance(t, str) and t.strip() == t and t for t in r["lines"])


def test_boxes_inside_the_image(generated: Path) -> None:
    records = [
        json.loads(line)
        for line in (generated / degraded.SET_NAME / "labels.jsonl").read_text("utf-8").split("\n")
        if line
    ]
    for r in records:
        for box in r["boxes"]:
            assert len(box) == 8
            xs, ys = box[0::2], box[1::2]
            assert 0 <= min(xs) < max(xs) <= r["width"]
            assert 0 <= min(ys) < max(ys) <= r["height"]
        tops = [b[1] for b in r["boxes"]]
        assert tops == sorted(tops)  # lines listed top to bottom


def test_boxes_hold_the_ink(fonts: list[degraded.Font]) -> None:
    """Before degradation, every inked pixel lies in a label box and every box holds ink."""
    for i in range(4):
        page = degraded._render(random.Random(f"ink{i}"), SENTENCES, fonts)
        gray = np.asarray(page.image.convert("L"), dtype=np.int16)
        ink = gray < min(page.paper) - 60
        inside = np.zeros_like(ink)
        for x1, y1, x2, y2 in page.boxes:
            box = (slice(int(y1), int(np.ceil(y2))), slice(int(x1), int(np.ceil(x2))))
            assert ink[box].any()
            inside[box] = True
        assert not (ink & ~inside).any()


def test_a_kept_small_page_scales_its_boxes(fonts: list[degraded.Font]) -> None:
    index = degraded.KINDS.index("low_res")
    pages = [degraded.make_page(index, seed, SENTENCES, fonts) for seed in range(8)]
    small = [p for p in pages if "kept small" in p.record["how"]]
    assert small  # the seeds above give both kinds of low_res
    for page in small:
        with Image.open(io.BytesIO(page.data)) as img:
            w, h = img.size
        assert max(b[4] for b in page.record["boxes"]) <= w
        assert max(b[5] for b in page.record["boxes"]) <= h


def test_the_benchmark_loads_it(generated: Path) -> None:
    assert SETS["degraded_zh"].kind == "pages"
    assert available_sets(generated) == ["degraded_zh"]
    dataset = load_dataset("degraded_zh", generated)
    assert len(dataset.items) == len(degraded.KINDS)
    assert all(item.image.is_file() and item.boxes for item in dataset.items)
