"""The hostile corpus through the engine: ``OCR()(bytes)`` returns a result or raises a cpuocr
error — never another exception (warnings are errors here, as in pytest's configuration)."""

from __future__ import annotations

import hostile_corpus as hc  # tests/hostile, on sys.path beside this file
import pytest

from cpuocr import OCR, CpuocrError, OCRResult
from cpuocr._serving.errors import status_for


def _status(exc: CpuocrError) -> int:
    """The HTTP status the service gives this error (its one mapping, not a copy)."""
    return status_for(exc)


def test_the_corpus_is_big_deterministic_and_named_uniquely() -> None:
    cases = hc.corpus()
    assert len(cases) >= 1000
    assert len({c.name for c in cases}) == len(cases)
    # same seed, same bytes: a failure names a case anyone can rebuild
    assert hc.mutate(hc.base_file("jpeg"), hc.random.Random(1)) == hc.mutate(
        hc.base_file("jpeg"), hc.random.Random(1)
    )
    assert {"valid", "bomb", "notimage", "random", "mutated-jpeg", "truncated-webp"} <= set(
        hc.groups()
    )


@pytest.mark.parametrize("group", hc.groups())
def test_engine_answers_every_case_with_a_result_or_a_cpuocr_error(ocr: OCR, group: str) -> None:
    failures = []
    for case in (c for c in hc.corpus() if c.group == group):
        try:
            result = ocr(case.data)
        except CpuocrError as exc:
            if case.expect == "ok":
                failures.append(f"{case.name}: expected a result, got {exc!r}")
            elif case.expect == "error" and _status(exc) not in case.statuses:
                failures.append(f"{case.name}: {exc!r} is not one of {sorted(case.statuses)}")
            continue
        except Exception as exc:  # the point of the test: nothing but cpuocr errors escape
            failures.append(f"{case.name}: {type(exc).__name__}: {exc}")
            continue
        if case.expect == "error":
            failures.append(f"{case.name}: expected an error, got a result {result.text!r}")
        elif not isinstance(result, OCRResult) or result.width <= 0 or result.height <= 0:
            failures.append(f"{case.name}: odd result {result!r}")
    assert not failures, "\n".join(failures)


def test_engine_still_reads_a_normal_image_afterwards(ocr: OCR) -> None:
    result = ocr(hc.base_file("png"))
    assert result.text == ["测试 OCR 42"] or "".join(result.text).replace(" ", "") == "测试OCR42"
