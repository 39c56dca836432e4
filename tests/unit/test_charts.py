"""benchmarks/charts.py draws the benchmark's PNGs from small synthetic documents: the
latency-vs-accuracy panels (a system that failed every call, or has no accuracy figure, is noted
on its panel, not drawn) and the per-stage bars; benchmarks/stage_profile.py's averaging."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from benchmarks import charts, stage_profile

MACHINE = {"cpu": "Test CPU", "cores": 2, "usable_cores": 2, "platform": "x", "python": "3.11"}


def _line(median: float | None, cer: float, failures: int = 0) -> dict[str, Any]:
    return {"images": 5, "failures": failures, "median_s": median, "p95_s": median, "cer": cer}


def _page(
    median: float | None, f1: float | None, region: float | None, failures: int = 0
) -> dict[str, Any]:
    return {
        "images": 5,
        "failures": failures,
        "median_s": median,
        "p95_s": median,
        "char_f1": f1,
        "region_cer": region,
    }


def _results() -> dict[str, Any]:
    systems = {s: {"name": s} for s in ("cpuocr", "cpuocr:fast", "rapidocr", "broken")}
    return {
        "machine": MACHINE,
        "started": "2026-11-26T20:48:56+00:00",
        "part": "all",
        "limit": 5,
        "systems": systems,
        "sets": {
            "words_en": {
                "kind": "lines",
                "images": 5,
                "results": {
                    "cpuocr": _line(0.01, 1.5),
                    "cpuocr:fast": _line(0.006, 4.0),
                    "rapidocr": _line(0.012, 1.5),
                    # every call failed: no time, scored as empty output
                    "broken": _line(None, 100.0, failures=5),
                },
            },
            "receipts_en": {
                "kind": "pages",
                "images": 5,
                "results": {
                    "cpuocr": _page(0.8, 98.0, 3.3),
                    "cpuocr:fast": _page(0.3, 97.0, 4.1, failures=1),
                    "rapidocr": _page(1.1, 97.5, 5.1),
                    "broken": _page(None, None, None, failures=5),
                },
            },
            "web_zh": {  # no boxes: 100 - char F1
                "kind": "pages",
                "images": 5,
                "results": {
                    "cpuocr": _page(0.26, 88.5, None),
                    "rapidocr": _page(0.27, 87.2, None),
                },
            },
        },
    }


def _profile() -> dict[str, Any]:
    def entry(scale: float) -> dict[str, Any]:
        ms = {"load": 5.0, "preprocess": 1.0, "detect": 40.0, "recognise": 100.0, "trim": 3.0}
        return {"images": 2, "stages_ms": {k: v * scale for k, v in ms.items()}}

    return {
        "machine": MACHINE,
        "started": "2026-11-27T00:00:00+00:00",
        "limit": 2,
        "rounds": 1,
        "presets": {
            "default": {
                "threads": "ONNX Runtime intra-op 2, inter-op 1",
                "sets": {"receipts_en": entry(4), "web_zh": entry(1)},
            },
            "fast": {
                "threads": "ONNX Runtime intra-op 2, inter-op 1",
                "sets": {"web_zh": entry(0.7)},
            },
        },
    }


def _check_png(path: Path) -> None:
    assert path.is_file()
    assert path.stat().st_size > 20_000  # a drawn chart, not an empty canvas
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert width > 800 and height > 300
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50


def test_error_measure_per_kind_of_set() -> None:
    sets = _results()["sets"]
    assert charts.error_measure(sets["words_en"]) == ("CER %", "cer")
    assert charts.error_measure(sets["receipts_en"]) == ("region CER %", "region_cer")
    assert charts.error_measure(sets["web_zh"]) == ("100 − char F1 %", "f1_gap")


def test_points_leave_out_a_system_without_figures() -> None:
    sets = _results()["sets"]
    points, skipped = charts.set_points(sets["words_en"])
    assert [p.system for p in points] == ["cpuocr", "cpuocr:fast", "rapidocr"]
    assert skipped == ["broken (5 failed)"]
    points, skipped = charts.set_points(sets["receipts_en"])
    assert {p.system: p.failures for p in points}["cpuocr:fast"] == 1
    assert skipped == ["broken (5 failed)"]
    points, _ = charts.set_points(sets["web_zh"])
    assert {p.system: round(p.error, 6) for p in points} == {"cpuocr": 11.5, "rapidocr": 12.8}


def test_latency_accuracy_png(tmp_path: Path) -> None:
    path = charts.draw_latency_accuracy(_results(), tmp_path / "charts" / "la.png")
    _check_png(path)


def test_latency_accuracy_with_a_set_nobody_could_read(tmp_path: Path) -> None:
    doc = _results()
    doc["sets"] = {
        "words_en": {
            "kind": "lines",
            "images": 5,
            "results": {"broken": _line(None, 100.0, failures=5)},
        }
    }
    _check_png(charts.draw_latency_accuracy(doc, tmp_path / "la.png"))


def test_stage_rows_group_presets_under_each_set() -> None:
    stages, rows = charts.stage_rows(_profile())
    assert stages == ["load", "preprocess", "detect", "recognise", "trim"]
    assert [label for _, label, _ in rows] == [
        "receipts_en · default",
        "web_zh · default",
        "web_zh · fast",
    ]


def test_stages_png(tmp_path: Path) -> None:
    _check_png(charts.draw_stages(_profile(), tmp_path / "stages.png"))


def test_main_draws_both_and_skips_a_missing_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_results()), encoding="utf-8")
    profile = tmp_path / "profile.json"
    args = ["--results", str(results), "--stages", str(profile), "--out", str(tmp_path / "out")]
    out = tmp_path / "out"

    assert charts.main(args) == 0
    assert (out / charts.LATENCY_ACCURACY_PNG).is_file()
    assert not (out / charts.STAGES_PNG).exists()
    assert "no stage chart" in capsys.readouterr().err

    profile.write_text(json.dumps(_profile()), encoding="utf-8")
    assert charts.main(args) == 0
    _check_png(out / charts.STAGES_PNG)

    assert charts.main(["--results", str(tmp_path / "none.json"), "--out", str(out)]) == 2


def test_stage_profile_means_count_a_missing_stage_as_zero() -> None:
    summary = stage_profile.summarise(
        [{"load": 2.0, "detect": 10.0}, {"load": 4.0, "detect": 30.0, "trim": 6.0}], [12.0, 40.0]
    )
    assert summary["calls"] == 2
    assert summary["stages_ms"] == {"load": 3.0, "detect": 20.0, "trim": 3.0}
    assert summary["mean_total_ms"] == 26.0
    assert summary["median_total_ms"] == 26.0


def test_stage_profile_takes_only_whole_image_sets(tmp_path: Path) -> None:
    for name in ("sroie_en", "iiit5k_words_en"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "labels.jsonl").write_text("", encoding="utf-8")
    assert stage_profile.page_sets(tmp_path) == ["sroie_en"]
    with pytest.raises(ValueError, match="not a whole-image set"):
        stage_profile.page_sets(tmp_path, ["iiit5k_words_en"])
    with pytest.raises(ValueError, match="not found"):
        stage_profile.page_sets(tmp_path, ["funsd_en"])
