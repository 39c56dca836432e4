"""The pipeline's own decisions (cpuocr._engine.pipeline), without models: the page angle that
orders the lines, and how foreign exceptions become cpuocr errors."""

from __future__ import annotations

import numpy as np
import pytest

from cpuocr._engine.pipeline import _as_quad, _engine_errors, page_angle
from cpuocr.errors import (
    CpuocrError,
    DeadlineExceeded,
    InvalidImage,
    ProcessingFailed,
    WorkLimitExceeded,
)


@pytest.mark.parametrize(
    ("n_vertical", "n_lines", "flipped", "angle"),
    [
        # No lines: upright, or upside down when the (empty) vote flipped.
        (0, 0, False, 0),
        (0, 0, True, 180),
        # Horizontal pages.
        (0, 5, False, 0),
        (0, 5, True, 180),
        (1, 3, False, 0),  # a minority of vertical lines
        (2, 4, False, 0),  # exactly half is not a majority
        (2, 4, True, 180),
        # Mostly vertical: the lines were turned counter-clockwise, so the page turns 270°
        # clockwise, or 90° when the vote flipped every line as well.
        (3, 5, False, 270),
        (3, 5, True, 90),
        (1, 1, False, 270),
        (1, 1, True, 90),
        (7, 7, False, 270),
        # More vertical than there are lines (never from the pipeline) is still "sideways"...
        (3, 2, False, 270),
        # ...but with no lines kept, nothing is sideways.
        (3, 0, False, 0),
        (3, 0, True, 180),
    ],
)
def test_page_angle(n_vertical: int, n_lines: int, flipped: bool, angle: int) -> None:
    assert page_angle(n_vertical, n_lines, flipped) == angle


@pytest.mark.parametrize("n_lines", range(1, 12))
@pytest.mark.parametrize("flipped", [False, True])
def test_page_angle_turns_sideways_at_a_strict_majority(n_lines: int, flipped: bool) -> None:
    angles = [page_angle(v, n_lines, flipped) for v in range(n_lines + 1)]
    upright, sideways = (180, 90) if flipped else (0, 270)
    majority = n_lines // 2 + 1
    assert angles == [upright] * majority + [sideways] * (n_lines + 1 - majority)


def test_as_quad_gives_four_float_points() -> None:
    quad = _as_quad(np.array([[1, 2], [3, 4], [5, 6], [7, 8]], np.int32))
    assert quad == ((1.0, 2.0), (3.0, 4.0), (5.0, 6.0), (7.0, 8.0))
    assert all(type(v) is float for point in quad for v in point)
    assert _as_quad(np.arange(8, dtype=np.float32)) == ((0, 1), (2, 3), (4, 5), (6, 7))


@pytest.mark.parametrize(
    "error",
    [InvalidImage("bad"), WorkLimitExceeded("big"), DeadlineExceeded("late"), CpuocrError("x")],
)
def test_engine_errors_let_cpuocr_errors_through_unchanged(error: CpuocrError) -> None:
    with pytest.raises(type(error)) as caught, _engine_errors():
        raise error
    assert caught.value is error


def test_engine_errors_turn_memory_errors_into_work_limits() -> None:
    words = "more memory than is available"
    with pytest.raises(WorkLimitExceeded, match=words) as caught, _engine_errors():
        raise MemoryError
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            ValueError("broadcast   shapes\n (3,) (4,)"),
            "the image could not be processed (ValueError: broadcast shapes (3,) (4,))",
        ),
        (KeyError("k"), "the image could not be processed (KeyError: 'k')"),
        (
            RuntimeError("x" * 400),
            f"the image could not be processed (RuntimeError: {'x' * 300})",
        ),
    ],
)
def test_engine_errors_turn_anything_else_into_processing_failed(
    error: Exception, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ProcessingFailed) as caught, _engine_errors():
        raise error
    assert str(caught.value) == message
    assert caught.value.__cause__ is error
    assert [r.name for r in caplog.records] == ["cpuocr"]
    assert caplog.records[0].exc_info is not None


def test_engine_errors_pass_when_nothing_is_raised() -> None:
    with _engine_errors():
        value = 42
    assert value == 42
