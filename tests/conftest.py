"""Shared fixtures (the engine, loaded once per session; the labeled data folder) and the test
tiers.

Every test gets its tier's markers here, by folder and by the fixtures it uses (see
``pytest_collection_modifyitems``): ``unit`` (tests/unit: no model weights, no fonts, no server;
``pytest -m unit`` is the fast tier), ``models`` (loads the real model weights), ``server``
(starts a real HTTP server), ``load`` (tests/load). Nothing here loads a model or needs a font at
import time, so the unit tier runs on a machine without either.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cpuocr import OCR

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
load_by_path("cpuocr_loadtest", TESTS / "load" / "loadclient.py")


# -- Tiers ----------------------------------------------------------------------------------------

#: Fixtures that load the real model weights: a test using one (directly or through another
#: fixture) is marked ``models``.
MODEL_FIXTURES = frozenset({"ocr", "fast_ocr", "openvino_ocr"})
#: Fixtures that start a real HTTP server: a test using one is marked ``server`` and ``models``.
SERVER_FIXTURES = frozenset({"server", "tight_server", "hostile_server", "ui_server"})
#: Names in a test's own code that start a server (``live.LiveServer(...)``).
SERVER_CALLS = frozenset({"LiveServer", "start_with_private_tmpdir"})
#: Markers of each folder under tests/. Integration and hostile tests read with the real engine,
#: the command line (which loads the models) or a server; serving and web tests start servers.
FOLDER_MARKERS: dict[str, tuple[str, ...]] = {
    "unit": ("unit",),
    "integration": ("models",),
    "hostile": ("models",),
    "serving": ("server", "models"),
    "web": ("server", "models"),
    "load": ("load", "server", "models"),
}
#: A test with one of these is not a unit test, wherever it lives (a test in tests/unit that
#: needs the model files is marked ``models`` and leaves the fast tier).
NOT_UNIT = ("models", "server", "load", "slow")


def _tier_markers(item: pytest.Item) -> list[str]:
    names: list[str] = []
    fixtures = set(getattr(item, "fixturenames", ()))
    function = getattr(item, "function", None)
    code_names = set(getattr(getattr(function, "__code__", None), "co_names", ()))
    if fixtures & SERVER_FIXTURES or code_names & SERVER_CALLS:
        names += ["server", "models"]
    if fixtures & MODEL_FIXTURES:
        names.append("models")
    try:
        folder = item.path.relative_to(TESTS).parts[0]
    except ValueError:
        folder = ""
    for name in FOLDER_MARKERS.get(folder, ()):
        if name == "unit" and any(
            n in names or item.get_closest_marker(n) is not None for n in NOT_UNIT
        ):
            continue
        names.append(name)
    return names


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tiers, before ``-m`` selects (hence ``tryfirst``)."""
    for item in items:
        for name in dict.fromkeys(_tier_markers(item)):
            if item.get_closest_marker(name) is None:
                item.add_marker(name)


@cache
def _fonts_missing() -> bool:
    from rendering import font_path

    return font_path() is None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every test outside the unit tier needs the CJK fonts (rendered test images, the live
    server's receipt): fail, not skip, when they are missing, so a run cannot pass by skipping."""
    if item.get_closest_marker("unit") is None and _fonts_missing():
        pytest.fail("CJK fonts missing: the set-up installs fonts-noto-cjk and fonts-wqy-zenhei")


# -- Fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ocr() -> Iterator[OCR]:
    from cpuocr import OCR

    yield OCR()


@pytest.fixture(scope="session")
def fast_ocr() -> Iterator[OCR]:
    from cpuocr import OCR

    yield OCR(preset="fast")


@pytest.fixture(scope="session")
def openvino_ocr() -> Iterator[OCR]:
    from cpuocr import OCR

    yield OCR(preset="openvino")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    from benchmarks.datasets import find_data_dir

    found = find_data_dir()
    if found is None:
        pytest.skip("../shared/data is absent (labeled dev sets are not shipped with the repo)")
    return found
