"""Accuracy of every shipped preset on the labeled dev sets of ../shared/data.

Thresholds come from measured runs (`scripts/measure_accuracy.py --presets default` and
`--presets fp32,openvino,fast,v4 --limit 20`), set a little worse than what was measured
(about 0.3-0.5 points, more on tiny sets), so a regression fails. Skipped with a message where
the data is absent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import degraded, small_posters
from benchmarks.datasets import load_dataset
from benchmarks.evaluate import evaluate
from benchmarks.readers import CpuocrReader

# (preset, set) -> (metric, bound): "cer"/"region_cer" are upper bounds, "char_f1" lower bounds.
THRESHOLDS: dict[tuple[str, str], dict[str, float]] = {
    # default, whole sets; measured 2026-11-27 (issue 12, session 9): cer 0.49 / exact 89.62,
    # 19.29, 11.11, 0.69, 0.88, 2.20, 0.75; pages F1 / region CER 98.19/2.49, 98.44/2.16,
    # 97.90/5.84, 99.51/0.63, mtwi F1 83.77 (84.45 the day before: the mask no longer dilated at
    # an image's own scale costs it 0.5, scattered over its posters both ways, for FUNSD and
    # SROIE's gains; its bound is lowered by that much). Plates lost 0.2 to the 224-column
    # padding of lone crops, which took IIIT5K from 0.90 to 0.69. Re-measured after the page
    # crops' margin (RecognitionConfig.page_margin, session 10): pages 98.20/2.44, SROIE
    # 98.49/2.13, FUNSD 97.87/5.86, game_ui 99.56/0.56, mtwi 84.00; the line sets unchanged.
    # After the small-text pass's new trigger and area check: SROIE 98.50/2.12, mtwi 84.15, the
    # others the same.
    ("default", "omnidocbench_lines_zh"): {"cer": 0.8, "exact": 88.5},
    ("default", "plates_lprnet_zh"): {"cer": 19.6},
    ("default", "scut_ept_hw_zh"): {"cer": 13.0},
    ("default", "iiit5k_words_en"): {"cer": 0.95},
    ("default", "ic13_words_en"): {"cer": 1.2},
    ("default", "svt_words_en"): {"cer": 2.5},
    ("default", "uw3_lines_en"): {"cer": 1.1},
    ("default", "omnidocbench_pages"): {"char_f1": 97.6, "region_cer": 3.0},
    ("default", "sroie_en"): {"char_f1": 98.0, "region_cer": 2.5},
    ("default", "funsd_en"): {"char_f1": 97.5, "region_cer": 6.2},
    ("default", "game_ui_zh"): {"char_f1": 99.3, "region_cer": 0.8},
    ("default", "mtwi_web_zh"): {"char_f1": 83.8},
    # fp32, first 20 items of each set (measured 2026-11-22; 2026-11-27 within these bounds but
    # mtwi 87.91, openvino's 87.74: bound lowered to 87.4 with the default's)
    ("fp32", "omnidocbench_lines_zh"): {"cer": 1.0},
    ("fp32", "plates_lprnet_zh"): {"cer": 21.0},
    ("fp32", "scut_ept_hw_zh"): {"cer": 13.1},
    ("fp32", "iiit5k_words_en"): {"cer": 1.0},
    ("fp32", "ic13_words_en"): {"cer": 2.6},
    ("fp32", "svt_words_en"): {"cer": 1.0},
    ("fp32", "uw3_lines_en"): {"cer": 1.8},
    ("fp32", "omnidocbench_pages"): {"char_f1": 97.7, "region_cer": 3.1},
    ("fp32", "sroie_en"): {"char_f1": 97.5, "region_cer": 4.0},
    ("fp32", "funsd_en"): {"char_f1": 97.3, "region_cer": 6.2},
    ("fp32", "game_ui_zh"): {"char_f1": 98.8, "region_cer": 1.5},
    ("fp32", "mtwi_web_zh"): {"char_f1": 87.4},
    # fast (= the int8 preset's files; a unit test checks that, so int8 is not scored twice),
    # first 20 items, measured 2026-11-27 (after issue 12's session-9 changes): cer 0.00, 20.71,
    # 12.12, 0.00, 2.46 (1.64 before: one character of one crop, with the 224-column padding),
    # 0.00, 0.65; pages F1 / region CER 98.11/2.54, 98.16/2.90, 97.99/5.33, 99.48/0.79, mtwi
    # 88.64. Session 10 (page margin, small-text pass from 16 px): pages 98.14/2.47, SROIE
    # 98.20/3.07, FUNSD 98.00/5.47, game_ui 99.48/0.79, mtwi 88.33 (bound 88.3 -> 88.0).
    ("fast", "omnidocbench_lines_zh"): {"cer": 1.0},
    ("fast", "plates_lprnet_zh"): {"cer": 21.5},
    ("fast", "scut_ept_hw_zh"): {"cer": 14.1},
    ("fast", "iiit5k_words_en"): {"cer": 1.0},
    ("fast", "ic13_words_en"): {"cer": 2.8},
    ("fast", "svt_words_en"): {"cer": 1.0},
    ("fast", "uw3_lines_en"): {"cer": 1.2},
    ("fast", "omnidocbench_pages"): {"char_f1": 97.8, "region_cer": 2.9},
    ("fast", "sroie_en"): {"char_f1": 97.8, "region_cer": 3.3},
    ("fast", "funsd_en"): {"char_f1": 97.5, "region_cer": 5.8},
    ("fast", "game_ui_zh"): {"char_f1": 99.1, "region_cer": 1.2},
    ("fast", "mtwi_web_zh"): {"char_f1": 88.0},
    # openvino (bf16 on this CPU), first 20 items (measured 2026-11-22, session 2): cer 0.00,
    # 20.00, 11.11, 0.00, 1.64, 0.00, 0.90; pages 98.20/2.46, 98.08/3.38, 97.94/5.56,
    # 99.35/0.90, mtwi 88.62 — the fp32 preset's figures within 0.15, so the same bounds.
    ("openvino", "omnidocbench_lines_zh"): {"cer": 1.0},
    ("openvino", "plates_lprnet_zh"): {"cer": 21.0},
    ("openvino", "scut_ept_hw_zh"): {"cer": 13.1},
    ("openvino", "iiit5k_words_en"): {"cer": 1.0},
    ("openvino", "ic13_words_en"): {"cer": 2.6},
    ("openvino", "svt_words_en"): {"cer": 1.0},
    ("openvino", "uw3_lines_en"): {"cer": 1.8},
    ("openvino", "omnidocbench_pages"): {"char_f1": 97.7, "region_cer": 3.1},
    ("openvino", "sroie_en"): {"char_f1": 97.5, "region_cer": 4.0},
    ("openvino", "funsd_en"): {"char_f1": 97.3, "region_cer": 6.2},
    ("openvino", "game_ui_zh"): {"char_f1": 98.8, "region_cer": 1.5},
    ("openvino", "mtwi_web_zh"): {"char_f1": 87.4},
    # v4 (PP-OCRv4 mobile, the "fast" preset until 2026-11-27), first 20 items of each set
    # (measured 2026-11-22; pages re-measured 2026-11-26 after issue 12: OmniDocBench
    # 82.91/21.68, game_ui 98.22/2.36; FUNSD 97.19/7.10 and mtwi 90.46 only with the small-text
    # pass on (95.29 and 88.88 off, its default: the 2026-11-22 bounds kept); the other presets
    # measured within their bounds that day). A small-text pass at 4 MP took its OmniDocBench
    # pages to 97.17/3.55: its detector needs more pixels on pages than the 2 MP budget gives
    # (not pursued: the fast preset now uses the int8 files). Re-measured 2026-11-27 after
    # issue 12's session-9 changes (whole-pixel crops, no dilation at native scale, the page
    # vote checked by the recogniser): cer 0.00, 13.57, 19.19, 0.96, 0.82, 2.44, 1.29; pages
    # 97.49/3.40 (82.91/21.68 before), 97.70/3.78, 96.84/7.76, 98.44/1.80, mtwi 88.77. After
    # the page crops' margin (session 10): pages 97.27/3.60, SROIE 97.81/3.65, FUNSD 96.58/8.63
    # (the v4 recogniser reads FUNSD's margined crops worse: bound 8.2 -> 9.0), game_ui
    # 98.29/2.02, mtwi 88.84; after the small-text pass's new trigger mtwi 88.03 (bound 88.1 ->
    # 87.7); the other presets within their bounds.
    ("v4", "omnidocbench_lines_zh"): {"cer": 1.0},
    ("v4", "plates_lprnet_zh"): {"cer": 16.7},
    ("v4", "scut_ept_hw_zh"): {"cer": 21.2},
    ("v4", "iiit5k_words_en"): {"cer": 2.0},
    ("v4", "ic13_words_en"): {"cer": 1.0},
    ("v4", "svt_words_en"): {"cer": 3.4},
    ("v4", "uw3_lines_en"): {"cer": 2.3},
    ("v4", "omnidocbench_pages"): {"char_f1": 97.0, "region_cer": 3.9},
    ("v4", "sroie_en"): {"char_f1": 97.2, "region_cer": 4.8},
    ("v4", "funsd_en"): {"char_f1": 96.3, "region_cer": 9.0},
    ("v4", "game_ui_zh"): {"char_f1": 98.0, "region_cer": 2.2},
    ("v4", "mtwi_web_zh"): {"char_f1": 87.7},
}

# The default preset is scored on whole sets; the others on the first N items of each set (the
# same items they were measured on), which keeps CI within its time.
LIMITS: dict[str, int | None] = {
    "default": None,
    "fp32": 20,
    "openvino": 20,
    "fast": 20,
    "v4": 20,
}

_CACHE: dict[tuple[str, str], dict[str, Any]] = {}
_READERS: dict[str, CpuocrReader] = {}


def _score(preset: str, set_name: str, data_dir: Path) -> dict[str, Any]:
    key = (preset, set_name)
    if key not in _CACHE:
        if preset not in _READERS:
            _READERS[preset] = CpuocrReader(preset)
        dataset = load_dataset(set_name, data_dir)
        items = dataset.items[: LIMITS[preset]] if LIMITS[preset] else dataset.items
        _CACHE[key] = evaluate(_READERS[preset], dataset, items)
    return _CACHE[key]


def test_the_fast_preset_is_the_int8_files_so_scoring_one_scores_both() -> None:
    from cpuocr._engine.models import PRESETS

    fast, int8 = PRESETS["fast"], PRESETS["int8"]
    assert (fast.det, fast.rec, fast.cls) == (int8.det, int8.rec, int8.cls)


@pytest.mark.slow
@pytest.mark.parametrize(("preset", "set_name"), sorted(THRESHOLDS))
def test_accuracy_on_dev_set(preset: str, set_name: str, data_dir: Path) -> None:
    measured = _score(preset, set_name, data_dir)
    assert measured["failures"] == 0, measured["first_error"]
    for metric, bound in THRESHOLDS[(preset, set_name)].items():
        value = measured[metric]
        if metric == "char_f1" or metric == "exact":
            assert value >= bound, f"{preset} {set_name}: {metric} {value:.2f} < {bound}"
        else:
            assert value <= bound, f"{preset} {set_name}: {metric} {value:.2f} > {bound}"


# Sets the benchmark generates from ../shared/data (never stored): degraded Chinese pages
# (benchmarks/degraded.py, issue 12's target: region CER <= 4%) and the MTWI posters scaled
# down to 430 px (benchmarks/small_posters.py). Default preset, whole sets; measured 2026-11-27
# (session 11): degraded F1 / region CER 96.90 / 3.51 with the sharpened second look, 98.01 /
# 2.61 with the deblurred reading too; small posters F1 81.87.
GENERATED: dict[str, dict[str, float]] = {
    "degraded_zh": {"char_f1": 97.7, "region_cer": 2.9},
    "small_posters": {"char_f1": 81.4},
}


@pytest.fixture(scope="module")
def generated_sets(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("generated")
    corpus = data_dir / "zh_corpus" / "lines.txt"
    if not corpus.is_file() or not degraded.available_fonts():
        pytest.skip("zh_corpus or the CJK fonts are missing")
    degraded.generate(root / "degraded", corpus=corpus)
    small_posters.write(data_dir, root / "small")
    return {"degraded_zh": root / "degraded", "small_posters": root / "small"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GENERATED))
def test_accuracy_on_generated_set(name: str, generated_sets: dict[str, Path]) -> None:
    set_name = {"degraded_zh": degraded.SET_NAME, "small_posters": small_posters.SET}[name]
    dataset = load_dataset(set_name, generated_sets[name])
    if "default" not in _READERS:
        _READERS["default"] = CpuocrReader("default")
    measured = evaluate(_READERS["default"], dataset, dataset.items)
    assert measured["failures"] == 0, measured["first_error"]
    for metric, bound in GENERATED[name].items():
        value = measured[metric]
        if metric == "char_f1":
            assert value >= bound, f"{name}: {metric} {value:.2f} < {bound}"
        else:
            assert value <= bound, f"{name}: {metric} {value:.2f} > {bound}"
