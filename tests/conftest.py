"""Shared fixtures (the engine, loaded once per session; the labeled data folder) and the test
tiers.

Every test gets its tier's markers here, by folder and by the fixtures it uses (see
``pytest_collection_modifyitems``): ``unit`` (tests/unit and the modules in UNIT_MODULES: no
model weights, no fonts, no server; ``pytest -m unit`` is the fast tier), ``models`` (loads the
real model weights), ``server`` (starts a real HTTP server or a redis-server), ``load``
(tests/load). Nothing here loads a model or needs a font at import time, and ``-m unit`` does
not import the folders without unit tests, so the unit tier runs on a machine without models or
fonts.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

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
redis_helpers = load_by_path("cpuocr_tests_redis_server", TESTS / "redis_server.py")


# -- Tiers ----------------------------------------------------------------------------------------

#: Fixtures that load the real model weights: a test using one (directly or through another
#: fixture) is marked ``models``.
MODEL_FIXTURES = frozenset({"ocr", "fast_ocr", "openvino_ocr"})
#: Fixtures that start a real HTTP server: a test using one is marked ``server`` and ``models``.
SERVER_FIXTURES = frozenset({"server", "tight_server", "hostile_server", "ui_server"})
#: Fixtures that start a real redis-server (no models): a test using one is marked ``server``.
REDIS_FIXTURES = frozenset({"redis_server"})
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
#: Modules outside tests/unit whose tests are unit tests (but for those the fixtures above mark).
UNIT_MODULES = frozenset(
    {
        "serving/test_error_mapping.py",  # the error table
        "serving/test_parts.py",  # the service's parts on their own: no server, no models
        "serving/test_priority.py",  # thread priorities (its server test is marked by fixture)
    }
)
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
    if fixtures & REDIS_FIXTURES:
        names.append("server")
    if fixtures & MODEL_FIXTURES:
        names.append("models")
    try:
        relative = item.path.relative_to(TESTS)
    except ValueError:
        relative = Path()
    if relative.as_posix() in UNIT_MODULES:
        by_folder: tuple[str, ...] = ("unit",)
    else:
        by_folder = FOLDER_MARKERS.get(relative.parts[0] if relative.parts else "", ())
    for name in by_folder:
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


def _could_select(expression: str, markers: tuple[str, ...]) -> bool:
    """Whether the ``-m`` expression can select a test that has ``markers`` and not ``unit``,
    whatever other markers it has (each other name in the expression tried both ways)."""
    try:
        from _pytest.mark.expression import Expression

        compiled = Expression.compile(expression)
    except Exception:  # another pytest, or a bad expression pytest reports itself
        return True
    names = set(re.findall(r"[^\s()=,]+", expression)) - {"and", "or", "not", *markers, "unit"}
    names = {n for n in names if n.isidentifier()}
    for values in itertools.product((False, True), repeat=len(names)):
        truth = {**dict(zip(sorted(names), values, strict=True)), **dict.fromkeys(markers, True)}
        if compiled.evaluate(lambda name, /, _truth=truth, **_: _truth.get(name, False)):
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With ``-m``, a folder none of whose tests it can select is not even imported: ``pytest
    -m unit`` leaves out tests/integration, hostile, web and load, whose modules render images
    (with the CJK fonts) or load helpers at import."""
    expression = config.getoption("markexpr", "")
    if not expression or collection_path.parent != TESTS:
        return None
    markers = FOLDER_MARKERS.get(collection_path.name)
    if markers is None or "unit" in markers:
        return None
    if any(m.startswith(collection_path.name + "/") for m in UNIT_MODULES):
        return None
    return None if _could_select(expression, markers) else True


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


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real redis-server (tests/redis_server.py) on a free loopback port, empty, without
    persistence; stopped after the test (a test may kill it first)."""
    if not redis_helpers.available():
        pytest.skip(
            f"{redis_helpers.REDIS_SERVER} is missing: apt-get install redis-server "
            "(scripts/setup.sh --dev does)"
        )
    server = redis_helpers.RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    from benchmarks.datasets import find_data_dir

    found = find_data_dir()
    if found is None:
        pytest.skip("../shared/data is absent (labeled dev sets are not shipped with the repo)")
    return found
