"""Extreme shapes within the 40 MP limit (1×N, N×1, specks, huge aspect ratios) through every
preprocess mode, with and without detection: through the engine, ``OCR.preprocess_stages`` (what
``/preprocess`` runs) and the command line. Preprocessing and decoding must never fail on them
(before the fixes, ``classic`` on a 40000000×1 PNG asked OpenCV for 92 GB: HTTP 500 and a CLI
traceback). Recognising a very long line without detection may be refused by the engine's own
work cap, so there a cpuocr error is an acceptable answer; anything else is not."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import hostile_corpus as hc  # tests/hostile, on sys.path beside this file
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cpuocr import OCR, CpuocrError, OCRResult
from cpuocr._engine.preprocess import CLASSIC_LINE_HEIGHT, CLASSIC_MAX_WIDTH, MODES
from cpuocr.errors import ProcessingFailed, WorkLimitExceeded

MAX_PIXELS = 40_000_000
EXIT_OK, EXIT_BAD_INPUT = 0, 3


def _log_uniform(top: int) -> st.SearchStrategy[int]:
    """1…top, spread evenly over the orders of magnitude (so 40000000 is as likely as 40)."""
    return st.floats(0.0, math.log10(top)).map(lambda e: max(1, min(top, round(10**e))))


@st.composite
def shapes(draw: st.DrawFn) -> tuple[int, int]:
    """(height, width) of an extreme image within the pixel limit."""
    kind = draw(st.sampled_from(["row", "column", "speck", "aspect"]))
    if kind == "row":
        return 1, draw(_log_uniform(MAX_PIXELS))
    if kind == "column":
        return draw(_log_uniform(MAX_PIXELS)), 1
    if kind == "speck":
        return draw(st.integers(1, 6)), draw(st.integers(1, 6))
    short = draw(st.integers(2, 40))
    long = draw(_log_uniform(MAX_PIXELS // short))
    return (short, long) if draw(st.booleans()) else (long, short)


def _check_result(result: object, height: int, width: int) -> None:
    assert isinstance(result, OCRResult)
    assert (result.width, result.height) == (width, height)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(shape=shapes(), mode=st.sampled_from(MODES), det=st.booleans())
@example(shape=(1, 40_000_000), mode="classic", det=True)
@example(shape=(40_000_000, 1), mode="classic", det=False)
@example(shape=(1, 400_000), mode="auto", det=True)
@example(shape=(1, 40_000_000), mode="auto", det=False)
@example(shape=(1, 1), mode="none", det=False)
def test_engine_and_preview_never_fail_on_extreme_shapes(
    ocr: OCR, shape: tuple[int, int], mode: str, det: bool
) -> None:
    height, width = shape
    data = hc.png_gray(width, height)
    try:
        result = ocr(data, det=det, preprocess=mode)
    except CpuocrError as exc:
        # Without detection the whole image is one line: a very long one may be over the
        # recognition work cap. Preprocessing itself must not be what failed.
        assert not isinstance(exc, ProcessingFailed), f"{shape} {mode} det={det}: {exc!r}"
        assert not det or isinstance(exc, WorkLimitExceeded), f"{shape} {mode}: {exc!r}"
    else:
        _check_result(result, height, width)
    stages = ocr.preprocess_stages(data)
    assert list(stages) == ["original", "gray", "equalized", "binarized", "resized"]
    for name in ("original", "gray", "equalized", "binarized"):
        assert stages[name].shape[:2] == (height, width), name
    resized_h, resized_w = stages["resized"].shape[:2]
    assert 1 <= resized_w <= CLASSIC_MAX_WIDTH and 1 <= resized_h <= CLASSIC_LINE_HEIGHT


CLI_SHAPES = [(1, 40_000_000), (40_000_000, 1), (1, 400_000), (400_000, 1), (1, 1), (3, 5000)]


@pytest.fixture(scope="module")
def extreme_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("extreme")
    paths = []
    for height, width in CLI_SHAPES:
        path = folder / f"{width}x{height}.png"
        path.write_bytes(hc.png_gray(width, height))
        paths.append(path)
    return paths


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("det", [True, False], ids=["det", "no-det"])
def test_cli_reads_extreme_shapes_without_a_traceback(
    extreme_files: list[Path], mode: str, det: bool
) -> None:
    cli = Path(sys.executable).with_name("cpuocr")
    command = [str(cli), "--preprocess", mode, *(["--no-det"] if not det else []), "--json"]
    out = subprocess.run(
        [*command, *map(str, extreme_files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    assert out.returncode in (EXIT_OK, EXIT_BAD_INPUT), out.stderr[-3000:]
    assert all(line.startswith("cpuocr: ") for line in out.stderr.splitlines()), out.stderr
    answers = json.loads(out.stdout)
    assert len(answers) == len(extreme_files)
    for path, answer in zip(extreme_files, answers, strict=True):
        if answer.get("success") is False:
            code = answer["error"]["code"]
            # Preprocessing never fails; with detection only a work cap may refuse.
            allowed = {"work_limit_exceeded"} if det else {"work_limit_exceeded", "image_too_large"}
            assert code in allowed, (path.name, answer)
        else:
            height, width = (int(v) for v in reversed(path.stem.split("x")))
            assert (answer["width"], answer["height"]) == (width, height), answer
