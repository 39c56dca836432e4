"""Shared fixtures: the engine (loaded once per session) and the labeled data folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cpuocr import OCR

from rendering import font_path


@pytest.fixture(scope="session")
def ocr() -> Iterator[OCR]:
    yield OCR()


@pytest.fixture(scope="session")
def fast_ocr() -> Iterator[OCR]:
    yield OCR(preset="fast")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    from cpuocr.tools.datasets import find_data_dir

    found = find_data_dir()
    if found is None:
        pytest.skip("../shared/data is absent (labeled dev sets are not shipped with the repo)")
    return found


@pytest.fixture(scope="session", autouse=True)
def _fonts_present() -> None:
    if font_path() is None:
        pytest.fail("CJK fonts missing: the set-up installs fonts-noto-cjk and fonts-wqy-zenhei")
