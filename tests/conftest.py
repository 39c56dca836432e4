"""Shared fixtures: the engine (loaded once per session) and the labeled data folder."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from cpuocr import OCR

from rendering import font_path

TESTS = Path(__file__).resolve().parent


def load_by_path(name: str, path: Path) -> ModuleType:
    """Import ``path`` as module ``name`` once (works under any pytest import mode). The serving,
    web, hostile and load tests share the live-server helpers and the load client this way."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


load_by_path("cpuocr_tests_live_server", TESTS / "serving" / "live_server.py")
load_by_path("cpuocr_loadtest", TESTS.parent / "scripts" / "loadtest.py")


@pytest.fixture(scope="session")
def ocr() -> Iterator[OCR]:
    yield OCR()


@pytest.fixture(scope="session")
def fast_ocr() -> Iterator[OCR]:
    yield OCR(preset="fast")


@pytest.fixture(scope="session")
def openvino_ocr() -> Iterator[OCR]:
    yield OCR(preset="openvino")


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
