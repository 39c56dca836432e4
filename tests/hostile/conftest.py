"""Fixtures of the hostile-input tests: the corpus, the load-test helpers (scripts/loadtest.py)
and a real server with a private TMPDIR whose memory is sampled from /proc."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parents[1]


def load_by_path(name: str, path: Path) -> ModuleType:
    """Import ``path`` as module ``name`` once (works under any pytest import mode)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


live = load_by_path("cpuocr_tests_live_server", TESTS / "serving" / "live_server.py")
loadtest = load_by_path("cpuocr_loadtest", TESTS.parent / "scripts" / "loadtest.py")


@pytest.fixture(scope="session")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Default configuration (auth off, CORS off, default limits), TMPDIR private and empty."""
    tmp = tmp_path_factory.mktemp("hostile")
    srv = live.LiveServer(tmp / "logs")
    srv.env["TMPDIR"] = str(tmp / "tmpdir")
    (tmp / "tmpdir").mkdir()
    srv.start()
    yield srv
    code = srv.stop()
    assert code == 0, f"server exit code {code}:\n{srv.log()}"
