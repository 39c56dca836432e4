"""Fixtures of the hostile-input tests: the corpus, the load-test helpers (tests/load/loadclient.py)
and a real server with a private TMPDIR whose memory is sampled from /proc."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

# Loaded once by tests/conftest.py.
live = importlib.import_module("cpuocr_tests_live_server")
loadtest = importlib.import_module("cpuocr_loadtest")


@pytest.fixture(scope="session")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Default configuration (auth off, CORS off, default limits), TMPDIR private and empty."""
    tmp = tmp_path_factory.mktemp("hostile")
    srv = live.start_with_private_tmpdir(tmp)
    yield srv
    code = srv.stop()
    assert code == 0, f"server exit code {code}:\n{srv.log()}"
