"""Decoder-work bombs and 40 MP images through the engine and a real server: a bomb is refused
in milliseconds (HTTP 422 ``work_limit_exceeded``, before it can take the inference slot), a big
valid image is read, ``/preprocess`` and ``preprocess=classic`` answer extreme strips without a
5xx, and afterwards the server still reads a normal image."""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from typing import Any

import hostile_corpus as hc  # tests/hostile, on sys.path beside this file
import httpx
import pytest

from cpuocr import OCR
from cpuocr.errors import WorkLimitExceeded

live = importlib.import_module("cpuocr_tests_live_server")  # loaded by conftest.py

#: A refusal reads only the structure of the bytes (~ms); generous for a shared machine. The
#: full-size scan bomb held a worker 45–85 s before.
REFUSE_WITHIN_S = 5.0

FULL_SIZE_BOMBS = {
    "jpeg-6000x6600-20000-scans": hc.jpeg_scan_bomb,
    "tiff-2000000-strips": hc.tiff_many_strips,
    "png-1500000-chunks": hc.png_many_chunks,
    "gif-6000000-blocks": lambda: hc.gif_many_frames(frames=1, extensions=6_000_000),
    "bmp-rle8-19MB-runs": hc.bmp_rle_runs,
}


def _work_cases(expect: str) -> list[hc.Case]:
    return [c for c in hc.corpus() if c.group == "work" and c.expect == expect]


@pytest.mark.parametrize("name", sorted(FULL_SIZE_BOMBS))
def test_the_engine_refuses_full_size_bombs_before_decoding(ocr: OCR, name: str) -> None:
    data = FULL_SIZE_BOMBS[name]()
    assert len(data) < 20 * 1024 * 1024  # within the service's upload limit
    started = time.perf_counter()
    with pytest.raises(WorkLimitExceeded, match="at most"):
        ocr(data)
    assert time.perf_counter() - started < REFUSE_WITHIN_S


def test_the_engine_reads_the_bounded_cousins(ocr: OCR) -> None:
    for case in _work_cases("ok"):
        result = ocr(case.data)
        assert result.width > 0 and result.height > 0, case.name


@pytest.mark.parametrize("case", list(hc.big_valid_cases()), ids=lambda c: c.name)
def test_the_engine_reads_40mp_images(ocr: OCR, case: hc.Case) -> None:
    result = ocr(case.data)
    assert result.width * result.height >= 39_600_000


# -- over HTTP ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http(hostile_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hostile_server.url, timeout=120.0) as client:
        yield client


def _upload(http: httpx.Client, path: str, data: bytes, **fields: str) -> httpx.Response:
    return http.post(path, files={"image": ("upload", data, "image/png")}, data=fields)


@pytest.mark.parametrize("name", sorted(FULL_SIZE_BOMBS))
def test_http_answers_full_size_bombs_with_422_at_once(http: httpx.Client, name: str) -> None:
    data = FULL_SIZE_BOMBS[name]()
    for path in ("/ocr", "/preprocess"):
        started = time.perf_counter()
        response = _upload(http, path, data)
        elapsed = time.perf_counter() - started
        assert response.status_code == 422, response.text[:300]
        error = response.json()["error"]
        assert error["code"] == "work_limit_exceeded" and "at most" in error["message"]
        assert elapsed < REFUSE_WITHIN_S + 5.0  # + the upload of up to 19 MB


def test_http_answers_every_corpus_work_case(http: httpx.Client) -> None:
    for case in _work_cases("error"):
        response = _upload(http, "/ocr", case.data)
        assert response.status_code == 422, (case.name, response.text[:300])
    for case in _work_cases("ok"):
        response = _upload(http, "/ocr", case.data)
        assert response.status_code == 200, (case.name, response.text[:300])


@pytest.mark.parametrize(
    ("width", "height"), [(40_000_000, 1), (1, 40_000_000), (400_000, 1), (1, 400_000)]
)
def test_http_preprocess_and_classic_answer_extreme_strips(
    http: httpx.Client, width: int, height: int
) -> None:
    data = hc.png_gray(width, height)
    preview = _upload(http, "/preprocess", data)
    assert preview.status_code == 200, preview.text[:300]
    stages = {s["name"]: s for s in preview.json()["stages"]}
    assert stages["resized"]["width"] <= 16384 and stages["resized"]["height"] <= 48
    for det in ("true", "false"):
        answer = _upload(http, "/ocr", data, preprocess="classic", det=det)
        assert answer.status_code in (200, 422), answer.text[:300]  # 422: the line-length cap
        if det == "true":
            assert answer.status_code == 200, answer.text[:300]


def test_afterwards_the_server_still_reads_a_normal_image(
    http: httpx.Client, hostile_server: Any
) -> None:
    response = _upload(http, "/ocr", live.receipt_png())
    assert response.status_code == 200, response.text
    assert response.json()["text"] == list(live.RECEIPT_LINES)
    assert hostile_server.process.poll() is None
